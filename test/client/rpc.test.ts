// Calls between peers over direct messages: replies matched by ID and by the
// callee, errors from handlers, from the server (through the core's error IDs),
// from presence, from our own socket and from the clock. Against the real
// worker: test/e2e/rpc.test.ts.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  INTERNAL_ERROR,
  FORBIDDEN,
  INVALID_PARAMS,
  METHOD_NOT_FOUND,
  NO_SUCH_CONNECTION,
  RATE_LIMITED,
  RECIPIENT_LEFT,
  RpcError,
  TIMEOUT,
  TOO_LARGE,
  rpc,
  type RpcOptions,
} from '../../client/rpc.ts';
import { DEFAULT_LIMITS } from '../../protocol/limits.ts';
import { signaling } from '../../client/signaling.ts';
import { FakeNetwork, FakePeerConnection, settle, type FakeRoom } from './fake-rtc.ts';
import { FakeSocket, latest, openRoom, redial, useFakeSockets } from './fake-socket.ts';

const KEY = 'edgeroom.rpc';
/** The error a promise rejects with, or a failure if it resolves. */
const rejection = (promise: Promise<unknown>): Promise<RpcError> =>
  promise.then(
    (value) => {
      throw new Error(`resolved with ${JSON.stringify(value)}`);
    },
    (error: RpcError) => error,
  );

