// The subject cap in a fanned-out room (docs/hot-rooms.md): subscriptions held on
// leaves count as a room of one object counts its sockets' (maxSubjects is 4 here),
// once per subject however many sockets and leaves subscribe, and they are let go
// when the last subscriber leaves, by unsub or by closing.
import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Room } from '../../worker/room.ts';
import { connect, idOf, push, roomStub, type TestSocket } from '../worker/helpers.ts';
import { waitFor } from '../e2e/wait.ts';
import { clientOn, leafStats, leafStub, nameOnLeaf, newFanoutRoom, pushesOf } from '../worker-fanout/helpers.ts';
import { countsOf, MESSAGE_SUBJECTS } from './helpers.ts';

const tooMany = (key: string, id?: string) => ({
  type: 'error',
  code: 'too_many_subjects',
  message: MESSAGE_SUBJECTS,
  key,
  ...(id ? { id } : {}),
});

/** The answer to a push with id `id`: its ack or its error. */
const answerTo = (s: TestSocket, id: string) => s.until((m) => (m.type === 'ack' || m.type === 'error') && m.id === id);

describe('subject cap in a fanned-out room', () => {
  it('counts subjects subscribed to on leaves, refuses a new one past the cap, and frees it when the last subscriber leaves', async () => {
    const room = await newFanoutRoom(3);
    const w = await clientOn(room, 3, 0);
    w.s.send(push('s1', 1, 'append', 'w1'));
    w.s.send(push('s2', 2, 'append', 'w2'));
    expect((await answerTo(w.s, 'w2')).type).toBe('ack');
    // 'watched' on two leaves and twice on one of them: one subject. 'only-here' on leaf 2: a fourth.
    const a = await clientOn(room, 3, 1);
    const a2 = await clientOn(room, 3, 1);
    const b = await clientOn(room, 3, 2);
    for (const s of [a.s, a2.s, b.s]) s.send({ type: 'sub', key: 'watched', replay: false });
    b.s.send({ type: 'sub', key: 'only-here', replay: false });
    for (const s of [a.s, a2.s, b.s]) expect(await s.drain()).toEqual([]);
    expect(await countsOf(room)).toMatchObject({ subjects: 4 });

    // Past the cap, a sub on any leaf and a push of a new subject get the room's refusal.
    const c = await clientOn(room, 3, 0);
    c.s.send({ type: 'sub', key: 's6' });
    expect(await c.s.drain()).toEqual([tooMany('s6')]);
    w.s.send(push('s5', 'x', 'append', 'p1'));
    expect(await answerTo(w.s, 'p1')).toEqual(tooMany('s5', 'p1'));
    // A subject the room holds is still served to a new subscriber, on a leaf that did not hold it.
    c.s.send({ type: 'sub', key: 'watched' });
    expect(await c.s.drain()).toEqual([{ type: 'init', key: 'watched', data: [] }]);

    // Leaf 1 lets 'watched' go (unsub, then a close), leaf 0 too (unsub): leaf 2 still holds it.
    a.s.send({ type: 'unsub', key: 'watched' });
    await a.s.drain();
    a2.s.close();
    c.s.send({ type: 'unsub', key: 'watched' });
    await c.s.drain();
    b.s.send({ type: 'unsub', key: 'only-here' });
    await b.s.drain();
    // 'only-here' is freed once its one leaf has told the root; 'watched' is not.
    await waitFor(async () => (await countsOf(room)).subjects === 3, 3000, "leaf 2's release of only-here");
    w.s.send(push('s5', 'x', 'append', 'p2'));
    expect((await answerTo(w.s, 'p2')).type).toBe('ack');
    w.s.send(push('s7', 'x', 'append', 'p3'));
    expect(await answerTo(w.s, 'p3')).toEqual(tooMany('s7', 'p3'));
    // The last subscriber of 'watched' closes: the subject goes, and a new one fits.
    b.s.close();
    await waitFor(async () => (await countsOf(room)).subjects === 3, 3000, "leaf 2's release of watched");
    w.s.send(push('s7', 'x', 'append', 'p4'));
    expect((await answerTo(w.s, 'p4')).type).toBe('ack');
    expect(await countsOf(room)).toMatchObject({ subjects: 4, rows: 4 });
  });

  it('keeps the order of a sub that waits for the room: the values up to when it is admitted, then the newer ones, once', async () => {
    const room = await newFanoutRoom(2);
    const w = await clientOn(room, 2, 0);
    w.s.send(push('log', 1, 'append', 'l1'));
    expect((await answerTo(w.s, 'l1')).type).toBe('ack');
    const s = await clientOn(room, 2, 1);
    // A DriftDB socket on leaf 1: it gets every push, and subscribes to nothing.
    const watcher = await connect(room, `?client=${idOf(nameOnLeaf(2, 1))}`);
    // The root holds its answer to leaf 1's hold of 'log' until the leaf has delivered newer values.
    let open = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    const restore = await runInDurableObject(roomStub(room), (target: Room) => {
      const proto = Object.getPrototypeOf(target) as Room;
      const { holdSubject } = proto;
      proto.holdSubject = async function (this: Room, name: string, key: string) {
        if (this === target) await gate;
        return holdSubject.call(this, name, key);
      };
      return () => Object.assign(proto, { holdSubject });
    });
    s.s.send({ type: 'sub', key: 'log' });
    // Four values in all: this project keeps five per subject (maxStreamEntries).
    for (let i = 2; i <= 4; i++) w.s.send(push('log', i));
    expect((await pushesOf(watcher, 'log', 3)).map((p) => p.value)).toEqual([2, 3, 4]);
    open();
    await runInDurableObject(roomStub(room), () => restore());
    // The first thing the socket gets after its welcome: nothing of 'log' came before it.
    const init = await s.s.next();
    expect(init).toMatchObject({ type: 'init', key: 'log' });
    expect(init.data.map((e: { value: number }) => e.value)).toEqual([1, 2, 3, 4]);
    w.s.send(push('log', 5));
    expect((await pushesOf(s.s, 'log', 1)).map((p) => p.value)).toEqual([5]);
    expect((await s.s.drain()).filter((m) => m.type === 'push' || m.type === 'init')).toEqual([]);
  });

  it("makes good a release that was lost, at the leaf's next link", async () => {
    const room = await newFanoutRoom(2);
    const w = await clientOn(room, 2, 0);
    const s = await clientOn(room, 2, 1);
    s.s.send({ type: 'sub', key: 'gone-soon', replay: false });
    await s.s.drain();
    expect(await countsOf(room)).toMatchObject({ subjects: 1 });
    // The root fails leaf 1's release once (the test shares the objects' isolate, so it sees the count)...
    let failed = 0;
    const restore = await runInDurableObject(roomStub(room), (target: Room) => {
      const proto = Object.getPrototypeOf(target) as Room;
      const { releaseSubject } = proto;
      proto.releaseSubject = async function (this: Room, name: string, key: string) {
        if (this === target) {
          failed++;
          throw new Error('injected: release lost');
        }
        return releaseSubject.call(this, name, key);
      };
      return () => Object.assign(proto, { releaseSubject });
    });
    s.s.send({ type: 'unsub', key: 'gone-soon' });
    await s.s.drain();
    await waitFor(() => failed === 1, 3000, 'the failed release');
    await runInDurableObject(roomStub(room), () => restore());
    expect(await countsOf(room)).toMatchObject({ subjects: 1 });
    // ...and leaf 1 wakes from hibernation for the next batch: it relinks, naming what it holds (nothing).
    await evictDurableObject(leafStub(room, 1), { webSockets: 'hibernate' });
    w.s.send(push('other', 1, 'append', 'o1'));
    expect((await answerTo(w.s, 'o1')).type).toBe('ack');
    expect(await countsOf(room)).toMatchObject({ subjects: 2 });
    // Pruned at the relink: 'other', with its value, is the one subject left.
    await waitFor(async () => (await countsOf(room)).subjects === 1, 3000, 'the prune at the relink');
    expect(await countsOf(room)).toMatchObject({ subjects: 1, rows: 1 });
    expect((await leafStats(room, 1)).repairs).toBe(1);
  });
});
