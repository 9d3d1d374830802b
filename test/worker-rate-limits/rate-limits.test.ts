// Rate limits in a room, with tiny rates (vitest.config.ts, worker-rate-limits):
// 1 token per second, so a bucket a test empties stays empty while it looks.
import { evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { connect, connectClient, freshRoom, http, push, roomStub, secretOf, TestSocket } from '../worker/helpers.ts';

const PUBLISH_BURST = 5;
const FRAME_BURST = 30;
const ROOM_PUBLISHES = 8;
const ROOM_DELIVERIES = 20;
const REFUSALS_BEFORE_CLOSE = 10;

const sendHttp = (room: string, body: unknown, client = 'backend') =>
  http(`/room/${room}/send?client=${client}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** What one socket's publishes got back, by ID: ack seq or error code. */
async function outcomes(s: TestSocket): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const m of await s.drain()) {
    if (m.type === 'ack') out[m.id] = 'ack';
    if (m.type === 'error') out[m.id] = m.code;
  }
  return out;
}

describe('per-socket publish rate', () => {
  it('refuses publishes past the burst with rate_limited, id, key and retryAfter; the socket stays open', async () => {
    const room = freshRoom();
    const pub = await connect(room);
    for (let i = 1; i <= PUBLISH_BURST + 3; i++) pub.send(push('log', i, 'append', `m${i}`));
    const got = await pub.drain();
    const acks = got.filter((m) => m.type === 'ack').map((m) => m.id);
    expect(acks).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    const refused = got.filter((m) => m.type === 'error');
    expect(refused.map((m) => m.id)).toEqual(['m6', 'm7', 'm8']);
    for (const m of refused) {
      expect(m).toEqual({
        type: 'error',
        code: 'rate_limited',
        id: m.id,
        key: 'log',
        retryAfter: expect.any(Number),
        message: 'Over publishesPerSecond (1/s, burst 5) for this socket',
      });
      expect(m.retryAfter).toBeGreaterThan(0);
      expect(m.retryAfter).toBeLessThanOrEqual(1000);
    }
    // Nothing refused was stored.
    pub.send({ type: 'get', key: 'log', seq: 0 });
    expect((await pub.next()).data.map((e: { value: number }) => e.value)).toEqual([1, 2, 3, 4, 5]);
  });

  it('applies a refused publish once when it is resent with the same id after retryAfter', async () => {
    const room = freshRoom();
    const pub = await connect(room);
    for (let i = 1; i <= PUBLISH_BURST; i++) pub.send(push('log', i, 'append', `m${i}`));
    pub.send(push('log', 'late', 'append', 'late'));
    const refusal = (await pub.drain()).find((m) => m.type === 'error');
    expect(refusal).toMatchObject({ code: 'rate_limited', id: 'late' });
    // The wait the server asked for: the protocol's own, bounded by the bucket's refill time.
    await new Promise((resolve) => setTimeout(resolve, refusal.retryAfter));
    pub.send(push('log', 'late', 'append', 'late'));
    pub.send(push('log', 'late', 'append', 'late'));
    const [ack, again] = (await pub.drain()).filter((m) => m.type === 'ack');
    expect(again).toEqual({ type: 'ack', id: 'late', seq: ack.seq, duplicate: true });
    pub.send({ type: 'get', key: 'log', seq: 0 });
    expect((await pub.next()).data.map((e: { value: unknown }) => e.value)).toEqual([1, 2, 3, 4, 5, 'late']);
  });

  it('counts direct messages in the same bucket', async () => {
    const room = freshRoom();
    const { s: bob, welcome: bw } = await connectClient(room, 'bob');
    const { s: alice } = await connectClient(room, 'alice');
    await bob.drain();
    for (let i = 1; i <= PUBLISH_BURST + 2; i++) alice.send({ type: 'dm', to: bw.conn, value: i, id: `d${i}` });
    const errors = (await alice.drain()).filter((m) => m.type === 'error');
    expect(errors.map((m) => [m.code, m.id])).toEqual([
      ['rate_limited', 'd6'],
      ['rate_limited', 'd7'],
    ]);
    expect((await bob.drain()).map((m) => m.value)).toEqual([1, 2, 3, 4, 5]);
  });

  it('keeps limiting after the room hibernates and wakes', async () => {
    const room = freshRoom();
    const pub = await connect(room);
    for (let i = 1; i <= PUBLISH_BURST; i++) pub.send(push('log', i, 'append', `a${i}`));
    await pub.drain();
    await evictDurableObject(roomStub(room), { webSockets: 'hibernate' });
    // A wake starts the socket's buckets full (in production a room hibernates only after
    // about 10 s idle, when they are full anyway); past the burst it is refused again.
    for (let i = 1; i <= PUBLISH_BURST + 1; i++) pub.send(push('log', i, 'append', `b${i}`));
    expect(await outcomes(pub)).toEqual({ b1: 'ack', b2: 'ack', b3: 'ack', b4: 'ack', b5: 'ack', b6: 'rate_limited' });
    // And a frame flood is still closed.
    for (let i = 0; i < FRAME_BURST + 5; i++) pub.send({ type: 'ping', nonce: i });
    expect((await pub.closed).code).toBe(4290);
  });
});

describe('ignoring refusals', () => {
  it('closes a socket with 4290 once its publishes are refused REFUSALS_BEFORE_CLOSE times in a row', async () => {
    const room = freshRoom();
    const pub = await connect(room);
    for (let i = 1; i <= PUBLISH_BURST + REFUSALS_BEFORE_CLOSE + 5; i++) pub.send(push('k', i, 'relay', `m${i}`));
    expect(await pub.closed).toEqual({
      code: 4290,
      reason: '10 publishes refused in a row (refusalsBeforeClose): reconnect after 5000 ms',
    });
    const refused = pub.received.filter((m) => m.code === 'rate_limited').map((m) => m.id);
    expect(refused.slice(0, REFUSALS_BEFORE_CLOSE)).toEqual(
      Array.from({ length: REFUSALS_BEFORE_CLOSE }, (_, i) => `m${PUBLISH_BURST + 1 + i}`),
    );
  });
});

describe('frame flood', () => {
  it('closes a socket past its frame burst with 4290, and it leaves presence', async () => {
    const room = freshRoom();
    const { s: watcher } = await connectClient(room, 'watcher');
    const { s: flooder, welcome } = await connectClient(room, 'flooder');
    await watcher.until((m) => m.event === 'join');
    for (let i = 0; i < FRAME_BURST * 2; i++) flooder.send({ type: 'ping', nonce: i });
    expect(await flooder.closed).toEqual({
      code: 4290,
      reason: 'over framesPerSecond (1/s, burst 30): reconnect after 5000 ms',
    });
    // Frames within the burst were answered in order (the hello was its first); none past it.
    const pongs = flooder.received.filter((m) => m.type === 'pong').map((m) => m.nonce);
    expect(pongs.length).toBeGreaterThan(0);
    expect(pongs).toEqual(Array.from({ length: pongs.length }, (_, i) => i));
    expect(pongs.length).toBeLessThanOrEqual(FRAME_BURST - 1);
    expect(await watcher.next()).toEqual({
      type: 'presence',
      event: 'leave',
      peer: { conn: welcome.conn, client: welcome.client, state: null },
    });
  });
});

describe('reconnecting flooders', () => {
  it('closes a reconnect from a flooding address at once, for the backoff it was told', async () => {
    const room = freshRoom();
    const from = (address: string) =>
      http(`/room/${room}/connect`, { headers: { Upgrade: 'websocket', 'cf-connecting-ip': address } }).then(
        (res) => new TestSocket(res.webSocket!),
      );
    const flooder = await from('198.51.100.1');
    for (let i = 0; i < FRAME_BURST + 1; i++) flooder.send({ type: 'ping', nonce: i });
    expect((await flooder.closed).code).toBe(4290);
    const again = await from('198.51.100.1');
    const closed = await again.closed;
    expect(closed.code).toBe(4290);
    expect(closed.reason).toMatch(/^flooding from this address: reconnect after \d+ ms$/);
    expect(again.received).toEqual([]);
    // Someone else is let in.
    const other = await from('198.51.100.2');
    other.send({ type: 'ping', nonce: 7 });
    expect(await other.next()).toEqual({ type: 'pong', nonce: 7 });
  });
});

describe('room budgets', () => {
  it('refuses publishes past the room rate, whichever socket sends them, and over HTTP with 429', async () => {
    const room = freshRoom();
    const a = await connect(room);
    const b = await connect(room);
    for (let i = 1; i <= PUBLISH_BURST; i++) a.send(push('k', i, 'relay', `a${i}`));
    await a.drain();
    for (let i = 1; i <= PUBLISH_BURST; i++) b.send(push('k', i, 'relay', `b${i}`));
    const fromB = await outcomes(b);
    expect(fromB).toEqual({ b1: 'ack', b2: 'ack', b3: 'ack', b4: 'rate_limited', b5: 'rate_limited' });
    const refusal = await (async () => {
      b.send(push('k', 0, 'relay', 'b6'));
      return b.until((m) => m.type === 'error');
    })();
    expect(refusal.message).toBe(`Over roomPublishesPerSecond (${ROOM_PUBLISHES}/s) for this room`);
    const res = await sendHttp(room, { type: 'push', key: 'k', value: 'http', action: { type: 'append' }, id: 'h1' });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await res.json()).toMatchObject({
      type: 'error',
      code: 'rate_limited',
      id: 'h1',
      key: 'k',
      retryAfter: expect.any(Number),
    });
  });

  it('charges one delivery per recipient, so a wide audience shares the budget', async () => {
    const room = freshRoom();
    // Six DriftDB sockets receive every push, and so does the publisher: 7 deliveries a publish.
    const audience = await Promise.all(Array.from({ length: 6 }, () => connect(room)));
    const pub = await connect(room);
    for (let i = 1; i <= 3; i++) pub.send(push('k', i, 'relay', `p${i}`));
    const got = await pub.drain();
    expect(got.filter((m) => m.type === 'ack').map((m) => m.id)).toEqual(['p1', 'p2']);
    expect(got.find((m) => m.type === 'error')).toMatchObject({
      code: 'rate_limited',
      id: 'p3',
      message: `Over roomDeliveriesPerSecond (${ROOM_DELIVERIES}/s) for this room`,
    });
    for (const s of audience) expect((await s.drain()).map((m) => m.value)).toEqual([1, 2]);
  });
});

describe('presence rate', () => {
  it('coalesces rapid updates: the first ones at once, then only the latest state', async () => {
    const room = freshRoom();
    const { s: watcher } = await connectClient(room, 'watcher');
    const { s: typist } = await connectClient(room, 'typist');
    await watcher.until((m) => m.event === 'join');
    // The hello took one token of the burst of 2.
    for (let i = 1; i <= 5; i++) typist.send({ type: 'presence', state: i });
    const first = await watcher.next();
    expect(first).toMatchObject({ event: 'update', peer: { state: 1 } });
    const last = await watcher.next(3000); // held until the bucket refills (1/s)
    expect(last).toMatchObject({ event: 'update', peer: { state: 5 } });
    expect(await watcher.drain()).toEqual([]);
    expect(await typist.drain()).toEqual([]); // no error for the coalesced ones
  });
});

describe('identity across hibernation', () => {
  it('keeps the derived client ID after a wake, and a re-hello cannot change it', async () => {
    const room = freshRoom();
    const { s, welcome } = await connectClient(room, 'alice');
    await evictDurableObject(roomStub(room), { webSockets: 'hibernate' });
    s.send({ type: 'hello', protocol: 1, secret: secretOf('mallory') });
    expect((await s.until((m) => m.type === 'welcome')).client).toBe(welcome.client);
  });
});
