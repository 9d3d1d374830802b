// Presence in a room of LARGE_AUDIENCE or more, where announcements wait for a
// window (presenceBatchMs, 2 s in this project) and go out together. Each test
// acts well within one window, then checks what every socket made of it.
import { describe, expect, it } from 'vitest';
import { LARGE_AUDIENCE } from '../../worker/batching.ts';
import { connectClient, freshRoom, type Msg } from '../worker/helpers.ts';
import { othersOf, View } from './view.ts';

/** A window, and then some: how long a test waits for a flush. */
const FLUSH_MS = 5000;

/** A room of LARGE_AUDIENCE sockets that said hello, each with the whole room in view. */
async function largeRoom(): Promise<{ room: string; views: View[]; everyone: Map<string, unknown> }> {
  const room = freshRoom();
  const views = (
    await Promise.all(Array.from({ length: LARGE_AUDIENCE }, (_, i) => connectClient(room, `m${i}`, { i })))
  ).map(({ s, welcome }) => new View(s, welcome));
  const everyone = new Map<string, unknown>(views.map((v, i) => [v.conn, { i }]));
  for (const v of views) await v.settle(othersOf(v, everyone), FLUSH_MS);
  for (const v of views) v.events.length = 0;
  return { room, views, everyone };
}

const summary = (events: Msg[]) =>
  events.map((m) => `${m.event} ${m.peer.conn} ${JSON.stringify(m.peer.state)}`).sort();

// Each test waits for two windows or more: the room's first joins, then what it does.
describe('presence batched in a large room', { timeout: 20_000 }, () => {
  it('never announces a peer that joins and leaves within one window, and sends one event per peer, with its latest state', async () => {
    const { room, views, everyone } = await largeRoom();
    const { s: ghost, welcome: gw } = await connectClient(room, 'ghost');
    ghost.close();
    await ghost.closed;
    const typist = views[0]!;
    for (let n = 1; n <= 3; n++) typist.s.send({ type: 'presence', state: { typing: n } });
    await typist.s.drain(); // all three handled, inside the window the ghost opened
    const { s: late, welcome: lw } = await connectClient(room, 'late', 'here');
    late.send({ type: 'presence', state: 'busy' });
    await late.drain();
    const lateView = new View(late, lw);

    everyone.set(typist.conn, { typing: 3 });
    everyone.set(lw.conn, 'busy');
    for (const v of [...views, lateView]) await v.settle(othersOf(v, everyone), FLUSH_MS);
    for (const v of views.slice(1)) {
      expect(summary(v.events)).toEqual([`join ${lw.conn} "busy"`, `update ${typist.conn} {"typing":3}`]);
      expect(v.faults).toEqual([]);
    }
    expect(summary(typist.events)).toEqual([`join ${lw.conn} "busy"`]);
    expect(summary(lateView.events)).toEqual([`update ${typist.conn} {"typing":3}`]);
    expect(lateView.faults).toEqual([]);
    expect(views.every((v) => !v.s.received.some((m) => m.peer?.conn === gw.conn))).toBe(true);
  });

  it('welcomes a socket between flushes with the room as announced, then sends it the rest, never its own join', async () => {
    const { room, views, everyone } = await largeRoom();
    const { s: first, welcome: fw } = await connectClient(room, 'first', 'F');
    const leaver = views[0]!;
    leaver.s.close();
    await leaver.s.closed;
    const { s: second, welcome: sw } = await connectClient(room, 'second', 'S');
    // Both joined, and the leave came, within one window: nobody has been told yet.
    expect(sw.peers.map((p: Msg) => p.conn).sort()).toEqual([...everyone.keys()].sort());
    const [firstView, secondView] = [new View(first, fw), new View(second, sw)];

    everyone.delete(leaver.conn);
    everyone.set(fw.conn, 'F');
    everyone.set(sw.conn, 'S');
    const all = [...views.slice(1), firstView, secondView];
    for (const v of all) await v.settle(othersOf(v, everyone), FLUSH_MS);
    expect(summary(secondView.events)).toEqual(
      summary([
        { event: 'join', peer: { conn: fw.conn, state: 'F' } },
        { event: 'leave', peer: { conn: leaver.conn, state: { i: 0 } } },
      ]),
    );
    for (const v of all) {
      expect(await v.drain()).toEqual([]);
      expect(v.faults).toEqual([]);
    }
  });
});
