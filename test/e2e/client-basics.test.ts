/**
 * The client's everyday API against the real worker: addressing, status,
 * own echoes, tails, live-only subscriptions, relays, presence and direct messages.
 */
import { expect, it } from 'vitest';
import { createRoom, type PresenceEvent, type Status } from '../../client/index.ts';
import { droppableSockets, open, recorder, useServer } from './client-harness.ts';
import { waitFor } from './wait.ts';

const server = useServer();

it('opens a created room by its socket URL or by API base and room ID, and reports status changes', async () => {
  const created = await createRoom(`${server.url}/`);
  expect(created.socket_url).toBe(`${server.url.replace('http', 'ws')}/room/${created.room}/connect`);
  const byUrl = open(created.socket_url);
  const byId = open({ base: server.url, room: created.room });
  const statuses: Status[] = [];
  byId.on('status', (status) => statuses.push(status));
  const rec = recorder();
  byUrl.subscribe('hello', rec.listener);
  await waitFor(() => byUrl.status === 'open' && byId.status === 'open', 10_000, 'both open');
  const seq = await byId.set('hello', 'world');
  await waitFor(() => rec.seqs().includes(seq), 10_000, 'the value');
  expect(byUrl.get('hello')).toBe('world');
  byId.close();
  expect(statuses).toEqual(['open', 'closed']);
});

it('marks its own echo, resolves publishes with increasing seqs, and serves tails and live-only subscriptions', async () => {
  const { socket_url: url } = await createRoom(server.url);
  const me = open(url);
  const other = open(url);
  await waitFor(() => me.status === 'open' && other.status === 'open', 10_000, 'both open');
  const seqs: number[] = [];
  for (let i = 1; i <= 6; i++) seqs.push(await (i % 2 ? me : other).append('chat', `m${i}`));
  expect(seqs).toEqual(seqs.toSorted((a, b) => a - b));

  const tail = recorder();
  const live = recorder();
  // The server reads one socket's frames in order: once the tail's replay is
  // here, the live-only subscription sent before it is active too.
  me.subscribe('chat', live.listener, { replay: false });
  me.subscribe('chat', tail.listener, { last: 2 });
  await waitFor(() => tail.seqs().length === 2, 10_000, 'the tail');
  const last = await other.append('chat', 'm7');
  await waitFor(() => tail.seqs().includes(last) && live.seqs().includes(last), 10_000, 'm7');
  expect(tail.summary()).toEqual([
    [seqs[4], 'm5'],
    [seqs[5], 'm6'],
    [last, 'm7'],
  ]);
  expect(live.summary()).toEqual([[last, 'm7']]);
  const own = await me.append('chat', 'm8');
  await waitFor(() => live.seqs().includes(own), 10_000, 'm8');
  expect(live.events.map((e) => e.type === 'message' && e.own)).toEqual([false, true]);
});

it('delivers relays to present subscribers only: relays sent while a reader is offline are not replayed', async () => {
  const { socket_url: url } = await createRoom(server.url);
  const net = droppableSockets();
  const reader = open(url, { WebSocket: net.WebSocket });
  const writer = open(url);
  const rec = recorder();
  reader.subscribe('cursor', rec.listener);
  await waitFor(() => reader.status === 'open' && writer.status === 'open', 10_000, 'both open');
  const r1 = await writer.publish('cursor', 1);
  await waitFor(() => rec.seqs().includes(r1), 10_000, 'the first relay');
  net.setOffline(true);
  await waitFor(() => reader.status === 'reconnecting', 10_000, 'reader offline');
  await writer.publish('cursor', 2);
  net.setOffline(false);
  await waitFor(() => reader.status === 'open', 10_000, 'reader back');
  const r3 = await writer.publish('cursor', 3);
  await waitFor(() => rec.seqs().includes(r3), 10_000, 'the third relay');
  expect(rec.summary()).toEqual([
    [r1, 1],
    [r3, 3],
  ]);
});

it('shares presence, announces joins, updates and leaves, and carries direct messages between connections', async () => {
  const { socket_url: url } = await createRoom(server.url);
  const ann = open(url, { presence: { name: 'Ann' } });
  const annEvents: PresenceEvent[] = [];
  ann.on('presence', (event) => annEvents.push(event));
  await waitFor(() => ann.status === 'open', 10_000, 'ann open');
  const bob = open(url, { presence: { name: 'Bob' } });
  await waitFor(() => bob.status === 'open' && ann.peers.size === 1, 10_000, 'bob joins');
  // Peers see the client ID the server derived from ann's secret, never the secret.
  expect(ann.clientId).toMatch(/^[\w-]{16,}$/);
  expect([...bob.peers.values()]).toEqual([{ conn: ann.conn, client: ann.clientId, state: { name: 'Ann' } }]);

  bob.setPresence({ name: 'Bob', typing: true });
  await waitFor(() => (ann.peers.get(bob.conn!)?.state as { typing?: boolean })?.typing === true, 10_000, 'the update');

  const inbox: unknown[] = [];
  ann.on('dm', (message) => inbox.push(message));
  bob.dm(ann.conn!, { offer: 'sdp' });
  await waitFor(() => inbox.length === 1, 10_000, 'the direct message');
  expect(inbox).toEqual([{ type: 'dm', from: bob.conn, value: { offer: 'sdp' } }]);

  bob.close();
  await waitFor(() => ann.peers.size === 0, 10_000, 'bob leaves');
  expect(annEvents.map((e) => e.event)).toEqual(['sync', 'join', 'update', 'leave']);
});
