// A slow consumer in the real worker: our client on a real `ws` socket whose reading is
// paused (`ws._socket.pause()`), while a publisher appends values of 1 KiB. The room
// closes it with 4291 within a bound (here maxSocketBacklogBytes 256 KiB, slowConsumerSeconds
// 1 s), the other subscribers (our client, acking) receive everything and are never closed,
// and once the paused one reads again it reconnects and resumes with nothing lost.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Room, Status } from '../../client/index.ts';
import { closeAll, droppableSockets, open, recorder } from './client-harness.ts';
import { waitFor } from './wait.ts';
import { LIMITS_OUT_OF_THE_WAY, startServer, type TestServer } from './server.ts';

const BOUND = 256 * 1024;
const VALUES = 1500; // about 1.5 MiB: six times the bound, past the hard cap of four
let server: TestServer;

beforeAll(async () => {
  server = await startServer({
    ...LIMITS_OUT_OF_THE_WAY,
    MAX_SOCKET_BACKLOG_BYTES: String(BOUND),
    SLOW_CONSUMER_SECONDS: '1',
    HALF_OPEN_SECONDS: '3600',
  });
});
afterAll(async () => {
  closeAll();
  await server?.stop();
});

/** A publisher on a raw socket: appends 100 values, then waits for a pong, so it goes as fast as the room takes them. */
async function publisher(url: string) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let nonce = 0;
  const roundTrip = () =>
    new Promise<void>((resolve, reject) => {
      const mine = ++nonce;
      const timer = setTimeout(() => reject(new Error(`no pong ${mine} within 10 s`)), 10_000);
      const onMessage = (data: Buffer) => {
        if (!data.includes(`"nonce":${mine}}`)) return;
        clearTimeout(timer);
        ws.off('message', onMessage);
        resolve();
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ type: 'ping', nonce: mine }));
    });
  return {
    async append(from: number, to: number) {
      for (let i = from; i < to; i++) {
        // Random base64: values that do not compress.
        const value = { i, p: randomBytes(768).toString('base64') };
        ws.send(JSON.stringify({ type: 'push', key: 'feed', value, action: { type: 'append' } }));
        if ((i + 1) % 100 === 0 || i + 1 === to) await roundTrip();
      }
    },
    close: () => ws.terminate(),
  };
}

function statuses(room: Room): Status[] {
  const seen: Status[] = [room.status];
  room.on('status', (s) => seen.push(s));
  return seen;
}

describe('a slow consumer', () => {
  it('is closed with 4291 within a bound while the others receive everything; it then resumes with nothing lost', async () => {
    const { socket_url: url } = (await (await fetch(`${server.url}/new`, { method: 'POST' })).json()) as {
      socket_url: string;
    };
    const readers = [recorder<{ i: number }>(), recorder<{ i: number }>()];
    const readerRooms = readers.map((r) => {
      const room = open(url);
      room.subscribe('feed', r.listener);
      return room;
    });
    const readerStatuses = readerRooms.map(statuses);
    const slow = recorder<{ i: number }>();
    const sockets = droppableSockets();
    // A long heartbeat: our client would otherwise give up on a socket it has not heard from in 20 s.
    const slowRoom = open(url, { WebSocket: sockets.WebSocket, heartbeat: 60_000 });
    slowRoom.subscribe('feed', slow.listener);
    const slowStatuses = statuses(slowRoom);
    await waitFor(() => [...readerRooms, slowRoom].every((r) => r.status === 'open'), 10_000, 'every client open');

    const pub = await publisher(url);
    await pub.append(0, 1);
    await waitFor(() => [...readers, slow].every((r) => r.seqs().length === 1), 10_000, 'the first value everywhere');

    const paused = sockets.sockets.at(-1)!;
    let closedWith: number | undefined;
    paused.once('close', (code) => (closedWith = code));
    const pausedConn = slowRoom.conn;
    let leftAfter: number | undefined;
    const pausedAt = Date.now();
    readerRooms[0]!.on('presence', (e) => {
      if (e.event === 'leave' && e.peer.conn === pausedConn) leftAfter ??= Date.now() - pausedAt;
    });
    (paused as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

    await pub.append(1, VALUES);
    // The room closed it (it left presence) while it could not read: at the hard cap, or after its grace.
    await waitFor(() => leftAfter !== undefined, 15_000, 'the paused socket to leave presence');
    expect(leftAfter).toBeLessThan(15_000);
    expect(closedWith).toBeUndefined(); // it has not read its close yet

    const all = Array.from({ length: VALUES }, (_, i) => i);
    for (const r of readers) {
      await waitFor(() => r.seqs().length >= VALUES, 30_000, 'a reader to get every value');
      expect(r.events.flatMap((e) => (e.type === 'message' ? [e.value.i] : []))).toEqual(all);
    }
    // The readers ack as they read: never closed.
    for (const seen of readerStatuses) expect(seen).toEqual(['connecting', 'open']);

    // It reads again: what was sent before the close, then 4291, then a resume from its checkpoint.
    (paused as unknown as { _socket: { resume(): void } })._socket.resume();
    await waitFor(() => closedWith !== undefined, 15_000, 'the paused socket to read its close');
    expect(closedWith).toBe(4291);
    await waitFor(() => slow.seqs().length >= VALUES, 30_000, 'the slow client to catch up');
    expect(slow.events.flatMap((e) => (e.type === 'message' ? [e.value.i] : []))).toEqual(all);
    expect(slowStatuses).toEqual(['connecting', 'open', 'reconnecting', 'open']);
    pub.close();
  }, 90_000);
});
