// Presence windows in a large fanned-out room (docs/hot-rooms.md, Presence): the root
// coalesces the room's events by the rule of a room of one object (presenceBatchMs,
// 2 s in this project), and every leaf announces what a window makes of them.
import { describe, expect, it } from 'vitest';
import { LARGE_AUDIENCE } from '../../worker/batching.ts';
import { connect, idOf, secretOf, type Msg } from '../worker/helpers.ts';
import { nameOnLeaf, newFanoutRoom } from '../worker-fanout/helpers.ts';
import { othersOf, View } from './view.ts';

/** A window, and then some: how long a test waits for a flush. */
const FLUSH_MS = 5000;

async function memberOn(room: string, k: number, leaf: number, state: unknown): Promise<View> {
  const name = nameOnLeaf(k, leaf);
  const s = await connect(room, `?client=${idOf(name)}`);
  s.send({ type: 'hello', protocol: 1, secret: secretOf(name), presence: state });
  return new View(s, await s.until((m) => m.type === 'welcome'));
}

const summary = (events: Msg[]) =>
  events.map((m) => `${m.event} ${m.peer.conn} ${JSON.stringify(m.peer.state)}`).sort();

describe('presence windows in a large fanned-out room', { timeout: 30_000 }, () => {
  it('a peer that joins and leaves within one window is never announced on any leaf; updates coalesce', async () => {
    const k = 2;
    const room = await newFanoutRoom(k);
    const views = await Promise.all(Array.from({ length: LARGE_AUDIENCE }, (_, i) => memberOn(room, k, i % k, { i })));
    const everyone = new Map<string, unknown>(views.map((v, i) => [v.conn, { i }]));
    for (const v of views) await v.settle(othersOf(v, everyone), FLUSH_MS);
    for (const v of views) v.events.length = 0;

    // Each change reaches the root in a call of its own (a leaf reports once per turn;
    // a round trip to the socket takes more than one), so only the root's window joins them.
    const ghost = await memberOn(room, k, 1, 'ghost');
    await ghost.s.drain();
    ghost.s.close();
    await ghost.s.closed;
    const typist = views[0]!;
    for (let n = 1; n <= 3; n++) {
      typist.s.send({ type: 'presence', state: { typing: n } });
      await typist.s.drain();
    }
    everyone.set(typist.conn, { typing: 3 });
    for (const v of views) await v.settle(othersOf(v, everyone), FLUSH_MS);
    for (const v of views.slice(1)) {
      expect(summary(v.events)).toEqual([`update ${typist.conn} {"typing":3}`]);
      expect(await v.drain()).toEqual([]);
      expect(v.faults).toEqual([]);
    }
    expect(typist.events).toEqual([]);
    expect(views.every((v) => !v.s.received.some((m) => m.peer?.conn === ghost.conn))).toBe(true);
  });
});
