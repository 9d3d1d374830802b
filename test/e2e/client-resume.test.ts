/**
 * The resume contract against the real worker: resent publishes are applied
 * once, and a checkpoint the room can no longer replay from (compacted or
 * wiped) produces a reset followed by the current state.
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createRoom } from '../../client/index.ts';
import { droppableSockets, open, recorder, useServer } from './client-harness.ts';
import { waitFor } from './wait.ts';

/** A raw socket that collects parsed messages, one by one out of any batch (a JSON array frame). */
async function rawSocket(url: string) {
  const ws = new WebSocket(url);
  const frames: Record<string, unknown>[] = [];
  ws.on('message', (data) => frames.push(...[JSON.parse(String(data))].flat()));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return { ws, frames, send: (frame: object) => ws.send(JSON.stringify(frame)) };
}

describe('with the default retention', () => {
  const server = useServer();

  it('applies a push resent with the same ID once: one ack, one duplicate ack with the same seq, one stored entry', async () => {
    const { socket_url: url } = await createRoom(server.url);
    const raw = await rawSocket(url);
    raw.send({ type: 'hello', protocol: 1, secret: 'dup-tester-secret-1' });
    const push = { type: 'push', key: 'd', value: 'once', action: { type: 'append' }, id: 'msg-1' };
    raw.send(push);
    raw.send(push);
    await waitFor(() => raw.frames.filter((f) => f.type === 'ack').length === 2, 10_000, 'two acks');
    const acks = raw.frames.filter((f) => f.type === 'ack');
    const seq = acks[0]!.seq as number;
    expect(acks).toEqual([
      { type: 'ack', id: 'msg-1', seq },
      { type: 'ack', id: 'msg-1', seq, duplicate: true },
    ]);
    raw.ws.close();

    const reader = open(url);
    const rec = recorder();
    reader.subscribe('d', rec.listener);
    await waitFor(() => reader.status === 'open', 10_000, 'reader open');
    await waitFor(() => rec.events.length > 0, 10_000, 'the replay');
    expect(rec.summary()).toEqual([[seq, 'once']]);
  });

  it('resolves a publish whose ack was lost with its original seq, after resending it on a new socket', async () => {
    const { socket_url: url } = await createRoom(server.url);
    let swallowAcks = true;
    const sockets: WebSocket[] = [];
    // Hides the first ack from the client and cuts the socket, as if the network died right after the server applied it.
    class AckEater extends WebSocket {
      constructor(address: string, protocols?: string[]) {
        super(address, protocols);
        sockets.push(this);
      }
      override emit(event: string | symbol, ...args: unknown[]): boolean {
        if (event === 'message' && swallowAcks && String(args[0]).includes('"type":"ack"')) {
          swallowAcks = false;
          this.terminate();
          return true;
        }
        return super.emit(event, ...args);
      }
    }
    const room = open(url, { WebSocket: AckEater });
    await waitFor(() => room.status === 'open', 10_000, 'open');
    const seq = await room.append('log', 'entry');
    expect(sockets.length).toBe(2);

    const rec = recorder();
    room.subscribe('log', rec.listener);
    await waitFor(() => rec.events.length > 0, 10_000, 'the replay');
    expect(rec.summary()).toEqual([[seq, 'entry']]);
  });

  it('reports a reset, then the current state, when the checkpoint was compacted away', async () => {
    const { socket_url: url } = await createRoom(server.url);
    const net = droppableSockets();
    const reader = open(url, { WebSocket: net.WebSocket });
    const writer = open(url);
    const rec = recorder();
    reader.subscribe('c', rec.listener);
    await waitFor(() => reader.status === 'open', 10_000, 'reader open');
    const s1 = await writer.append('c', 'a');
    const s2 = await writer.append('c', 'b');
    await waitFor(() => rec.seqs().at(-1) === s2, 10_000, 'the reader to see b');

    net.setOffline(true);
    await waitFor(() => reader.status === 'reconnecting', 10_000, 'reader offline');
    const s3 = await writer.append('c', 'c');
    const s4 = await writer.append('c', 'd');
    expect(await writer.compact('c', s3, 'abc')).toBe(s3);
    const s5 = await writer.append('c', 'e');
    net.setOffline(false);

    await waitFor(() => rec.seqs().at(-1) === s5, 10_000, 'the reader to catch up');
    expect(rec.summary()).toEqual([[s1, 'a'], [s2, 'b'], 'reset', [s3, 'abc'], [s4, 'd'], [s5, 'e']]);
    expect(reader.get('c')).toBe('e');
  });

  it('does not reset a reader whose checkpoint is at or after the compaction', async () => {
    const { socket_url: url } = await createRoom(server.url);
    const net = droppableSockets();
    const reader = open(url, { WebSocket: net.WebSocket });
    const writer = open(url);
    const rec = recorder();
    reader.subscribe('c', rec.listener);
    await waitFor(() => reader.status === 'open', 10_000, 'reader open');
    const s1 = await writer.append('c', 'a');
    await waitFor(() => rec.seqs().at(-1) === s1, 10_000, 'the reader to see a');
    net.setOffline(true);
    await waitFor(() => reader.status === 'reconnecting', 10_000, 'reader offline');
    await writer.compact('c', s1, 'A');
    const s2 = await writer.append('c', 'b');
    net.setOffline(false);
    await waitFor(() => rec.seqs().at(-1) === s2, 10_000, 'the reader to catch up');
    expect(rec.summary()).toEqual([
      [s1, 'a'],
      [s2, 'b'],
    ]);
  });

  it('rolls back an optimistic set the server rejects, and rejects its promise with the server code', async () => {
    const { socket_url: url } = await createRoom(server.url);
    const room = open(url);
    await waitFor(() => room.status === 'open', 10_000, 'open');
    const key = 'k'.repeat(300); // over maxSubjectLength (256)
    const written = room.set(key, 'v');
    expect(room.get(key)).toBe('v');
    await expect(written).rejects.toMatchObject({ code: 'subject_too_long' });
    expect(room.get(key)).toBeUndefined();
  });
});

