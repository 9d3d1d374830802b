// Tokens against the real worker: our client with withToken (client/auth.ts)
// in private rooms (token in the subprotocol, in-band refresh, a new token
// after the old one ran out, refusals that stop it), and the published
// driftdb@1.0.12 client with ?token= on the socket URL.
import driftdb from 'driftdb';
import { describe, expect, it } from 'vitest';
import WS from 'ws';
import { withToken, type TokenSource } from '../../client/auth.ts';
import type { RoomError, Status } from '../../client/index.ts';
import { sign as signJwt } from 'hono/jwt';
import { open, recorder, useServer } from './client-harness.ts';
import { waitFor } from './wait.ts';

const SECRET = 'e2e-auth-secret-0123456789abcdefghij';
const server = useServer({ AUTH_KEYS: JSON.stringify([{ kid: 'hs', alg: 'HS256', secret: SECRET }]) });
/** An HS256 key as hono/jwt's `sign` takes it, with the kid it writes into the header (as test/worker-auth/helpers.ts). */
const hmacSigner = (secret: string) => ({
  kty: 'oct',
  k: Buffer.from(secret).toString('base64url'),
  alg: 'HS256',
  kid: 'hs',
});
const signer = hmacSigner(SECRET);
const stranger = hmacSigner('not-the-secret-0123456789abcdefghij');
const sign = (payload: Record<string, unknown>, key: ReturnType<typeof hmacSigner>) => signJwt(payload, key as never);

const now = () => Math.floor(Date.now() / 1000);
const privateRoom = () => `p_${Math.random().toString(36).slice(2, 14)}`;
const socketUrl = (room: string) => `ws://127.0.0.1:${server.port}/room/${room}/connect`;
/** A token for `room` and `sub`, valid 10 minutes, with `extra` claims over those. */
const tokenFor = (room: string, sub: string, extra: Record<string, unknown> = {}) =>
  sign({ sub, room, iat: now(), exp: now() + 600, ...extra }, signer);
/**
 * A token the server still takes for 3 to 4 s: its exp is 56 s ago, and the
 * server allows 60 s of clock skew. The client, by its own clock, refreshes it
 * as soon as it may (1 s after the welcome). `end`: when the server stops taking it, in ms.
 */
function endingSoon(room: string, sub: string, extra: Record<string, unknown> = {}) {
  const exp = now() - 56;
  return { token: sign({ sub, room, exp, ...extra }, signer), end: (exp + 60) * 1000 };
}

type Frame = Record<string, any>;

/** `ws` sockets that keep what they offered, sent (early frames included) and received, and how they closed. */
function recordingSockets() {
  const sockets: { protocols: string[]; url: string; sent: Frame[]; received: Frame[]; ws: WS; closed?: number }[] = [];
  class Recording extends WS {
    constructor(url: string, protocols: string[]) {
      super(url, protocols);
      const entry = {
        protocols,
        url,
        // The early frames (docs/protocol.md) first: the room takes them before any sent one.
        sent: [
          ...protocols
            .filter((p) => p.startsWith('early.'))
            .flatMap((p) => JSON.parse(decodeURIComponent(p.slice('early.'.length))) as Frame[]),
        ],
        received: [] as Frame[],
        ws: this as WS,
        closed: undefined as number | undefined,
      };
      sockets.push(entry);
      this.on('message', (data) => void entry.received.push(...[JSON.parse(String(data))].flat()));
      this.on('close', (code) => void (entry.closed = code));
      const send = this.send.bind(this);
      this.send = ((data: string) => {
        entry.sent.push(JSON.parse(data));
        send(data);
      }) as WS['send'];
    }
  }
  return { WebSocket: Recording, sockets };
}

/** getToken handing out `tokens` in order (then the last one again), counting its calls. */
function tokens(...list: Promise<string>[]) {
  const calls = { count: 0 };
  const getToken: TokenSource = () => list[Math.min(calls.count++, list.length - 1)]!;
  return { getToken, calls };
}

function openWithToken(room: string, getToken: TokenSource) {
  const rec = recordingSockets();
  const client = open(socketUrl(room), { WebSocket: withToken(getToken, { WebSocket: rec.WebSocket }) });
  const errors: RoomError[] = [];
  const statuses: Status[] = [];
  client.on('error', (error) => errors.push(error));
  client.on('status', (status) => statuses.push(status));
  return { room: client, sockets: rec.sockets, errors, statuses };
}