describe('rpc over a fake network', () => {
  let net: FakeNetwork;
  let a: FakeRoom;
  let b: FakeRoom;
  const started: { close(): void }[] = [];
  const start = (room: FakeRoom, options?: RpcOptions) => {
    const peer = rpc(room.asRoom(), options);
    started.push(peer);
    return peer;
  };
  beforeEach(() => {
    net = new FakeNetwork();
    a = net.room('conn-a');
    b = net.room('conn-b');
    net.meet();
  });
  afterEach(() => {
    for (const peer of started.splice(0)) peer.close();
  });

  it('calls a method on another connection and gets its result; the handler sees the caller as the server stamped it', async () => {
    const seen: unknown[] = [];
    start(b, {
      methods: {
        add: ({ x, y }: { x: number; y: number }, { from }) => (seen.push(from), x + y),
        later: async () => 'done',
      },
    });
    const caller = start(a);
    expect(await caller.call<number>('conn-b', 'add', { x: 2, y: 3 })).toBe(5);
    expect(await caller.call('conn-b', 'later')).toBe('done');
    expect(seen).toEqual(['conn-a']);
    expect(a.sent[0]).toEqual({
      to: 'conn-b',
      value: { [KEY]: { id: expect.any(String), method: 'add', params: { x: 2, y: 3 } } },
    });
  });

  it('answers an unknown method with -32601, a refused parameter with -32602, any other exception with -32603', async () => {
    start(b, {
      methods: {
        strict(params: unknown) {
          if (typeof params !== 'number')
            throw new RpcError(INVALID_PARAMS, 'A number, please', { got: typeof params });
          return params;
        },
        broken() {
          throw new Error('secret internals');
        },
      },
    });
    const caller = start(a);
    const missing = await rejection(caller.call('conn-b', 'nope'));
    expect([missing.code, missing.message]).toEqual([METHOD_NOT_FOUND, 'Method not found: nope']);
    // Not a method either: what every object inherits.
    expect((await rejection(caller.call('conn-b', 'toString'))).code).toBe(METHOD_NOT_FOUND);
    const invalid = await rejection(caller.call('conn-b', 'strict', 'x'));
    expect(invalid).toBeInstanceOf(RpcError);
    expect([invalid.code, invalid.message, invalid.data]).toEqual([
      INVALID_PARAMS,
      'A number, please',
      { got: 'string' },
    ]);
    const internal = await rejection(caller.call('conn-b', 'broken'));
    expect([internal.code, internal.message]).toEqual([INTERNAL_ERROR, 'Internal error']);
  });

  it('delivers a notification to the method and sends no reply', async () => {
    const notes: unknown[] = [];
    start(b, { methods: { note: (params, { from }) => notes.push([params, from]) } });
    start(a).notify('conn-b', 'note', 'hi');
    start(b).notify('conn-a', 'unknown-method'); // no reply, no error either
    await settle(() => notes.length === 1);
    await settle(() => false, 5).catch(() => {}); // a few more turns: nothing else arrives
    expect(notes).toEqual([['hi', 'conn-a']]);
    expect(b.sent).toEqual([{ to: 'conn-a', value: { [KEY]: { method: 'unknown-method' } } }]);
    expect(a.sent).toEqual([{ to: 'conn-b', value: { [KEY]: { method: 'note', params: 'hi' } } }]);
  });

  it('times out (-32000) when no reply comes, by the default or the per-call timeout', async () => {
    start(b, { methods: { hang: () => new Promise(() => {}) } });
    const caller = start(a, { timeout: 30 });
    const started = Date.now();
    const error = await rejection(caller.call('conn-b', 'hang'));
    expect([error.code, error.message]).toEqual([TIMEOUT, 'Timed out']);
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await rejection(start(a, { timeout: 60_000 }).call('conn-b', 'hang', null, { timeout: 10 }))).code).toBe(
      TIMEOUT,
    );
  });

  it('ignores a reply from any connection other than the callee', async () => {
    const c = net.room('conn-c');
    net.meet();
    start(b, { methods: { slow: () => new Promise((resolve) => setTimeout(() => resolve('real'), 20)) } });
    const caller = start(a);
    const result = caller.call('conn-b', 'slow');
    const { id } = (a.sent[0]!.value as Record<string, { id: string }>)[KEY]!;
    c.dm('conn-a', { [KEY]: { id, result: 'forged' } });
    expect(await result).toBe('real');
  });

  it('fails at once with -32001 when the server knows no such connection', async () => {
    const error = await rejection(start(a).call('conn-gone', 'x'));
    expect([error.code, error.message]).toEqual([NO_SUCH_CONNECTION, 'No connection conn-gone']);
  });

  it('fails with -32002 when the callee leaves mid-call, and leaves calls to others alone', async () => {
    const c = net.room('conn-c');
    net.meet();
    start(b, { methods: { hang: () => new Promise(() => {}) } });
    start(c, { methods: { slow: () => new Promise((resolve) => setTimeout(() => resolve('c'), 20)) } });
    const caller = start(a);
    const toB = rejection(caller.call('conn-b', 'hang'));
    const toC = caller.call('conn-c', 'slow');
    await settle(() => b.sent.length === 0 && a.sent.length === 2);
    net.leave('conn-b');
    expect((await toB).code).toBe(RECIPIENT_LEFT);
    expect(await toC).toBe('c');
  });

  it('rejects pending calls with -32002 on close()', async () => {
    start(b, { methods: { hang: () => new Promise(() => {}) } });
    const caller = start(a);
    const pending = rejection(caller.call('conn-b', 'hang'));
    caller.close();
    expect((await pending).code).toBe(RECIPIENT_LEFT);
    // After close(), nothing would hear a reply: a new call fails at once and sends nothing.
    const sent = a.sent.length;
    const late = await rejection(caller.call('conn-b', 'hang'));
    expect([late.code, late.message]).toEqual([RECIPIENT_LEFT, 'Closed']);
    expect(a.sent.length).toBe(sent);
  });

  it('shares a room with the signaling helper: each takes only its own direct messages', async () => {
    const Fake = FakePeerConnection as unknown as typeof RTCPeerConnection;
    const rtcs = [a, b].map((room) => signaling(room.asRoom(), { RTCPeerConnection: Fake }));
    start(b, { methods: { whoami: (_params, { from }) => from } });
    const caller = start(a);
    expect(await caller.call('conn-b', 'whoami')).toBe('conn-a');
    const pcs = rtcs.map((rtc) => rtc.calls.values().next().value?.pc as unknown as FakePeerConnection | undefined);
    await settle(() => pcs.every((pc) => pc?.signalingState === 'stable' && pc.remoteDescription !== null));
    expect(await caller.call('conn-b', 'whoami')).toBe('conn-a');
    for (const rtc of rtcs) rtc.close();
  });

  it('matches 1,000 concurrent calls to their replies', async () => {
    start(b, {
      methods: { echo: (n: number) => new Promise((resolve) => setTimeout(() => resolve(n * 2), (n * 7) % 13)) },
    });
    const caller = start(a);
    const calls = Array.from({ length: 1000 }, (_, n) => caller.call<number>('conn-b', 'echo', n));
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 1000 }, (_, n) => n * 2));
  });
});

