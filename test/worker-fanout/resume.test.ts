import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { RoomLeaf } from '../../worker/leaf.ts';
import type { ReplayQuery, Room } from '../../worker/room.ts';
import { connect, idOf, push, roomStub, secretOf, type Msg, type TestSocket } from '../worker/helpers.ts';
import { clientOn, leafStats, leafStub, nameOnLeaf, newFanoutRoom, pushesOf } from './helpers.ts';

/** Publishes `values` to `key` from `s`, each acked (so stored at the root and delivered on its leaf). */
async function appendAll(s: TestSocket, key: string, values: unknown[], action = 'append'): Promise<number[]> {
  const seqs: number[] = [];
  for (const [i, v] of values.entries()) {
    s.send(push(key, v, action, `${key}-${String(v)}-${i}`));
    seqs.push((await s.until((m) => m.type === 'ack')).seq);
  }
  return seqs;
}

/** A socket of client `name` (on its leaf), said hello: the same client again after a reconnect. */
async function again(room: string, name: string): Promise<TestSocket> {
  const s = await connect(room, `?client=${idOf(name)}`);
  s.send({ type: 'hello', protocol: 1, secret: secretOf(name) });
  expect((await s.next()).type).toBe('welcome');
  return s;
}

const dataOf = (init: Msg) => init.data.map((e: Msg) => e.value);

