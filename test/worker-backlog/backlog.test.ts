// Slow consumers: a socket that reports receipts (hello `acks`) and stays more than
// maxSocketBacklogBytes (128 KiB here) behind for slowConsumerSeconds (1 s here), or falls
// four times that behind at all, is closed with 4291; replays wait for its receipts instead;
// sockets without receipts are left alone.
import { evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { BACKLOG_HARD_FACTOR } from '../../protocol/limits.ts';
import { BATCH_BYTES } from '../../worker/batching.ts';
import { connect, freshRoom, push, roomStub, type Msg, type TestSocket } from '../worker/helpers.ts';
import { ACK_EVERY, BOUND, kib, subscriber } from './receipts.ts';

const HARD = BOUND * BACKLOG_HARD_FACTOR;

/** Appends values `from`..`from + n - 1` (1 KiB each) to `key` from socket `p`; resolves once the last is stored. */
async function append(p: TestSocket, key: string, n: number, from: number): Promise<void> {
  for (let i = from; i < from + n; i++) p.send(push(key, kib(i)));
  await p.until((m) => m.type === 'push' && m.value === kib(from + n - 1), 10_000);
}

/** Appends `n` values from a new DriftDB-style socket; returns it. */
async function publish(room: string, key: string, n: number, from = 0): Promise<TestSocket> {
  const p = await connect(room);
  await append(p, key, n, from);
  return p;
}

/** A small value: a trickle of these takes a long time to reach the hard cap. */
const tick = (n: number) => `t${n}`;

/**
 * Appends small values one round trip at a time, numbered from `from`, until
 * `target` is closed (at most 10 s); returns the values it appended.
 */
async function trickleUntilClosed(p: TestSocket, key: string, target: TestSocket): Promise<string[]> {
  let closed = false;
  void target.closed.then(() => (closed = true));
  const deadline = Date.now() + 10_000;
  const sent: string[] = [];
  while (!closed && Date.now() < deadline) {
    sent.push(tick(sent.length));
    p.send(push(key, sent.at(-1)));
    await p.until((m) => m.type === 'push' && m.value === sent.at(-1));
  }
  return sent;
}

const values = (msgs: Msg[]) =>
  msgs.flatMap((m) => (m.type === 'push' ? [m.value] : m.type === 'init' ? m.data.map((e: Msg) => e.value) : []));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => kib(from + i));

/** Every value `s` has received, once at least `count` have (read or not). */
async function collect(s: TestSocket, count: number): Promise<unknown[]> {
  while (values(s.received).length < count) await s.next(10_000);
  return values(s.received);
}

