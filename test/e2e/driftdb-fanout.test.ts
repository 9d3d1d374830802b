// The published driftdb@1.0.12 client, unchanged, against a fanned-out room
// (docs/hot-rooms.md): its sockets land on the room's leaves at random.
import driftdb from 'driftdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WS from 'ws';
import { startServer, type TestServer } from './server.ts';
import { waitFor } from './wait.ts';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WS;
const { DbConnection, HttpConnection, Reducer } = driftdb;
type Db = InstanceType<typeof DbConnection>;
type Seen = { seq: number; value: unknown };

let server: TestServer;
const open: Db[] = [];

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  for (const db of open) db.disconnect();
  await server?.stop();
});

async function newFanoutRoom(leaves: number): Promise<{ socket_url: string; http_url: string; room: string }> {
  const res = await fetch(`${server.url}/new`, { method: 'POST', body: JSON.stringify({ leaves }) });
  expect(res.status).toBe(200);
  return (await res.json()) as { socket_url: string; http_url: string; room: string };
}

async function connect(socketUrl: string, cbor = false): Promise<Db> {
  const db = new DbConnection();
  open.push(db);
  await db.connect(socketUrl, cbor);
  return db;
}

describe('driftdb@1.0.12 against a fanned-out room', () => {
  it('six connections on 3 leaves see every push of a stream, in one order, once', async () => {
    const { socket_url, room } = await newFanoutRoom(3);
    expect(room).toMatch(/^f3_/);
    const dbs = await Promise.all(Array.from({ length: 6 }, () => connect(socket_url)));
    const seen: Seen[][] = dbs.map(() => []);
    dbs.forEach((db, i) => db.subscribe('k', (v) => seen[i]!.push(v)));
    for (let i = 0; i < 40; i++) dbs[i % 6]!.send({ type: 'push', action: { type: 'append' }, key: 'k', value: i });
    await waitFor(() => seen.every((s) => s.length >= 40), 10_000, 'every push on every connection');
    for (const s of seen) {
      expect(s.map((v) => v.seq)).toEqual(seen[0]!.map((v) => v.seq));
      expect(new Set(s.map((v) => v.value)).size).toBe(40);
    }
    const late = await connect(socket_url);
    const seenLate: Seen[] = [];
    late.subscribe('k', (v) => seenLate.push(v));
    await waitFor(() => seenLate.length === 40, 10_000, 'the replay');
    expect(seenLate).toEqual(seen[0]);
  });

  it('reduces with Reducer, compacting through a leaf, and a late joiner gets the same state', async () => {
    const { socket_url, http_url } = await newFanoutRoom(2);
    const a = await connect(socket_url);
    let stateA = 0;
    const sum = (s: number, n: number) => s + n;
    const reducerA = new Reducer<number, number>({
      db: a,
      key: 'sum',
      reducer: sum,
      initialValue: 0,
      sizeThreshold: 5,
      callback: (s) => (stateA = s),
    });
    reducerA.subscribe();
    for (let i = 1; i <= 20; i++) reducerA.dispatch(i);
    await waitFor(() => stateA === 210, 10_000, 'the local sum');
    const http = new HttpConnection(http_url);
    const compacted = await waitFor(
      async () => {
        const r = (await http.send({ type: 'get', key: 'sum', seq: 0 })) as { data: { value: { reset?: number } }[] };
        return r.data[0]?.value.reset !== undefined && r;
      },
      10_000,
      'compaction',
    );
    expect(compacted.data.length).toBeLessThan(20);
    const late = await connect(socket_url);
    let stateLate = 0;
    const reducerLate = new Reducer<number, number>({
      db: late,
      key: 'sum',
      reducer: sum,
      initialValue: 0,
      callback: (s) => (stateLate = s),
    });
    reducerLate.subscribe();
    await waitFor(() => stateLate === 210, 10_000, 'the late joiner state');
    reducerA.destroy();
    reducerLate.destroy();
  });

  it('speaks CBOR through a leaf, Uint8Array values included', async () => {
    const { socket_url } = await newFanoutRoom(2);
    const dbs = await Promise.all([0, 1, 2, 3].map(() => connect(socket_url, true)));
    const seen: Seen[][] = dbs.map(() => []);
    dbs.forEach((db, i) => db.subscribe('bin', (v) => seen[i]!.push(v)));
    dbs[0]!.send({ type: 'push', action: { type: 'append' }, key: 'bin', value: { bytes: new Uint8Array([1, 2, 3]) } });
    await waitFor(() => seen.every((s) => s.length === 1), 10_000, 'the CBOR push everywhere');
    for (const s of seen) expect(Array.from((s[0]!.value as { bytes: Uint8Array }).bytes)).toEqual([1, 2, 3]);
  });
});
