/**
 * The client within the server's abuse limits, against the real worker with
 * its default limits: it paces a burst of publishes so the server never has to
 * refuse one, and two connections to one room from one process keep distinct
 * identities whatever URL they came through.
 */
import { expect, it } from 'vitest';
import WebSocket from 'ws';
import { createRoom, type RoomError, type Status } from '../../client/index.ts';
import { open, recorder, useServer } from './client-harness.ts';
import { waitFor } from './wait.ts';

const server = useServer();

/** A `ws` constructor that counts the sockets it makes and the rate_limited frames they receive. */
function watchedSockets() {
  const seen = { sockets: 0, refusals: 0 };
  class Watched extends WebSocket {
    constructor(url: string, protocols?: string[]) {
      super(url, protocols);
      seen.sockets++;
      this.on('message', (data) => void (seen.refusals += String(data).split('"rate_limited"').length - 1));
    }
  }
  return { WebSocket: Watched, seen };
}

it('paces 300 appends made at once: all acknowledged, each stored once, in order, and none refused', async () => {
  const { socket_url: url } = await createRoom(server.url);
  const net = watchedSockets();
  const writer = open(url, { WebSocket: net.WebSocket });
  const errors: RoomError[] = [];
  writer.on('error', (error) => errors.push(error));
  await waitFor(() => writer.status === 'open', 10_000, 'writer open');

  const count = 300; // 99 at once, then 50/s by the default limits: about 4 s
  const seqs = await Promise.all(Array.from({ length: count }, (_, i) => writer.append('burst', i)));
  expect(seqs).toEqual(seqs.toSorted((a, b) => a - b));
  expect(new Set(seqs).size).toBe(count);
  expect(errors).toEqual([]);
  expect(net.seen.refusals).toBe(0); // it paced itself: the server never refused a publish
  expect(net.seen.sockets).toBe(1);

  const reader = open(url);
  const stored = recorder<number>();
  reader.subscribe('burst', stored.listener);
  await waitFor(() => stored.seqs().length >= count, 10_000, 'the replay of every append');
  expect(stored.events.map((event) => event.type === 'message' && event.value)).toEqual(
    Array.from({ length: count }, (_, i) => i),
  );
  expect(stored.seqs()).toEqual(seqs);
}, 30_000);

it('keeps two connections to one room open when they reach it through 127.0.0.1, localhost, or base and ID', async () => {
  const { room: id } = await createRoom(server.url);
  const addresses = [
    `ws://127.0.0.1:${server.port}/room/${id}/connect`,
    `ws://localhost:${server.port}/room/${id}/connect`,
    { base: server.url, room: id },
  ];
  const nets = addresses.map(() => watchedSockets());
  const statuses: Status[][] = addresses.map(() => []);
  const rooms = addresses.map((address, i) => {
    const room = open(address, { WebSocket: nets[i]!.WebSocket });
    room.on('status', (status) => statuses[i]!.push(status));
    return room;
  });
  // Each sees the other two: by then a 4001 for a shared secret would have closed one.
  await waitFor(
    () => rooms.every((room) => room.status === 'open' && room.peers.size === 2),
    10_000,
    'all three open, seeing each other',
  );
  const seq = await rooms[1]!.append('log', 'from localhost');
  const rec = recorder();
  rooms[0]!.subscribe('log', rec.listener);
  await waitFor(() => rec.seqs().includes(seq), 10_000, 'the append, read through 127.0.0.1');
  expect(rec.events[0]).toMatchObject({ value: 'from localhost', own: false });
  expect(new Set(rooms.map((room) => room.clientId)).size).toBe(3);
  expect(statuses).toEqual([['open'], ['open'], ['open']]);
  expect(nets.map((net) => net.seen.sockets)).toEqual([1, 1, 1]);
});