describe('withToken against the real worker', () => {
  it("connects to a private room with the token in the subprotocol; the token's user is the client ID", async () => {
    const room = privateRoom();
    const alice = openWithToken(room, () => tokenFor(room, 'alice'));
    const bob = openWithToken(room, () => tokenFor(room, 'bob'));
    const seen = recorder<string>();
    bob.room.subscribe('chat', seen.listener);
    const mine = recorder<string>();
    alice.room.subscribe('chat', mine.listener);
    await waitFor(() => alice.room.status === 'open' && bob.room.status === 'open', 10_000, 'both open');

    const [socket] = alice.sockets;
    expect(socket!.protocols).toEqual([
      'edgeroom.v1',
      expect.stringMatching(/^early\./),
      expect.stringMatching(/^auth\.ey/),
    ]);
    expect(socket!.ws.protocol).toBe('edgeroom.v1'); // echoed, never the token
    expect(socket!.url).toBe(socketUrl(room)); // no token in the URL
    expect(alice.room.clientId).toBe('alice');
    expect(bob.room.clientId).toBe('bob');
    const welcome = socket!.received.find((m) => m.type === 'welcome')!;
    expect(welcome.exp).toBeGreaterThan(now());

    const seq = await alice.room.append('chat', 'hello bob');
    await waitFor(() => seen.events.length === 1 && mine.events.length === 1, 10_000, 'the message on both sides');
    expect(seen.events).toEqual([
      { type: 'message', subject: 'chat', value: 'hello bob', seq, client: 'alice', own: false },
    ]);
    expect(mine.events).toMatchObject([{ seq, own: true }]);
    expect([alice.errors, bob.errors]).toEqual([[], []]);
  });

  it("refreshes in-band: the same socket and position carry on with the new token's rights, past the old one's end", async () => {
    const room = privateRoom();
    const old = endingSoon(room, 'alice', { rights: { read: ['*'] } });
    const fresh = tokenFor(room, 'alice');
    const { getToken, calls } = tokens(old.token, fresh);
    const alice = openWithToken(room, getToken);
    const bob = openWithToken(room, () => tokenFor(room, 'bob'));
    const seen = recorder<number>();
    alice.room.subscribe('log', seen.listener);
    await waitFor(() => alice.room.status === 'open' && bob.room.status === 'open', 10_000, 'both open');
    await bob.room.append('log', 1);
    // Read-only until the refresh (1 s after the welcome): refused.
    await expect(alice.room.append('log', 0)).rejects.toMatchObject({ code: 'forbidden' });

    const [socket] = alice.sockets;
    await waitFor(() => socket!.received.some((m) => m.type === 'auth_ok'), 10_000, 'auth_ok');
    expect(calls.count).toBe(2);
    expect(socket!.sent.filter((m) => m.type === 'auth')).toEqual([{ type: 'auth', token: await fresh }]);
    expect(socket!.received.find((m) => m.type === 'auth_ok')!.exp).toBeGreaterThan(now() + 500);

    // Past the old token's end (with the server's 60 s of leeway), the socket still lives.
    await waitFor(() => Date.now() > old.end + 300, 10_000, "the old token's end");
    await bob.room.append('log', 2);
    await alice.room.append('log', 3); // the new token may write
    await waitFor(() => seen.seqs().length === 3, 10_000, 'three values');
    expect(seen.summary().map(([, value]) => value)).toEqual([1, 2, 3]);
    expect(alice.sockets).toHaveLength(1);
    expect(socket!.closed).toBeUndefined();
    expect(alice.statuses).toEqual(['open']);
    expect(socket!.sent.filter((m) => m.type === 'sub' || m.type === 'hello')).toHaveLength(2); // never resubscribed
    expect(alice.errors.map((e) => e.code)).toEqual([]);
  });

  it('after a refused refresh, lets the old token run out (4101), then connects with a new one and resumes', async () => {
    const room = privateRoom();
    const old = endingSoon(room, 'alice');
    const { getToken, calls } = tokens(old.token, tokenFor(room, 'mallory'), tokenFor(room, 'alice'));
    const alice = openWithToken(room, getToken);
    const bob = openWithToken(room, () => tokenFor(room, 'bob'));
    const seen = recorder<number>();
    alice.room.subscribe('log', seen.listener);
    await waitFor(() => alice.room.status === 'open' && bob.room.status === 'open', 10_000, 'both open');
    await bob.room.append('log', 1);
    // The refresh names another user: refused, and the old token stays until it ends.
    await waitFor(() => alice.errors.length === 1, 10_000, 'the refused refresh');
    expect(alice.errors[0]).toMatchObject({ code: 'forbidden' });

    await waitFor(() => Date.now() > old.end + 300, 10_000, "the old token's end");
    await bob.room.append('log', 2); // the room notices the end on this push, and closes alice's socket
    await waitFor(() => alice.sockets.length === 2 && alice.room.status === 'open', 10_000, 'a new socket, welcomed');
    await waitFor(() => seen.seqs().length === 2, 10_000, 'the value written at the close');
    expect(alice.sockets[0]!.closed).toBe(4101);
    expect(calls.count).toBe(3);
    expect(seen.summary().map(([, value]) => value)).toEqual([1, 2]);
    expect(alice.sockets[1]!.sent.find((m) => m.type === 'sub')).toMatchObject({ key: 'log', seq: seen.seqs()[0] });
    expect(alice.room.clientId).toBe('alice');
    expect(alice.errors.map((e) => e.code)).toEqual(['forbidden', 'token_expired']);
  });

  it('stops (status closed), instead of looping, when its new token is refused too', async () => {
    const room = privateRoom();
    const { getToken, calls } = tokens(sign({ sub: 'eve', room, exp: now() + 600 }, stranger));
    const eve = openWithToken(room, getToken);
    await waitFor(() => eve.room.status === 'closed', 10_000, 'closed');
    expect(calls.count).toBe(2);
    expect(eve.sockets.map((s) => s.closed)).toEqual([4100, 4100]);
    expect(eve.errors.map((e) => [e.code, e.message])).toEqual([['unauthorized', 'Bad token signature']]);
    expect(eve.statuses).toEqual(['reconnecting', 'closed']);
  });

  it('stops at once on a token for another room (4103)', async () => {
    const room = privateRoom();
    const { getToken, calls } = tokens(tokenFor(privateRoom(), 'carol'));
    const carol = openWithToken(room, getToken);
    await waitFor(() => carol.room.status === 'closed', 10_000, 'closed');
    expect(calls.count).toBe(1);
    expect(carol.errors.map((e) => [e.code, e.message])).toEqual([['forbidden', 'Token is for another room']]);
  });

  it('without withToken, the core client stops at the first refusal (4100)', async () => {
    const room = privateRoom();
    const statuses: Status[] = [];
    const plain = open(socketUrl(room));
    plain.on('status', (status) => statuses.push(status));
    await waitFor(() => plain.status === 'closed', 10_000, 'closed');
    expect(statuses).toEqual(['closed']);
  });
});