describe('slow consumers', () => {
  it('announces the bound and the receipt interval in welcome.limits', async () => {
    const { welcome } = await subscriber(freshRoom(), 'k', ACK_EVERY);
    expect(welcome.limits).toMatchObject({
      maxSocketBacklogBytes: BOUND,
      ackEveryBytes: ACK_EVERY,
      slowConsumerSeconds: 1,
    });
  });

  it('closes a socket that never acks with 4291 once it stays past the bound, while one that acks gets everything', async () => {
    const room = freshRoom();
    const silent = await subscriber(room, 'feed', undefined);
    const acking = await subscriber(room, 'feed', ACK_EVERY);
    await silent.s.drain();
    await acking.s.drain();
    // A burst of twice the bound: both go past it before a receipt can come back, neither is closed for that.
    const started = Date.now();
    const p = await publish(room, 'feed', 2 * (BOUND / 1024));
    await acking.s.drain();
    expect(silent.s.ws.readyState).toBe(WebSocket.OPEN);
    const ticks = await trickleUntilClosed(p, 'feed', silent.s);
    expect(await silent.s.closed).toMatchObject({ code: 4291 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    // What it was sent stopped short of the hard cap: it went for staying behind.
    expect(silent.r.total).toBeLessThan(HARD);
    const all = [...range(0, 2 * (BOUND / 1024)), ...ticks];
    expect(await collect(acking.s, all.length)).toEqual(all);
    await acking.s.drain();
    expect(acking.s.ws.readyState).toBe(WebSocket.OPEN);
    // A DriftDB-style socket sends no receipts: the bound cannot apply to it. It got every push.
    expect(values(p.received)).toEqual(all);
    expect(p.ws.readyState).toBe(WebSocket.OPEN);
  }, 20_000);

  it('closes a socket left past the bound when the grace ends, even if the room sends nothing more', async () => {
    const room = freshRoom();
    const silent = await subscriber(room, 'feed', undefined);
    const acking = await subscriber(room, 'feed', ACK_EVERY);
    await silent.s.drain();
    await acking.s.drain();
    // Twice the bound, under the hard cap, and then a quiet room: no later send can find it too slow.
    const started = Date.now();
    const p = await publish(room, 'feed', 2 * (BOUND / 1024));
    const closed = await Promise.race([
      silent.s.closed,
      new Promise((resolve) => setTimeout(() => resolve('still open after 5 s'), 5000)),
    ]);
    expect(closed).toMatchObject({ code: 4291 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(silent.r.total).toBeLessThan(HARD);
    // The reader that acks was within the bound all along: it keeps its socket and every value.
    expect(await collect(acking.s, 2 * (BOUND / 1024))).toEqual(range(0, 2 * (BOUND / 1024)));
    expect(acking.s.ws.readyState).toBe(WebSocket.OPEN);
    expect(p.ws.readyState).toBe(WebSocket.OPEN);
  }, 20_000);

  it('closes at once, without the grace, a socket past four times the bound before a turn, and sends it nothing more', async () => {
    const room = freshRoom();
    const silent = await subscriber(room, 'feed', undefined);
    const acking = await subscriber(room, 'feed', ACK_EVERY);
    await silent.s.drain();
    await acking.s.drain();
    const n = 5 * (BOUND / 1024);
    const p = await publish(room, 'feed', n);
    const burst = Date.now();
    const ticks = await trickleUntilClosed(p, 'feed', silent.s);
    expect(await silent.s.closed).toMatchObject({ code: 4291 });
    expect(Date.now() - burst).toBeLessThan(1000);
    // The frame that found it too far behind, and all after it, were never sent.
    expect(values(silent.s.received).filter((v) => typeof v === 'string' && v.startsWith('t'))).toEqual([]);
    const all = [...range(0, n), ...ticks];
    expect(await collect(acking.s, all.length)).toEqual(all);
    expect(acking.s.ws.readyState).toBe(WebSocket.OPEN);
  }, 20_000);

  it('leaves a hello socket that did not offer receipts alone', async () => {
    const room = freshRoom();
    const plain = await subscriber(room, 'feed', undefined, false);
    await plain.s.drain();
    const n = 6 * (BOUND / 1024);
    const started = Date.now();
    await publish(room, 'feed', n);
    // Past four times the bound, and still past the bound after slowConsumerSeconds.
    while (Date.now() - started < 1200) await plain.s.drain(10_000);
    expect(await collect(plain.s, n)).toEqual(range(0, n));
    expect(plain.s.ws.readyState).toBe(WebSocket.OPEN);
  }, 20_000);

  it('paces a replay larger than the bound by receipts: complete and in order for a reader that acks, waiting for one that does not', async () => {
    const room = freshRoom();
    const n = 8 * (BOUND / 1024); // 1 MiB: eight times the bound
    await publish(room, 'log', n);
    const fast = await subscriber(room, 'log', ACK_EVERY, true, 0);
    const stalled = await subscriber(room, 'log', undefined, true, 0);
    expect(await collect(fast.s, n)).toEqual(range(0, n));
    await fast.s.drain();
    expect(fast.s.ws.readyState).toBe(WebSocket.OPEN);
    // The replay to the silent one stops at half the bound (plus the frame that crossed it)
    // and waits; it is not closed, since a replay never trips the bound.
    await stalled.s.until((m) => m.type === 'init');
    const waited = stalled.r.total;
    expect(waited).toBeLessThanOrEqual(BOUND / 2 + 33 * 1024);
    // A receipt lets it go on.
    stalled.r.ackNow();
    await stalled.s.until(() => stalled.r.total > waited + BOUND / 4);
    expect(stalled.s.ws.readyState).toBe(WebSocket.OPEN);
  }, 30_000);

  it('answers a bad ack with bad_message and closes nothing', async () => {
    const room = freshRoom();
    const other = await subscriber(room, 'k', ACK_EVERY);
    const { s, r } = await subscriber(room, 'k', undefined);
    await s.drain();
    const errors: Msg[] = [];
    for (const received of [-1, 'lots', 1.5, null, r.total + 1_000_000]) {
      s.send({ type: 'ack', received });
      errors.push(await s.until((m) => m.type === 'error'));
    }
    expect(errors.map((e) => e.code)).toEqual(Array(5).fill('bad_message'));
    expect(errors.at(-1).message).toMatch(/more than the \d+ sent/);
    // Exactly what arrived is accepted (the units match, batches and all); going back is not.
    await s.drain();
    r.ackNow();
    await s.drain();
    expect(s.received.filter((m) => m.type === 'error')).toHaveLength(5);
    s.send({ type: 'ack', received: 1 });
    expect(await s.until((m) => m.type === 'error')).toMatchObject({
      code: 'bad_message',
      message: expect.stringMatching(/went back/),
    });
    await publish(room, 'k', 3);
    for (const sock of [s, other.s]) {
      expect(await collect(sock, 3)).toEqual(range(0, 3));
      expect(sock.ws.readyState).toBe(WebSocket.OPEN);
    }
  }, 20_000);

  it('still holds after hibernation: an acking reader keeps its total, a silent one is closed for what it is sent after the wake', async () => {
    const room = freshRoom();
    const acking = await subscriber(room, 'feed', ACK_EVERY);
    const silent = await subscriber(room, 'feed', undefined);
    await publish(room, 'feed', 40);
    await collect(acking.s, 40);
    acking.s.received.length = 0;
    await evictDurableObject(roomStub(room), { webSockets: 'hibernate' });
    // The room counts from zero again, so the acking reader's total is above what it counts: no error.
    const p = await publish(room, 'feed', BOUND / 1024, 40);
    const ticks = await trickleUntilClosed(p, 'feed', silent.s);
    expect(await silent.s.closed).toMatchObject({ code: 4291 });
    expect(await collect(acking.s, BOUND / 1024 + ticks.length)).toEqual([...range(40, 40 + BOUND / 1024), ...ticks]);
    expect(acking.s.received.filter((m) => m.type === 'error')).toEqual([]);
    expect(acking.s.ws.readyState).toBe(WebSocket.OPEN);
  }, 30_000);
});
