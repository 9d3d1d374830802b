// A hello with `roster: false`: the socket is a presence member that others see
// join, update and leave, but it is shown nobody: `peers: []` in its welcome, and
// no presence frame after it, in a small room (events at once) and in a large one
// (events batched, presenceBatchMs = 2 s in this project).
import { evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { LARGE_AUDIENCE } from '../../worker/batching.ts';
import {
  connect,
  connectClient,
  freshRoom,
  idOf,
  push,
  roomStub,
  secretOf,
  type Msg,
  type TestSocket,
} from '../worker/helpers.ts';
import { othersOf, View } from './view.ts';

/** A window, and then some: how long a test waits for a flush. */
const FLUSH_MS = 5000;

/** A socket that says hello declining the roster; returns it with its welcome. */
async function connectQuiet(
  room: string,
  name: string,
  presence?: unknown,
  query = '',
): Promise<{ s: TestSocket; welcome: Msg }> {
  const s = await connect(room, query);
  s.send({
    type: 'hello',
    protocol: 1,
    secret: secretOf(name),
    roster: false,
    ...(presence === undefined ? {} : { presence }),
  });
  const welcome = await s.next();
  if (welcome.type !== 'welcome') throw new Error(`Expected welcome, got ${JSON.stringify(welcome)}`);
  return { s, welcome };
}

const presenceFrames = (s: TestSocket): Msg[] => s.received.filter((m) => m.type === 'presence');

describe('a hello with roster: false', () => {
  it('is welcomed with no peers and sent no presence, while others see its join, state and leave', async () => {
    const room = freshRoom();
    const drift = await connect(room);
    const { s: alice } = await connectClient(room, 'alice', 'A');
    const { s: quiet, welcome: qw } = await connectQuiet(room, 'quiet', 'Q');
    expect(qw).toMatchObject({ type: 'welcome', client: idOf('quiet'), peers: [] });
    expect(await alice.next()).toEqual({
      type: 'presence',
      event: 'join',
      peer: { conn: qw.conn, client: idOf('quiet'), state: 'Q' },
    });

    // Others come, change and go: the quiet socket hears none of it.
    const { s: bob, welcome: bw } = await connectClient(room, 'bob');
    expect(bw.peers).toEqual(expect.arrayContaining([{ conn: qw.conn, client: idOf('quiet'), state: 'Q' }]));
    bob.send({ type: 'presence', state: 'B' });
    await alice.until((m) => m.event === 'update' && m.peer.conn === bw.conn);
    bob.close();
    await alice.until((m) => m.event === 'leave' && m.peer.conn === bw.conn);

    // Its own state still reaches the others.
    quiet.send({ type: 'presence', state: 'Q2' });
    expect(await alice.next()).toEqual({
      type: 'presence',
      event: 'update',
      peer: { conn: qw.conn, client: idOf('quiet'), state: 'Q2' },
    });

    // A second hello on the same socket cannot take the roster back: fixed for the socket's life.
    quiet.send({ type: 'hello', protocol: 1, secret: secretOf('quiet'), roster: true });
    expect(await quiet.next()).toMatchObject({ type: 'welcome', conn: qw.conn, peers: [] });
    await alice.until((m) => m.event === 'update' && m.peer.conn === qw.conn);

    expect(await quiet.drain()).toEqual([]);
    expect(presenceFrames(quiet)).toEqual([]);
    // Everything else works as for any hello socket.
    quiet.send({ type: 'sub', key: 'log' });
    await quiet.until((m) => m.type === 'init' && m.key === 'log');
    alice.send(push('log', 'line 1'));
    expect(await quiet.until((m) => m.type === 'push')).toMatchObject({
      key: 'log',
      value: 'line 1',
      client: idOf('alice'),
    });

    quiet.close();
    expect(await alice.until((m) => m.type === 'presence')).toEqual({
      type: 'presence',
      event: 'leave',
      peer: { conn: qw.conn, client: idOf('quiet'), state: 'Q2' },
    });
    // A DriftDB socket is unaffected: every push, no presence.
    const driftGot = await drift.drain();
    expect(driftGot.filter((m) => m.type === 'presence')).toEqual([]);
    expect(driftGot.filter((m) => m.type === 'push').map((m) => m.value)).toEqual(['line 1']);
  });

  it('is welcomed with no peers in CBOR too', async () => {
    const room = freshRoom();
    await connectClient(room, 'alice', 'A');
    const { welcome } = await connectQuiet(room, 'carol', undefined, '?cbor=1');
    expect(welcome).toMatchObject({ type: 'welcome', client: idOf('carol'), peers: [] });
  });

  it('still declines after the room hibernates and wakes', async () => {
    const room = freshRoom();
    const { s: quiet, welcome: qw } = await connectQuiet(room, 'quiet', 'Q');
    await evictDurableObject(roomStub(room), { webSockets: 'hibernate' });
    const { s: bob, welcome: bw } = await connectClient(room, 'bob');
    expect(bw.peers).toEqual([{ conn: qw.conn, client: idOf('quiet'), state: 'Q' }]);
    bob.send({ type: 'presence', state: 'B' });
    await bob.drain();
    quiet.send({ type: 'hello', protocol: 1, secret: secretOf('quiet') });
    expect(await quiet.next()).toMatchObject({ type: 'welcome', conn: qw.conn, peers: [] });
    expect(await quiet.drain()).toEqual([]);
    expect(presenceFrames(quiet)).toEqual([]);
  });

  it('may choose again on a new socket (a resume)', async () => {
    const room = freshRoom();
    const { welcome: aw } = await connectClient(room, 'alice', 'A');
    const { s: first } = await connectQuiet(room, 'same');
    first.close();
    await first.closed;
    const { welcome } = await connectClient(room, 'same');
    expect(welcome.peers).toEqual([{ conn: aw.conn, client: idOf('alice'), state: 'A' }]);
  });
});

describe('roster: false in a large room (batched presence)', { timeout: 20_000 }, () => {
  it('sends the quiet members nothing, and the others everything about them', async () => {
    const room = freshRoom();
    // One member that takes the roster, then enough quiet ones for the room to batch.
    const { s: ws, welcome: ww } = await connectClient(room, 'watcher', 'W');
    const watcher = new View(ws, ww);
    const quiet = await Promise.all(
      Array.from({ length: LARGE_AUDIENCE }, (_, i) => connectQuiet(room, `q${i}`, { i })),
    );
    expect(quiet.every(({ welcome }) => welcome.peers.length === 0)).toBe(true);
    const everyone = new Map<string, unknown>([
      [ww.conn, 'W'],
      ...quiet.map(({ welcome }, i): [string, unknown] => [welcome.conn, { i }]),
    ]);
    await watcher.settle(othersOf(watcher, everyone), FLUSH_MS);

    // Within one window: a member that takes the roster joins, a quiet one updates,
    // another leaves, and a new quiet one joins.
    const batchesBefore = ws.batches.length;
    const { s: ls, welcome: lw } = await connectClient(room, 'late', 'L');
    const late = new View(ls, lw);
    quiet[0]!.s.send({ type: 'presence', state: 'typing' });
    await quiet[0]!.s.drain();
    const leaver = quiet[1]!;
    leaver.s.close();
    await leaver.s.closed;
    const { s: ns, welcome: nw } = await connectQuiet(room, 'newcomer', 'N');
    expect(nw.peers).toEqual([]);
    // The late member's welcome is the roster as announced, quiet members included.
    expect(lw.peers.map((p: Msg) => p.conn).sort()).toEqual([...everyone.keys()].sort());

    everyone.set(lw.conn, 'L');
    everyone.set(quiet[0]!.welcome.conn, 'typing');
    everyone.delete(leaver.welcome.conn);
    everyone.set(nw.conn, 'N');
    for (const v of [watcher, late]) await v.settle(othersOf(v, everyone), FLUSH_MS);
    expect(watcher.faults).toEqual([]);
    expect(late.faults).toEqual([]);
    // Those arrived as a batch (one array frame), not one frame per event.
    expect(ws.batches.length).toBeGreaterThan(batchesBefore);

    // Not one presence frame reached a quiet socket, before or after the flush.
    const sockets = [...quiet.filter((q) => q !== leaver).map((q) => q.s), ns];
    const drained = await Promise.all(sockets.map((s) => s.drain()));
    expect(drained.flat().filter((m) => m.type === 'presence')).toEqual([]);
    expect(sockets.flatMap(presenceFrames)).toEqual([]);
  });
});