describe('driftdb@1.0.12 in a private room', () => {
  it('connects with ?token= on the socket URL, and shares values with our client', async () => {
    (globalThis as { WebSocket?: unknown }).WebSocket ??= WS;
    const room = privateRoom();
    const alice = openWithToken(room, () => tokenFor(room, 'alice'));
    const seen = recorder<string>();
    alice.room.subscribe('k', seen.listener);
    await waitFor(() => alice.room.status === 'open', 10_000, 'open');
    await alice.room.append('k', 'from alice');

    const db = new driftdb.DbConnection();
    try {
      await db.connect(`${socketUrl(room)}?token=${await tokenFor(room, 'bob')}`);
      const got: unknown[] = [];
      db.subscribe('k', (v) => got.push(v));
      db.send({ type: 'push', action: { type: 'append' }, key: 'k', value: 'from drift' });
      await waitFor(() => got.length === 2 && seen.events.length === 2, 10_000, 'both values on both sides');
      // A replayed entry carries its publisher's client ID too (an extra field DriftDB ignores).
      expect(got).toEqual([
        { seq: 1, value: 'from alice', client: 'alice' },
        { seq: 2, value: 'from drift' },
      ]);
      expect(seen.events[1]).toMatchObject({ value: 'from drift', client: 'bob', own: false });
    } finally {
      db.disconnect();
    }
  });
});
