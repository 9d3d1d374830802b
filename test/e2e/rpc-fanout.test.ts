/**
 * Calls between peers (edgeroom/rpc), unchanged, in a fanned-out room
 * (docs/hot-rooms.md): the dms they ride on cross leaves. There is no presence
 * there, so connection IDs come from the test itself.
 */
import { expect, it } from 'vitest';
import { NO_SUCH_CONNECTION, type RpcError, rpc } from '../../client/rpc.ts';
import { open, useServer } from './client-harness.ts';
import { LIMITS_OUT_OF_THE_WAY } from './server.ts';
import { waitFor } from './wait.ts';

const server = useServer(LIMITS_OUT_OF_THE_WAY);

it('calls methods on connections on any leaf, the server stamping the caller; an unknown one fails at once (-32001)', async () => {
  const res = await fetch(`${server.url}/new`, { method: 'POST', body: JSON.stringify({ leaves: 3 }) });
  const { socket_url: url } = (await res.json()) as { socket_url: string };
  const caller = open(url);
  const callees = [open(url), open(url), open(url)];
  await waitFor(() => [caller, ...callees].every((r) => r.status === 'open'), 10_000, 'all open');
  // Sockets land on leaves at random: open callees until one is on another leaf than the caller's.
  const leafOf = (conn: string | undefined) => conn?.split('.')[0];
  while (callees.every((c) => leafOf(c.conn) === leafOf(caller.conn)) && callees.length < 30) {
    const next = open(url);
    await waitFor(() => next.status === 'open', 10_000, 'one more open');
    callees.push(next);
  }
  expect(callees.some((c) => leafOf(c.conn) !== leafOf(caller.conn))).toBe(true);
  for (const callee of callees) {
    rpc(callee, { methods: { add: ({ x, y }: { x: number; y: number }) => x + y, whoami: (_p, { from }) => from } });
  }
  const peers = rpc(caller);
  for (const [i, callee] of callees.entries()) {
    expect(await peers.call(callee.conn!, 'add', { x: i, y: 40 })).toBe(40 + i);
    expect(await peers.call(callee.conn!, 'whoami')).toBe(caller.conn);
  }
  const started = Date.now();
  const error = await peers.call('1.AAAAAAAAAAAA', 'add', { x: 1, y: 1 }).then(
    () => undefined,
    (e: RpcError) => e,
  );
  expect(error?.code).toBe(NO_SUCH_CONNECTION);
  expect(Date.now() - started).toBeLessThan(5_000);
});
