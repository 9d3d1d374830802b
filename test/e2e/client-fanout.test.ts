/**
 * Our client, unchanged, in a fanned-out room (docs/hot-rooms.md): publishing
 * and receiving across leaves, the resume contract (exactly once, or a
 * reset) through a leaf, and presence: every client's `peers` is the room.
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { droppableSockets, open, recorder, useServer } from './client-harness.ts';
import { waitFor } from './wait.ts';

describe('our client in a fanned-out room', () => {
  const server = useServer();

  const newFanoutRoom = async (leaves: number): Promise<string> => {
    const res = await fetch(`${server.url}/new`, { method: 'POST', body: JSON.stringify({ leaves }) });
    return ((await res.json()) as { socket_url: string }).socket_url;
  };

  it('lands on its leaf on every reconnect (early hello), so it replaces its own older socket there (4001)', async () => {
    const url = await newFanoutRoom(4);
    const secret = 'fanout-e2e-secret-0123456789';
    // The client's old socket, still open as far as the room knows (a half-open one), said hello
    // with the secret in its upgrade as the client does.
    const entry = `early.${encodeURIComponent(JSON.stringify([{ type: 'hello', protocol: 1, secret }]))}`;
    const old = new WebSocket(url, ['edgeroom.v1', entry]);
    const oldWelcome = await new Promise<{ conn: string }>((resolve, reject) => {
      old.once('message', (data) => resolve(JSON.parse(String(data))));
      old.once('error', reject);
    });
    // As our client does on open. (Through wrangler dev, a socket that never sent a frame sees the
    // room's close about 10 s late; in workerd itself, within milliseconds.)
    old.send('{"type":"ping"}');
    const closed = new Promise<number>((resolve) => old.once('close', resolve));
    const net = droppableSockets();
    const room = open(url, { WebSocket: net.WebSocket, secret });
    await waitFor(() => room.status === 'open', 10_000, 'the welcome');
    const leaf = oldWelcome.conn.split('.')[0];
    expect(room.conn!.split('.')[0]).toBe(leaf);
    // Each reconnect lands there again: with 4 leaves, 5 at random would all match 1 time in 1,024.
    for (let i = 0; i < 5; i++) {
      const before = room.conn;
      expect(net.drop()).toBe(true);
      await waitFor(() => room.status === 'open' && room.conn !== before, 10_000, 'the reconnect');
      expect(room.conn!.split('.')[0]).toBe(leaf);
    }
    expect(await closed).toBe(4001);
  });

  it('resumes through a leaf after a drop: what it missed once, then a reset after a compaction', async () => {
    const url = await newFanoutRoom(3);
    const net = droppableSockets();
    const reader = open(url, { WebSocket: net.WebSocket });
    const writers = [open(url), open(url)];
    const rec = recorder();
    reader.subscribe('c', rec.listener);
    await waitFor(() => reader.status === 'open', 10_000, 'reader open');
    const s1 = await writers[0]!.append('c', 'a');
    const s2 = await writers[1]!.append('c', 'b');
    await waitFor(() => rec.seqs().at(-1) === s2, 10_000, 'the reader to see b');

    net.setOffline(true);
    await waitFor(() => reader.status === 'reconnecting', 10_000, 'reader offline');
    const s3 = await writers[0]!.append('c', 'c');
    const s4 = await writers[1]!.append('c', 'd');
    net.setOffline(false);
    await waitFor(() => rec.seqs().at(-1) === s4, 10_000, 'the reader to catch up');
    expect(rec.summary()).toEqual([
      [s1, 'a'],
      [s2, 'b'],
      [s3, 'c'],
      [s4, 'd'],
    ]);

    net.setOffline(true);
    await waitFor(() => reader.status === 'reconnecting', 10_000, 'reader offline again');
    const s5 = await writers[0]!.append('c', 'e');
    expect(await writers[1]!.compact('c', s5, 'abcde')).toBe(s5);
    const s6 = await writers[0]!.append('c', 'f');
    net.setOffline(false);
    await waitFor(() => rec.seqs().at(-1) === s6, 10_000, 'the reader to catch up again');
    expect(rec.summary().slice(4)).toEqual(['reset', [s5, 'abcde'], [s6, 'f']]);
    expect(reader.get('c')).toBe('f');
  });

  it("every client's peers is the whole room but itself, across leaves, as members come, change and go", async () => {
    const url = await newFanoutRoom(3);
    const rooms = Array.from({ length: 6 }, (_, i) => open(url, { presence: { i } }));
    await waitFor(() => rooms.every((r) => r.status === 'open'), 10_000, 'all open');
    expect(new Set(rooms.map((r) => r.conn!.split('.')[0])).size).toBeGreaterThan(1);
    const agree = (members: typeof rooms, states: Map<string, unknown>) =>
      members.every((r) => {
        const others = [...states].filter(([conn]) => conn !== r.conn);
        return (
          r.peers.size === others.length &&
          others.every(([conn, state]) => JSON.stringify(r.peers.get(conn)?.state) === JSON.stringify(state))
        );
      });
    const states = new Map<string, unknown>(rooms.map((r, i) => [r.conn!, { i }]));
    await waitFor(() => agree(rooms, states), 10_000, 'every client to see the room');
    rooms[1]!.setPresence('away');
    states.set(rooms[1]!.conn!, 'away');
    rooms[4]!.close();
    states.delete(rooms[4]!.conn!);
    const staying = rooms.filter((_, i) => i !== 4);
    await waitFor(() => agree(staying, states), 10_000, 'every client to see the change and the leave');
  });
});