describe('rpc on the real client core', () => {
  useFakeSockets();

  /** The envelope of each rpc dm sent on the latest socket. */
  const sentCalls = () =>
    latest()
      .frames('dm')
      .map((frame) => ({ dm: frame.id as string, ...(frame.value as Record<string, { id: string }>)[KEY]! }));

  it('fails with -32002 when our own socket drops: calls do not survive reconnects', async () => {
    const room = openRoom();
    latest().accept();
    const caller = rpc(room);
    const pending = rejection(caller.call('c9', 'x'));
    vi.advanceTimersByTime(100);
    expect(sentCalls()).toHaveLength(1);
    latest().drop();
    expect((await pending).code).toBe(RECIPIENT_LEFT);
    redial().accept();
    // A late reply to the old call changes nothing, and a call made while reconnecting fails at once.
    latest().drop();
    expect((await rejection(caller.call('c9', 'x'))).code).toBe(RECIPIENT_LEFT);
    caller.close();
  });

  it("maps the server's error about the call's dm, found by its ID, and an oversize call", async () => {
    const room = openRoom();
    latest().accept(0, { limits: { ...DEFAULT_LIMITS, maxMessageBytes: 200 } });
    const caller = rpc(room);
    const first = rejection(caller.call('c9', 'x'));
    const second = caller.call('c8', 'y');
    vi.advanceTimersByTime(100);
    const [one, two] = sentCalls();
    latest().receive({ type: 'error', code: 'no_such_connection', message: 'No connection c9', id: one!.dm });
    expect((await first).code).toBe(NO_SUCH_CONNECTION);
    latest().receive({ type: 'dm', from: 'c8', value: { [KEY]: { id: two!.id, result: 'fine' } } });
    expect(await second).toBe('fine');
    const big = await rejection(caller.call('c9', 'x', 'y'.repeat(300)));
    expect(big.code).toBe(TOO_LARGE);
    for (const [code, expected] of [
      ['rate_limited', RATE_LIMITED],
      ['forbidden', FORBIDDEN],
    ] as const) {
      const refused = rejection(caller.call('c7', 'x'));
      vi.advanceTimersByTime(1000);
      latest().receive({ type: 'error', code, message: code, id: sentCalls().at(-1)!.dm });
      expect((await refused).code).toBe(expected);
    }
    // An error about no call of ours (a subscription refused, say) leaves the calls alone.
    const still = caller.call('c7', 'x');
    vi.advanceTimersByTime(1000);
    latest().receive({ type: 'error', code: 'forbidden', message: 'no', key: 's' });
    latest().receive({ type: 'dm', from: 'c7', value: { [KEY]: { id: sentCalls().at(-1)!.id, result: 2 } } });
    expect(await still).toBe(2);
    caller.close();
  });

  it('ignores a reply to a call whose dm ID is unknown to it, and sends no frames of its own', () => {
    const room = openRoom();
    latest().accept();
    const caller = rpc(room);
    latest().receive({ type: 'dm', from: 'c9', value: { [KEY]: { id: 'nope', result: 1 } } });
    expect(FakeSocket.all).toHaveLength(1);
    expect(latest().frames('dm')).toEqual([]);
    caller.close();
  });
});
