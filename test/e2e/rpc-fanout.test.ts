/**
 * Calls between peers (edgeroom/rpc), unchanged, in a fanned-out room
 * (docs/hot-rooms.md): the dms they ride on cross leaves, and a callee that
 * leaves is seen go through presence, as in a room of one object.
 */
import { expect, it } from 'vitest';
import { NO_SUCH_CONNECTION, RECIPIENT_LEFT, type RpcError, rpc } from '../../client/rpc.ts';
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

it('fails with -32002 when a callee on another leaf closes mid-call, seen from presence', async () => {
  const res = await fetch(`${server.url}/new`, { method: 'POST', body: JSON.stringify({ leaves: 2 }) });
  const { socket_url: url } = (await res.json()) as { socket_url: string };
  const caller = open(url);
  await waitFor(() => caller.status === 'open', 10_000, 'the caller open');
  // Sockets land on leaves at random: open callees until one is on the other leaf.
  const leafOf = (conn: string | undefined) => conn?.split('.')[0];
  let callee = open(url);
  await waitFor(() => callee.status === 'open', 10_000, 'a callee open');
  for (let tries = 0; leafOf(callee.conn) === leafOf(caller.conn) && tries < 30; tries++) {
    callee.close();
    callee = open(url);
    await waitFor(() => callee.status === 'open', 10_000, 'another callee open');
  }
  expect(leafOf(callee.conn)).not.toBe(leafOf(caller.conn));
  // The caller finds the callee through presence, across leaves.
  await waitFor(() => caller.peers.has(callee.conn!), 10_000, 'the caller to see the callee');
  let called = false;
  rpc(callee, { methods: { hang: () => ((called = true), new Promise(() => {})) } });
  const pending = rpc(caller, { timeout: 30_000 })
    .call(callee.conn!, 'hang')
    .then(
      () => undefined,
      (e: RpcError) => e,
    );
  await waitFor(() => called, 10_000, 'the call to arrive');
  const started = Date.now();
  callee.close();
  const error = await pending;
  expect(error?.code).toBe(RECIPIENT_LEFT);
  expect(Date.now() - started).toBeLessThan(10_000);
});