describe('with a one-second retention', () => {
  const server = useServer({ RETENTION_SECONDS: '1' });

  it('a wipe while connected: close 4000, reconnect, reset, then new values', async () => {
    const { socket_url: url } = await createRoom(server.url);
    const reader = open(url);
    const writer = open(url);
    const rec = recorder();
    reader.subscribe('w', rec.listener);
    await waitFor(() => reader.status === 'open' && writer.status === 'open', 10_000, 'both open');
    const s1 = await writer.set('w', 1);
    await waitFor(() => rec.seqs().includes(s1), 10_000, 'the reader to see the set');
    expect(reader.get('w')).toBe(1);

    await waitFor(() => rec.events.some((e) => e.type === 'reset'), 15_000, 'the wipe (about 1 s)');
    expect(reader.get('w')).toBeUndefined();
    const s2 = await writer.set('w', 2);
    await waitFor(() => rec.seqs().includes(s2), 10_000, 'the reader to see the new set');
    expect(s2).toBeGreaterThan(s1);
    // A later wipe may add another reset; the start is what this test is about.
    expect(rec.summary().slice(0, 3)).toEqual([[s1, 1], 'reset', [s2, 2]]);
  });

  it('a wipe while offline: the resume reports a reset and an empty state', async () => {
    const { socket_url: url, http_url: httpUrl } = await createRoom(server.url);
    const net = droppableSockets();
    const reader = open(url, { WebSocket: net.WebSocket });
    const rec = recorder();
    reader.subscribe('w', rec.listener);
    await waitFor(() => reader.status === 'open', 10_000, 'reader open');
    const s1 = await open(url).append('w', 'x');
    await waitFor(() => rec.seqs().includes(s1), 10_000, 'the reader to see x');

    net.setOffline(true);
    // Ask the room over HTTP until the retention alarm has wiped the stream.
    let stored = 1;
    const poll = async () => {
      const response = await fetch(httpUrl, { method: 'POST', body: JSON.stringify({ type: 'get', key: 'w' }) });
      stored = ((await response.json()) as { data: unknown[] }).data.length;
    };
    const deadline = Date.now() + 15_000;
    while ((await poll(), stored > 0)) {
      if (Date.now() > deadline) throw new Error('the room was not wiped within 15 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(reader.status).toBe('reconnecting');
    net.setOffline(false);
    await waitFor(() => rec.events.some((e) => e.type === 'reset'), 10_000, 'the reset');
    expect(rec.summary()).toEqual([[s1, 'x'], 'reset']);
    expect(reader.get('w')).toBeUndefined();
  });
});
