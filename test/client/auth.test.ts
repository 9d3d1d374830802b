// withToken (client/auth.ts): tokens in the subprotocol, fetched before each
// socket is made, refreshed in-band at 80% of their life, renewed after close
// 4100–4102 once, and the room closed when that cannot help.
import { describe, expect, it, vi } from 'vitest';
import { withToken, type TokenSource } from '../../client/auth.ts';
import type { RoomError } from '../../client/index.ts';
import { CLOSE_CODES } from '../../protocol/limits.ts';
import { FakeSocket, latest, openRoom, useFakeSockets } from './fake-socket.ts';

const NOW = 1_900_000_000_000;
const b64url = (text: string) => Buffer.from(text).toString('base64url');
/** An (unsigned) JWT ending at `exp` seconds; `n` tells tokens apart. Its payload needs `-` and `_` in base64url. */
const jwt = (exp: number, n = 0) =>
  `${b64url('{"alg":"HS256"}')}.${b64url(JSON.stringify({ sub: 'ünï>>>???~', room: 'p_r', n, exp }))}.sig`;
const inSeconds = (s: number) => Math.floor(NOW / 1000) + s;

/** Let promise callbacks run (the fake timers do not touch microtasks). */
const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

/** A getToken that hands out `tokens` in order (then the last one again), counting its calls. */
function source(...tokens: (string | null | Error)[]) {
  const calls = { count: 0 };
  const getToken: TokenSource = async () => {
    const next = tokens[Math.min(calls.count++, tokens.length - 1)];
    if (next instanceof Error) throw next;
    return next;
  };
  return { getToken, calls };
}

/** Run timers until the room dials again and that socket is made (after its token); return it. */
async function redial(): Promise<FakeSocket> {
  const before = FakeSocket.all.length;
  for (let i = 0; i < 10 && FakeSocket.all.length === before; i++) {
    vi.advanceTimersToNextTimer();
    await settle();
  }
  if (FakeSocket.all.length === before) throw new Error('no reconnect happened');
  return latest();
}

/** A room whose sockets come from withToken; no heartbeat (the fake server never pongs). */
function openWithToken(getToken: TokenSource) {
  const room = openRoom({ WebSocket: withToken(getToken, { WebSocket: FakeSocket }), heartbeat: 1e9 });
  const errors: RoomError[] = [];
  room.on('error', (error) => errors.push(error));
  return { room, errors };
}

const authFrames = (socket: FakeSocket) => socket.frames('auth').map((f) => f.token);
/** The subprotocols a socket offered, but for the room's early frames (see the first test). */
const offered = (socket: FakeSocket) => socket.protocols?.filter((p) => !p.startsWith('early.'));