describe('resume and reset through a leaf', () => {
  it("a resume gets exactly what it missed, from the leaf's tail cache", async () => {
    const room = await newFanoutRoom(2);
    const pub = await clientOn(room, 2, 0);
    const sub = await clientOn(room, 2, 1);
    sub.s.send({ type: 'sub', key: 'chat' });
    await sub.s.until((m) => m.type === 'init');
    await appendAll(pub.s, 'chat', ['a', 'b']);
    const seen = await pushesOf(sub.s, 'chat', 2);
    sub.s.close();
    await appendAll(pub.s, 'chat', ['c', 'd']);
    const back = await again(room, sub.name);
    back.send({ type: 'sub', key: 'chat', seq: seen[1].seq });
    const init = await back.until((m) => m.type === 'init');
    expect(dataOf(init)).toEqual(['c', 'd']);
    expect(init.reset).toBeUndefined();
    await appendAll(pub.s, 'chat', ['e']);
    expect((await pushesOf(back, 'chat', 1)).map((p) => p.value)).toEqual(['e']);
    expect((await back.drain()).filter((m) => m.type === 'push' || m.type === 'init')).toEqual([]);
    const stats = await leafStats(room, 1);
    expect(stats.cacheHits).toBe(1);
  });

  it('a resume on leaves that linked after the values were stored gets them from the root, then from the cache', async () => {
    const room = await newFanoutRoom(3);
    const pub = await clientOn(room, 3, 0);
    const seqs = await appendAll(pub.s, 'c', ['a', 'b', 'c', 'd']);
    for (const leaf of [1, 2, 1, 2, 0]) {
      const name = nameOnLeaf(3, leaf);
      const s = await connect(room, `?client=${idOf(name)}`);
      // As our client does: hello and sub right behind the upgrade, before the welcome.
      s.send({ type: 'hello', protocol: 1, secret: secretOf(name) });
      s.send({ type: 'sub', key: 'c', seq: seqs[1] });
      expect(await s.next()).toMatchObject({ type: 'welcome', seq: seqs[3] });
      expect(dataOf(await s.next())).toEqual(['c', 'd']);
      s.close();
    }
    // Leaves 1 and 2 linked after 'c' and 'd': only the root can replay those. Leaf 0 saw them.
    let stats = await Promise.all([0, 1, 2].map((leaf) => leafStats(room, leaf)));
    expect(stats.map((st) => [st.rootReplays, st.cacheHits])).toEqual([
      [0, 1],
      [2, 0],
      [2, 0],
    ]);
    // From after its link on, leaf 1's cache answers.
    const [e, f] = (await appendAll(pub.s, 'c', ['e', 'f'])) as [number, number];
    const name = nameOnLeaf(3, 1);
    const s = await connect(room, `?client=${idOf(name)}`);
    s.send({ type: 'hello', protocol: 1, secret: secretOf(name) });
    s.send({ type: 'sub', key: 'c', seq: e });
    expect(await s.next()).toMatchObject({ type: 'welcome', seq: f });
    expect(dataOf(await s.next())).toEqual(['f']);
    stats = await Promise.all([0, 1, 2].map((leaf) => leafStats(room, leaf)));
    expect(stats[1]).toMatchObject({ rootReplays: 2, cacheHits: 1 });
  });

  it('a resume from before a compaction gets the reset the root sends, through the leaf', async () => {
    const room = await newFanoutRoom(2);
    const pub = await clientOn(room, 2, 0);
    const sub = await clientOn(room, 2, 1);
    sub.s.send({ type: 'sub', key: 'doc' });
    await sub.s.until((m) => m.type === 'init');
    const seqs = await appendAll(pub.s, 'doc', [1, 2, 3]);
    await pushesOf(sub.s, 'doc', 3);
    pub.s.send(push('doc', 'snapshot', { type: 'compact', seq: seqs[2]! }, 'compact-1'));
    await pub.s.until((m) => m.type === 'ack');
    const late = await clientOn(room, 2, 1);
    late.s.send({ type: 'sub', key: 'doc', seq: seqs[0] });
    const init = await late.s.until((m) => m.type === 'init');
    expect(init).toMatchObject({ reset: true });
    expect(dataOf(init)).toEqual(['snapshot']);
    expect((await leafStats(room, 1)).cacheHits).toBe(0);
  });

  it('a first subscription replays from the root, and what the leaf delivers meanwhile follows it, once', async () => {
    const room = await newFanoutRoom(3);
    const pub = await clientOn(room, 3, 0);
    await appendAll(pub.s, 'log', [1, 2, 3]);
    const watcher = await clientOn(room, 3, 2);
    watcher.s.send({ type: 'sub', key: 'log' });
    await watcher.s.until((m) => m.type === 'init');
    // The root holds its answer to the next replay until the leaf has delivered newer values.
    let open = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    const restore = await runInDurableObject(roomStub(room), (target: Room) => {
      const proto = Object.getPrototypeOf(target) as Room;
      const { replayFor } = proto;
      proto.replayFor = async function (this: Room, q: ReplayQuery) {
        if (this === target) await gate;
        return replayFor.call(this, q);
      };
      return () => Object.assign(proto, { replayFor });
    });
    const sub = await clientOn(room, 3, 2);
    sub.s.send({ type: 'sub', key: 'log' });
    for (let i = 4; i <= 10; i++) pub.s.send(push('log', i));
    expect((await pushesOf(watcher.s, 'log', 7)).map((p) => p.value)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    open();
    await runInDurableObject(roomStub(room), () => restore());
    const init = await sub.s.next();
    expect(init).toMatchObject({ type: 'init', key: 'log' });
    expect(dataOf(init)).toEqual([1, 2, 3]);
    expect((await pushesOf(sub.s, 'log', 7)).map((p) => p.value)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect((await sub.s.drain()).filter((m) => m.type === 'push')).toEqual([]);
  });

  it('a leaf that lost the order (the root restarted after values it never got) closes its sockets with 4005', async () => {
    const room = await newFanoutRoom(2);
    const pub = await clientOn(room, 2, 0);
    const sub = await clientOn(room, 2, 1);
    sub.s.send({ type: 'sub', key: 'log' });
    await sub.s.until((m) => m.type === 'init');
    await appendAll(pub.s, 'log', ['kept']);
    await pushesOf(sub.s, 'log', 1);
    // Leaf 1 stops taking batches (a broken link the root's nudge cannot mend either)...
    const restore = await runInDurableObject(leafStub(room, 1), (target: RoomLeaf) => {
      const proto = Object.getPrototypeOf(target) as RoomLeaf;
      const { deliver, catchUp } = proto;
      proto.deliver = async function (this: RoomLeaf, bytes: Uint8Array) {
        if (this === target) throw new Error('injected: link down');
        return deliver.call(this, bytes);
      };
      proto.catchUp = async function (this: RoomLeaf, epoch: number, n: number) {
        if (this === target) throw new Error('injected: link down');
        return catchUp.call(this, epoch, n);
      };
      return () => Object.assign(proto, { deliver, catchUp });
    });
    // ...while a value is stored, and then the root restarts: the batch that held it is gone with the root's ring.
    await appendAll(pub.s, 'log', ['missed']);
    await evictDurableObject(roomStub(room));
    await runInDurableObject(leafStub(room, 1), () => restore());
    pub.s.send(push('log', 'next'));
    expect((await sub.s.closed).code).toBe(4005);
    const back = await again(room, sub.name);
    back.send({ type: 'sub', key: 'log', seq: 0 });
    expect(dataOf(await back.until((m) => m.type === 'init'))).toEqual(['kept', 'missed', 'next']);
    expect((await leafStats(room, 1)).resets).toBe(1);
  });

  it('a newer socket of the same client replaces the older one on its leaf (4001)', async () => {
    const room = await newFanoutRoom(4);
    const name = nameOnLeaf(4, 3);
    const first = await again(room, name);
    const second = await again(room, name);
    expect((await first.closed).code).toBe(4001);
    second.send({ type: 'ping', nonce: 1 });
    expect(await second.next()).toEqual({ type: 'pong', nonce: 1 });
  });
});
