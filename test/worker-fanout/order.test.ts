import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { RoomLeaf } from '../../worker/leaf.ts';
import type { ForwardedPush, Room } from '../../worker/room.ts';
import { http, push, roomStub, type Msg, type TestSocket } from '../worker/helpers.ts';
import { clientOn, leafStats, leafStub, newFanoutRoom, pushesOf } from './helpers.ts';

/** Subscribes every socket to `key` from the start, and waits for each one's (empty) replay. */
async function subscribeAll(sockets: TestSocket[], key: string): Promise<void> {
  for (const s of sockets) s.send({ type: 'sub', key });
  for (const s of sockets) expect(await s.until((m) => m.type === 'init' && m.key === key)).toMatchObject({ data: [] });
}

const seqsOf = (pushes: Msg[]) => pushes.map((p) => p.seq as number);
const valuesOf = (pushes: Msg[]) => pushes.map((p) => p.value);

describe('a fanned-out room', () => {
  it.each([2, 3, 4])(
    'with %i leaves: subscribers on every leaf see the same values in the same order, each once',
    async (k) => {
      const room = await newFanoutRoom(k);
      const subs = await Promise.all(Array.from({ length: k }, (_, leaf) => clientOn(room, k, leaf)));
      const sockets = subs.map((c) => c.s);
      await subscribeAll(sockets, 'feed');
      // Every leaf publishes at once, interleaved: appends and relays, 30 per leaf.
      for (let i = 0; i < 30; i++) {
        subs.forEach(({ s }, leaf) => s.send(push('feed', `L${leaf}-${i}`, i % 3 === 0 ? 'relay' : 'append')));
      }
      const seen = await Promise.all(sockets.map((s) => pushesOf(s, 'feed', 30 * k)));
      const first = seen[0]!;
      for (const other of seen) expect(valuesOf(other)).toEqual(valuesOf(first));
      // One global order: seqs strictly increase, so nothing came twice.
      const seqs = seqsOf(first);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
      // Each publisher's values keep its own order.
      for (let leaf = 0; leaf < k; leaf++) {
        expect(valuesOf(first).filter((v: string) => v.startsWith(`L${leaf}-`))).toEqual(
          Array.from({ length: 30 }, (_, i) => `L${leaf}-${i}`),
        );
      }
      // And nothing more arrives.
      for (const s of sockets) expect((await s.drain()).filter((m) => m.type === 'push')).toEqual([]);
    },
  );

  it("acks a publish after the sender's own echo, and dedups a resent id through the root", async () => {
    const room = await newFanoutRoom(2);
    const a = await clientOn(room, 2, 0);
    const b = await clientOn(room, 2, 1);
    await subscribeAll([a.s, b.s], 'log');
    a.s.send(push('log', 'one', 'append', 'm1'));
    const echo = await a.s.next();
    expect(echo).toMatchObject({ type: 'push', key: 'log', value: 'one', client: a.welcome.client });
    expect(await a.s.next()).toEqual({ type: 'ack', id: 'm1', seq: echo.seq });
    a.s.send(push('log', 'one', 'append', 'm1'));
    expect(await a.s.next()).toEqual({ type: 'ack', id: 'm1', seq: echo.seq, duplicate: true });
    expect(valuesOf(await pushesOf(b.s, 'log', 1))).toEqual(['one']);
    expect((await b.s.drain()).filter((m) => m.type === 'push')).toEqual([]);
  });

  it('delivers an HTTP send to the subscribers on every leaf', async () => {
    const room = await newFanoutRoom(3);
    const subs = await Promise.all([0, 1, 2].map((leaf) => clientOn(room, 3, leaf)));
    await subscribeAll(
      subs.map((c) => c.s),
      'news',
    );
    const res = await http(`/room/${room}/send`, {
      method: 'POST',
      body: JSON.stringify(push('news', { headline: 'hi' }, 'replace')),
    });
    expect(res.status).toBe(200);
    for (const { s } of subs) {
      expect(await s.until((m) => m.type === 'push')).toMatchObject({ key: 'news', value: { headline: 'hi' } });
    }
  });

  it('a turn of pushes over the batch limit (1 MiB) reaches the other leaves whole, in order', async () => {
    const room = await newFanoutRoom(2);
    const pub = await clientOn(room, 2, 0);
    const sub = await clientOn(room, 2, 1);
    await subscribeAll([sub.s], 'big');
    const values = Array.from({ length: 8 }, (_, i) => `${i}:${'x'.repeat(200_000)}`);
    for (const v of values) pub.s.send(push('big', v));
    const got = await pushesOf(sub.s, 'big', values.length);
    expect(got.map((p) => (p.value as string).slice(0, 2))).toEqual(values.map((v) => v.slice(0, 2)));
    expect(got.every((p, i) => p.value === values[i])).toBe(true);
    expect((await sub.s.drain()).filter((m) => m.type === 'push')).toEqual([]);
    // The frames arrive back to back, faster than a forward returns, so most go up in one call and
    // the root delivers them in one turn of more than 1 MiB: split, so more batches than turns.
    const stats = await roomStub(room).stats();
    expect(stats.batches).toBeGreaterThan(stats.turns);
  });

  it('a link that throws once leaves no gap and no duplicate: the leaf fetches what it missed first', async () => {
    const room = await newFanoutRoom(2);
    const pub = await clientOn(room, 2, 0);
    const sub = await clientOn(room, 2, 1);
    await subscribeAll([sub.s], 'ticks');
    // The next batch to leaf 1 fails in the leaf, as a broken link would. RPC calls only
    // what the class defines, so the class's method is swapped, for this one call.
    let throws = 0;
    await runInDurableObject(leafStub(room, 1), (target: RoomLeaf) => {
      const proto = Object.getPrototypeOf(target) as RoomLeaf;
      const deliver = proto.deliver;
      proto.deliver = async function (this: RoomLeaf, bytes: Uint8Array) {
        if (this !== target) return deliver.call(this, bytes);
        proto.deliver = deliver;
        throws++;
        throw new Error('injected link failure');
      };
    });
    for (let i = 0; i < 20; i++) pub.s.send(push('ticks', i));
    const got = await pushesOf(sub.s, 'ticks', 20);
    expect(valuesOf(got)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect((await sub.s.drain()).filter((m) => m.type === 'push')).toEqual([]);
    expect(throws).toBe(1);
    expect((await leafStats(room, 1)).repairs).toBe(1);
  });

  it('a publish call that throws once costs its sender an internal error; the resend with the same id applies once', async () => {
    const room = await newFanoutRoom(2);
    const pub = await clientOn(room, 2, 0);
    const sub = await clientOn(room, 2, 1);
    await subscribeAll([sub.s], 'log');
    let throws = 0;
    await runInDurableObject(roomStub(room), (target: Room) => {
      const proto = Object.getPrototypeOf(target) as Room;
      const { publish } = proto;
      proto.publish = async function (this: Room, pushes: ForwardedPush[]) {
        if (this !== target) return publish.call(this, pushes);
        proto.publish = publish;
        throws++;
        throw new Error('injected publish failure');
      };
    });
    pub.s.send(push('log', 'once', 'append', 'm1'));
    expect(await pub.s.next()).toEqual({
      type: 'error',
      code: 'internal',
      id: 'm1',
      key: 'log',
      message: 'The room did not answer: send again (with the same id)',
    });
    pub.s.send(push('log', 'once', 'append', 'm1'));
    const ack = await pub.s.until((m) => m.type === 'ack');
    expect(ack).toMatchObject({ id: 'm1' });
    expect(ack.duplicate).toBeUndefined();
    expect((await pushesOf(sub.s, 'log', 1)).map((p) => [p.value, p.seq])).toEqual([['once', ack.seq]]);
    expect((await sub.s.drain()).filter((m) => m.type === 'push')).toEqual([]);
    expect(throws).toBe(1);
  });

  it('a leaf evicted mid-stream (its sockets hibernated) resumes its chain with no gap and no duplicate', async () => {
    const room = await newFanoutRoom(2);
    const pub = await clientOn(room, 2, 0);
    const sub = await clientOn(room, 2, 1);
    await subscribeAll([sub.s], 'ticks');
    for (let i = 0; i < 10; i++) pub.s.send(push('ticks', i));
    await evictDurableObject(leafStub(room, 1));
    for (let i = 10; i < 20; i++) pub.s.send(push('ticks', i));
    const got = await pushesOf(sub.s, 'ticks', 20);
    expect(valuesOf(got)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect((await sub.s.drain()).filter((m) => m.type === 'push')).toEqual([]);
  });

  it("the room's own object restarting between writes costs the leaves' sockets nothing", async () => {
    const room = await newFanoutRoom(2);
    const pub = await clientOn(room, 2, 0);
    const sub = await clientOn(room, 2, 1);
    await subscribeAll([sub.s], 'ticks');
    pub.s.send(push('ticks', 'before', 'append', 'b'));
    await pub.s.until((m) => m.type === 'ack');
    expect(valuesOf(await pushesOf(sub.s, 'ticks', 1))).toEqual(['before']);
    await evictDurableObject(roomStub(room));
    pub.s.send(push('ticks', 'after', 'append', 'a'));
    expect(valuesOf(await pushesOf(sub.s, 'ticks', 1))).toEqual(['after']);
    expect((await leafStats(room, 1)).resets).toBe(0);
  });
});
