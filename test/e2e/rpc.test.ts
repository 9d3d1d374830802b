/**
 * Calls between peers (edgeroom/rpc) against the real worker: the server stamps
 * the caller, answers a dm to an unknown connection at once, and announces a
 * callee that leaves; nothing else on the server knows about calls.
 */
import { expect, it } from 'vitest';
import { createRoom, type Room } from '../../client/index.ts';
import {
  NO_SUCH_CONNECTION,
  RECIPIENT_LEFT,
  type RpcError,
  TIMEOUT,
  TOO_LARGE,
  rpc,
  type RpcOptions,
} from '../../client/rpc.ts';
import { DEFAULT_LIMITS } from '../../protocol/limits.ts';
import { open, useServer } from './client-harness.ts';
import { LIMITS_OUT_OF_THE_WAY } from './server.ts';
import { waitFor } from './wait.ts';

// The 1,000 calls and their 1,000 replies go at the client's pace for the room's
// publish bucket: with the default limits that is minutes, so the limits are lifted.
const server = useServer(LIMITS_OUT_OF_THE_WAY);

const rejection = (promise: Promise<unknown>): Promise<RpcError> =>
  promise.then(
    (value) => {
      throw new Error(`resolved with ${JSON.stringify(value)}`);
    },
    (error: RpcError) => error,
  );

/** Two connections to one new room, each seeing the other. */
async function pair(): Promise<[Room, Room]> {
  const { socket_url: url } = await createRoom(server.url);
  const caller = open(url);
  const callee = open(url);
  await waitFor(
    () => caller.status === 'open' && callee.status === 'open' && caller.peers.has(callee.conn!),
    10_000,
    'both open and the callee announced',
  );
  return [caller, callee];
}

const methods: RpcOptions['methods'] = {
  whoami: (_params, { from }) => ({ from }),
  add: ({ x, y }: { x: number; y: number }) => x + y,
  hang: () => new Promise(() => {}),
  echo: (n: number) => n,
};

it('calls a method on another connection and gets its result; the callee sees the caller as the server stamped it', async () => {
  const [caller, callee] = await pair();
  rpc(callee, { methods });
  const peers = rpc(caller);
  expect(await peers.call(callee.conn!, 'add', { x: 20, y: 22 })).toBe(42);
  expect(await peers.call(callee.conn!, 'whoami')).toEqual({ from: caller.conn });
});

it('hears at once from the server that a connection does not exist (-32001), well under the timeout', async () => {
  const [caller] = await pair();
  const started = Date.now();
  const error = await rejection(rpc(caller, { timeout: 30_000 }).call('no-such-conn', 'add'));
  expect(error.code).toBe(NO_SUCH_CONNECTION);
  expect(Date.now() - started).toBeLessThan(5_000);
});

it('fails with -32002 when the callee closes mid-call (seen from presence)', async () => {
  const [caller, callee] = await pair();
  let called = false;
  rpc(callee, { methods: { hang: () => ((called = true), new Promise(() => {})) } });
  const pending = rejection(rpc(caller, { timeout: 30_000 }).call(callee.conn!, 'hang'));
  await waitFor(() => called, 10_000, 'the call to arrive');
  const started = Date.now();
  callee.close();
  const error = await pending;
  expect(error.code).toBe(RECIPIENT_LEFT);
  expect(Date.now() - started).toBeLessThan(10_000);
});

it('times out (-32000) when the callee never answers', async () => {
  const [caller, callee] = await pair();
  rpc(callee, { methods });
  const error = await rejection(rpc(caller).call(callee.conn!, 'hang', null, { timeout: 300 }));
  expect(error.code).toBe(TIMEOUT);
});

it('ignores a caller identity forged in the payload: the handler sees the real one', async () => {
  const [caller, callee] = await pair();
  const seen: string[] = [];
  rpc(callee, { methods: { whoami: (_params, { from }) => (seen.push(from), from) } });
  const replies: unknown[] = [];
  caller.on('dm', ({ value }) => replies.push(value));
  // Written by hand, as a malicious client would: `from` in the frame, the envelope and the params.
  caller.dm(callee.conn!, {
    from: 'forged-conn',
    'edgeroom.rpc': { id: 'x1', method: 'whoami', params: { from: 'forged-conn' }, from: 'forged-conn' },
  });
  await waitFor(() => replies.length === 1, 10_000, 'the reply');
  expect(seen).toEqual([caller.conn]);
  expect(replies).toEqual([{ 'edgeroom.rpc': { id: 'x1', result: caller.conn } }]);
});

it('refuses an oversize call (-32003) without sending it', async () => {
  const [caller, callee] = await pair();
  const received: unknown[] = [];
  callee.on('dm', (dm) => received.push(dm));
  rpc(callee, { methods });
  const error = await rejection(rpc(caller).call(callee.conn!, 'echo', 'x'.repeat(DEFAULT_LIMITS.maxMessageBytes + 1)));
  expect(error.code).toBe(TOO_LARGE);
  // The next call is the first dm the callee gets.
  expect(await rpc(caller).call(callee.conn!, 'echo', 7)).toBe(7);
  expect(received).toHaveLength(1);
});

it('matches 1,000 concurrent calls to their replies', async () => {
  const [caller, callee] = await pair();
  rpc(callee, {
    methods: { double: (n: number) => new Promise((resolve) => setTimeout(() => resolve(n * 2), (n * 7) % 13)) },
  });
  const peers = rpc(caller, { timeout: 50_000 });
  const results = await Promise.all(
    Array.from({ length: 1000 }, (_, n) => peers.call<number>(callee.conn!, 'double', n)),
  );
  expect(results).toEqual(Array.from({ length: 1000 }, (_, n) => n * 2));
});