describe('withToken', () => {
  useFakeSockets();
  const setNow = () => vi.setSystemTime(NOW);

  it('makes each socket once its token is here, offering edgeroom.v1 and auth.<token>', async () => {
    setNow();
    const token = jwt(inSeconds(600));
    const { getToken, calls } = source(token);
    const { room } = openWithToken(getToken);
    expect(FakeSocket.all).toHaveLength(0); // the token is not here yet
    expect(room.status).toBe('connecting');
    await settle();
    expect(FakeSocket.all).toHaveLength(1);
    expect(offered(latest())).toEqual(['edgeroom.v1', `auth.${token}`]);
    // The room's early frames (its hello) are offered too, between the two.
    expect(latest().protocols?.[1]).toMatch(/^early\./);
    expect(latest().early.map((f) => JSON.parse(f).type)).toEqual(['hello']);
    expect(latest().url).toBe('ws://test.invalid/room/r/connect');
    latest().accept();
    expect(room.status).toBe('open');
    expect(latest().frames('hello')).toHaveLength(1);

    // An ordinary drop: the same token for the next socket, not a new one.
    latest().drop();
    await redial();
    expect(FakeSocket.all).toHaveLength(2);
    expect(offered(latest())).toEqual(['edgeroom.v1', `auth.${token}`]);
    expect(calls.count).toBe(1);
  });

  it("refreshes over the open socket at 80% of the token's remaining life, and dials with the fresh token later", async () => {
    setNow();
    const first = jwt(inSeconds(100), 1);
    const second = jwt(inSeconds(300), 2);
    const { getToken, calls } = source(first, second, jwt(inSeconds(1000), 3));
    const { room } = openWithToken(getToken);
    await settle();
    const socket = latest();
    socket.accept();
    room.subscribe('s', () => {});
    socket.receive({ type: 'init', key: 's', data: [{ value: 'v', seq: 7 }] });

    await vi.advanceTimersByTimeAsync(79_900);
    expect(calls.count).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    await settle();
    expect(calls.count).toBe(2);
    expect(authFrames(socket)).toEqual([second]);
    expect(FakeSocket.all).toEqual([socket]); // the same socket, not a reconnect
    socket.receive({ type: 'auth_ok', exp: inSeconds(300) });
    expect(room.status).toBe('open');

    // The next refresh: at 80% of what was left of the second token when it came (220 s at 80 s).
    await vi.advanceTimersByTimeAsync(175_900);
    expect(calls.count).toBe(2);
    await vi.advanceTimersByTimeAsync(100);
    await settle();
    expect(calls.count).toBe(3);
    expect(authFrames(socket)).toHaveLength(2);

    // A drop now: the next socket offers the latest token, and resumes from its checkpoint.
    socket.drop();
    await redial();
    expect(offered(latest())).toEqual(['edgeroom.v1', `auth.${jwt(inSeconds(1000), 3)}`]);
    latest().accept(7);
    expect(latest().frames('sub')).toEqual([{ type: 'sub', key: 's', seq: 7 }]);
  });

  it('schedules no refresh before the server answered, and none after close()', async () => {
    setNow();
    const { getToken, calls } = source(jwt(inSeconds(10)));
    const { room } = openWithToken(getToken);
    await settle();
    latest().open(); // accepted, not yet welcomed
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls.count).toBe(1);
    latest().receive({ type: 'welcome', protocol: 1, conn: 'c', client: 'me', seq: 0, limits: {}, peers: [] });
    room.close();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls.count).toBe(1);
  });

  it('waits at least 1 s to refresh a token the local clock already sees expired, and never fires early for a long one', async () => {
    setNow();
    const { getToken, calls } = source(jwt(inSeconds(-30)), jwt(inSeconds(100 * 86_400)), jwt(inSeconds(200 * 86_400)));
    openWithToken(getToken);
    await settle();
    latest().accept();
    await vi.advanceTimersByTimeAsync(999);
    expect(calls.count).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(calls.count).toBe(2);
    // 100 days is past setTimeout's 2^31-1 ms: clamped, not fired at once.
    await vi.advanceTimersByTimeAsync(86_400_000);
    expect(calls.count).toBe(2);
  });

  it('does not send a refreshed token that comes after its socket closed', async () => {
    setNow();
    let release: (token: string) => void = () => {};
    let calls = 0;
    const getToken: TokenSource = () =>
      calls++ === 0 ? jwt(inSeconds(10)) : new Promise<string>((r) => (release = r));
    openWithToken(getToken);
    await settle();
    const socket = latest();
    socket.accept();
    await vi.advanceTimersByTimeAsync(8000);
    expect(calls).toBe(2);
    socket.drop();
    release(jwt(inSeconds(100), 2));
    await settle();
    expect(socket.frames('auth')).toEqual([]);
    await redial();
    expect(latest().protocols?.at(-1)).toBe(`auth.${jwt(inSeconds(100), 2)}`);
  });

  it.each([
    ['token expired', CLOSE_CODES.tokenExpired],
    ['token revoked', CLOSE_CODES.tokenRevoked],
    ['unauthorized', CLOSE_CODES.unauthorized],
  ])('after close %s (%i), fetches a new token for the next socket and resumes', async (_, code) => {
    setNow();
    const { getToken, calls } = source(jwt(inSeconds(600), 1), jwt(inSeconds(600), 2));
    const { room, errors } = openWithToken(getToken);
    await settle();
    latest().accept();
    room.subscribe('s', () => {});
    latest().receive({ type: 'init', key: 's', data: [{ value: 'v', seq: 3 }] });
    latest().drop(code, 'Token expired');
    expect(room.status).toBe('reconnecting');
    await redial();
    expect(calls.count).toBe(2);
    expect(latest().protocols?.at(-1)).toBe(`auth.${jwt(inSeconds(600), 2)}`);
    latest().accept(3);
    expect(room.status).toBe('open');
    expect(latest().frames('sub')).toEqual([{ type: 'sub', key: 's', seq: 3 }]);
    expect(errors).toEqual([]);

    // Welcomed since: the same refusal later is again worth one new token.
    latest().drop(code);
    expect(room.status).toBe('reconnecting');
  });

  it("stops, instead of looping, when the new token is refused too (4100 twice), reporting the server's reason", async () => {
    setNow();
    const { getToken, calls } = source(jwt(inSeconds(600), 1), jwt(inSeconds(600), 2), jwt(inSeconds(600), 3));
    const { room, errors } = openWithToken(getToken);
    await settle();
    latest().open();
    latest().drop(CLOSE_CODES.unauthorized, 'Bad token signature');
    expect(room.status).toBe('reconnecting');
    await redial();
    latest().open();
    latest().drop(CLOSE_CODES.unauthorized, 'Bad token signature');
    expect(room.status).toBe('closed');
    expect(errors.map((e) => [e.code, e.message])).toEqual([['unauthorized', 'Bad token signature']]);
    expect(calls.count).toBe(2);
    expect(FakeSocket.all).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stops at once on 4103 (forbidden), with one token fetched', async () => {
    setNow();
    const { getToken, calls } = source(jwt(inSeconds(600)));
    const { room, errors } = openWithToken(getToken);
    await settle();
    latest().open();
    latest().drop(CLOSE_CODES.forbidden, 'Token is for another room');
    expect(room.status).toBe('closed');
    expect(errors.map((e) => [e.code, e.message])).toEqual([['forbidden', 'Token is for another room']]);
    expect(calls.count).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it.each([
    ['at the first dial', [null]],
    ['after a revocation', [jwt(inSeconds(600)), null]],
  ])('stops when getToken gives no token %s', async (_, tokens) => {
    setNow();
    const { getToken } = source(...tokens);
    const { room, errors } = openWithToken(getToken);
    await settle();
    if (tokens.length > 1) {
      latest().accept();
      latest().receive({ type: 'error', code: 'token_revoked', message: 'Token revoked' });
      latest().drop(CLOSE_CODES.tokenRevoked, 'Token revoked');
      expect(room.status).toBe('reconnecting');
      vi.advanceTimersToNextTimer(); // the dial, which asks for a token and gets none
      await settle();
    }
    expect(room.status).toBe('closed');
    expect(errors.map((e) => e.code).at(-1)).toBe('unauthorized');
    expect(FakeSocket.all).toHaveLength(tokens.length - 1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('treats a getToken that throws as a failed dial: retries with backoff, then connects', async () => {
    setNow();
    const { getToken, calls } = source(new Error('offline'), new Error('offline'), jwt(inSeconds(600)));
    const { room } = openWithToken(getToken);
    await settle();
    expect(room.status).toBe('reconnecting');
    expect(FakeSocket.all).toHaveLength(0);
    await vi.advanceTimersToNextTimerAsync();
    await settle();
    expect(calls.count).toBe(2);
    expect(room.status).toBe('reconnecting');
    await vi.advanceTimersToNextTimerAsync();
    await settle();
    expect(calls.count).toBe(3);
    latest().accept();
    expect(room.status).toBe('open');
  });

  it('asks again when a dial waiting for its token is given up (a getToken that hangs)', async () => {
    setNow();
    let calls = 0;
    const getToken: TokenSource = () => (calls++ === 0 ? new Promise<string>(() => {}) : jwt(inSeconds(600)));
    openRoom({ WebSocket: withToken(getToken, { WebSocket: FakeSocket }), heartbeat: 1000 });
    await vi.advanceTimersByTimeAsync(3500); // two silent heartbeats: the room drops the dial and retries
    await settle();
    expect(calls).toBe(2);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('makes no socket for a token that comes after close()', async () => {
    setNow();
    let release: (token: string) => void = () => {};
    const { room } = openWithToken(() => new Promise<string>((r) => (release = r)));
    await settle(); // getToken was called
    room.close();
    release(jwt(inSeconds(600)));
    await settle();
    expect(FakeSocket.all).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
