// Acceptance: the published driftdb@1.0.12 client, used as its README shows,
// works unchanged against the real worker running in workerd.
import driftdb from 'driftdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WS from 'ws';
import { startServer, type TestServer } from './server.ts';
import { waitFor } from './wait.ts';

// driftdb@1.0.12 uses the global WebSocket, which Node 20 lacks.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WS;
const { Api, DbConnection, HttpConnection, Reducer, StateListener } = driftdb;
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

async function connect(socketUrl: string, cbor = false): Promise<Db> {
  const db = new DbConnection();
  open.push(db);
  await db.connect(socketUrl, cbor);
  return db;
}

describe('driftdb@1.0.12 against edgeroom', () => {
  it('creates rooms and looks them up with Api', async () => {
    const api = new Api(server.url);
    const room = await api.newRoom();
    expect(room.room).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(room.socket_url).toBe(`ws://127.0.0.1:${server.port}/room/${room.room}/connect`);
    expect(await api.getRoom(room.room)).toEqual(room);
    expect((await api.newRoom()).room).not.toBe(room.room);
  });

  it('subscribes, pushes and replays with DbConnection, and measures latency', async () => {
    const { socket_url } = await new Api(server.url).newRoom();
    const a = await connect(socket_url);
    const seenA: Seen[] = [];
    a.subscribe('k', (v) => seenA.push(v));
    a.send({ type: 'push', action: { type: 'append' }, key: 'k', value: 'foo' });
    await waitFor(() => seenA.length === 1, 5000, 'the echo');
    expect(seenA).toEqual([{ seq: 1, value: 'foo' }]);

    const b = await connect(socket_url);
    const seenB: Seen[] = [];
    b.subscribe('k', (v) => seenB.push(v));
    await waitFor(() => seenB.length === 1, 5000, 'the replay');
    expect(seenB).toEqual([{ seq: 1, value: 'foo' }]);
    expect(await a.testLatency()).toBeGreaterThanOrEqual(0);
  });

  it('syncs two StateListeners', async () => {
    const { socket_url } = await new Api(server.url).newRoom();
    const [a, b] = [await connect(socket_url), await connect(socket_url)];
    const seenB: unknown[] = [];
    const listenerA = new StateListener<{ n: number }>({ db: a, key: 'shared', callback: () => {} });
    const listenerB = new StateListener<{ n: number }>({ db: b, key: 'shared', callback: (v) => seenB.push(v) });
    listenerA.subscribe();
    listenerB.subscribe();
    listenerA.setStateOptimistic({ n: 42 });
    await waitFor(() => seenB.some((v) => (v as { n: number }).n === 42), 5000, 'the shared state');
    listenerA.destroy();
    listenerB.destroy();
  });

  it('reduces with Reducer, compacting once the stream grows, and a late joiner gets the same state', async () => {
    const { socket_url, http_url } = await new Api(server.url).newRoom();
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
    await waitFor(() => stateA === 210, 5000, 'the local sum');
    const http = new HttpConnection(http_url);
    // The Compactor folds the stream into a {reset} snapshot once it passes the threshold.
    const compacted = await waitFor(
      async () => {
        const r = (await http.send({ type: 'get', key: 'sum', seq: 0 })) as { data: { value: { reset?: number } }[] };
        return r.data[0]?.value.reset !== undefined && r;
      },
      5000,
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
    await waitFor(() => stateLate === 210, 5000, 'the late joiner state');
    reducerA.destroy();
    reducerLate.destroy();
  });

  it('speaks CBOR, Uint8Array values included', async () => {
    const { socket_url } = await new Api(server.url).newRoom();
    const a = await connect(socket_url, true);
    const b = await connect(socket_url, true);
    const seenB: Seen[] = [];
    b.subscribe('bin', (v) => seenB.push(v));
    a.send({ type: 'push', action: { type: 'append' }, key: 'bin', value: { bytes: new Uint8Array([1, 2, 3]) } });
    await waitFor(() => seenB.length === 1, 5000, 'the CBOR push');
    expect(seenB[0]!.seq).toBe(1);
    expect(Array.from((seenB[0]!.value as { bytes: Uint8Array }).bytes)).toEqual([1, 2, 3]);
  });

  it('talks over HTTP with HttpConnection', async () => {
    const { http_url } = await new Api(server.url).newRoom();
    const http = new HttpConnection(http_url);
    expect(await http.send({ type: 'push', action: { type: 'append' }, key: 'my-key', value: 'foobar' })).toBeNull();
    expect(await http.send({ type: 'get', key: 'my-key', seq: 0 })).toEqual({
      type: 'init',
      key: 'my-key',
      data: [{ seq: 1, value: 'foobar' }],
    });
  });
});

describe('driftdb@1.0.12 across a server restart (a deploy)', () => {
  it('keeps receiving after its automatic reconnect, and the data and counter survive', async () => {
    const { socket_url, room } = await new Api(server.url).newRoom();
    const listener = await connect(socket_url);
    const seen: Seen[] = [];
    listener.subscribe('feed', (v) => seen.push(v));
    const writer = await connect(socket_url);
    writer.send({ type: 'push', action: { type: 'append' }, key: 'feed', value: 'before' });
    await waitFor(() => seen.length === 1, 5000, 'the first push');

    const statuses: boolean[] = [];
    listener.statusListener.addListener((s) => statuses.push(s.connected));
    const { port, persist } = server;
    await server.stop({ keepState: true });
    server = await startServer({}, { port, persist });
    await waitFor(() => statuses.includes(false) && statuses.at(-1) === true, 15_000, 'the client to reconnect');
    await waitFor(() => writer.status.connected, 15_000, 'the writer to reconnect');

    writer.send({ type: 'push', action: { type: 'append' }, key: 'feed', value: 'after' });
    await waitFor(() => seen.length === 2, 5000, 'the push after the restart');
    expect(seen[1]!.value).toBe('after');
    expect(seen[1]!.seq).toBeGreaterThan(seen[0]!.seq);
    const replay = await new HttpConnection(`${server.url}/room/${room}/send`).send({
      type: 'get',
      key: 'feed',
      seq: 0,
    });
    expect(replay).toEqual({ type: 'init', key: 'feed', data: [seen[0], seen[1]] });
  });
});
