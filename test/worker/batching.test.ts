// Batching: under load, a client that said hello gets several messages per frame.
import { describe, expect, it } from 'vitest';
import { BATCH_BYTES, BatchWindows, LARGE_AUDIENCE } from '../../worker/batching.ts';
import { Connection, Connections, Outgoing } from '../../worker/connections.ts';
import type { Store } from '../../worker/store.ts';
import { DEFAULT_LIMITS } from '../../protocol/limits.ts';

const limits = { ...DEFAULT_LIMITS };
import { connect, connectClient, freshRoom, push } from './helpers.ts';

function fakeSocket() {
  const frames: string[] = [];
  const ws = {
    send: (f: string) => frames.push(f),
    serializeAttachment: () => {},
    readyState: 1,
  } as unknown as WebSocket;
  return { ws, frames };
}

describe('batching', () => {
  it('sends the first frame of a turn at once and the rest as one array when the window closes', () => {
    const windows = new BatchWindows();
    const { ws, frames } = fakeSocket();
    const c = new Connection(ws, { conn: 'c', cbor: false, hello: true }, windows, limits);
    c.sendFrame('{"n":1}');
    c.sendFrame('{"n":2}');
    c.sendFrame('{"n":3}');
    expect(frames).toEqual(['{"n":1}']);
    windows.flushAll();
    expect(frames).toEqual(['{"n":1}', '[{"n":2},{"n":3}]']);
    c.sendFrame('{"n":4}'); // a new turn: at once again
    expect(frames.at(-1)).toBe('{"n":4}');
  });

  it("sends a new socket's early replies at once, and batches again after them", () => {
    const windows = new BatchWindows();
    const { ws, frames } = fakeSocket();
    const c = new Connection(ws, { conn: 'c', cbor: false, hello: true }, windows, limits);
    // The room handles an upgrade's early frames inside unbatched (room.ts, fetch): no window, no timer.
    c.unbatched(() => {
      c.sendFrame('{"n":1}');
      c.sendFrame('{"n":2}');
    });
    expect(frames).toEqual(['{"n":1}', '{"n":2}']);
    c.sendFrame('{"n":3}');
    c.sendFrame('{"n":4}');
    c.sendFrame('{"n":5}');
    expect(frames).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    windows.flushAll();
    expect(frames).toEqual(['{"n":1}', '{"n":2}', '{"n":3}', '[{"n":4},{"n":5}]']);
  });

  it('holds even the first frame of a broadcast to LARGE_AUDIENCE sockets until the window closes', () => {
    const store = { subscriptions: () => [], subscribe: () => {}, forgetConnection: () => {} } as unknown as Store;
    const small = new Connections([], store, limits);
    const large = new Connections([], store, limits);
    const frames = (conns: Connections, n: number) =>
      Array.from({ length: n }, (_, i) => {
        const socket = fakeSocket();
        conns.add(socket.ws, { conn: `c${i}`, cbor: false, hello: true });
        return socket.frames;
      });
    const few = frames(small, LARGE_AUDIENCE - 1);
    const many = frames(large, LARGE_AUDIENCE);
    for (const conns of [small, large]) {
      conns.broadcast('k', new Outgoing({ type: 'push', key: 'k', value: 1, seq: 1 }));
      conns.broadcast('k', new Outgoing({ type: 'push', key: 'k', value: 2, seq: 2 }));
    }
    expect(few.every((f) => f.length === 1 && JSON.parse(f[0]!).value === 1)).toBe(true);
    expect(many.every((f) => f.length === 0)).toBe(true);
    for (const conns of [small, large]) for (const c of conns.all()) c.flush();
    const values = (f: string[]) => f.flatMap((frame) => [JSON.parse(frame)].flat()).map((m) => m.value);
    expect(few.every((f) => f.length === 2 && values(f).join() === '1,2')).toBe(true);
    // One frame per socket for both messages: half the runtime sends.
    expect(many.every((f) => f.length === 1 && values(f).join() === '1,2')).toBe(true);
  });

  it('never batches a DriftDB socket or a CBOR socket', () => {
    const windows = new BatchWindows();
    for (const a of [
      { conn: 'd', cbor: false },
      { conn: 'b', cbor: true, hello: true },
    ]) {
      const { ws, frames } = fakeSocket();
      const c = new Connection(ws, a, windows, limits);
      c.sendFrame('{"n":1}');
      c.sendFrame('{"n":2}');
      expect(frames).toEqual(['{"n":1}', '{"n":2}']);
    }
  });

  it('keeps batches under BATCH_BYTES and sends a large frame alone, in order', () => {
    const windows = new BatchWindows();
    const { ws, frames } = fakeSocket();
    const c = new Connection(ws, { conn: 'c', cbor: false, hello: true }, windows, limits);
    const item = `"${'x'.repeat(BATCH_BYTES / 4)}"`;
    c.sendFrame('"first"');
    for (let i = 0; i < 6; i++) c.sendFrame(item);
    const big = `"${'y'.repeat(BATCH_BYTES)}"`;
    c.sendFrame(big);
    c.sendFrame('"last"');
    windows.flushAll();
    const flat = frames.flatMap((f) => [JSON.parse(f)].flat());
    expect(flat).toEqual(['first', ...Array(6).fill(JSON.parse(item)), JSON.parse(big), 'last']);
    expect(frames.every((f) => f === big || f.length <= BATCH_BYTES + 8)).toBe(true);
  });

  it('sends a replay one frame per turn, with frames sent meanwhile waiting behind it', async () => {
    const windows = new BatchWindows();
    const { ws, frames } = fakeSocket();
    const c = new Connection(ws, { conn: 'd', cbor: false }, windows, limits);
    let turns = 0;
    const replay = (function* () {
      for (let i = 1; i <= 4; i++) yield `{"init":${i}}`;
    })();
    c.sendStream(replay);
    c.sendFrame('{"push":5}');
    expect(frames).toEqual(['{"init":1}']); // the room goes on with other work
    while (frames.length < 5 && turns++ < 20) await new Promise((resolve) => setTimeout(resolve, 0));
    expect(frames).toEqual(['{"init":1}', '{"init":2}', '{"init":3}', '{"init":4}', '{"push":5}']);
    expect(turns).toBeGreaterThanOrEqual(3);
  });

  it('sends a one-frame replay at once', () => {
    const { ws, frames } = fakeSocket();
    const c = new Connection(ws, { conn: 'd', cbor: false }, new BatchWindows(), limits);
    c.sendStream(['{"init":1}'][Symbol.iterator]());
    c.sendFrame('{"push":2}');
    expect(frames).toEqual(['{"init":1}', '{"push":2}']);
  });

  it('delivers a burst to a hello client complete and in order, and only single frames to a DriftDB socket', async () => {
    const room = freshRoom();
    const { s: client } = await connectClient(room, 'reader');
    client.send({ type: 'sub', key: 'log', replay: false });
    await client.drain();
    const drift = await connect(room);
    const pub = await connect(room);
    // A whole publish burst from one socket, as fast as it can send.
    const burst = DEFAULT_LIMITS.publishBurst;
    for (let i = 1; i <= burst; i++) pub.send(push('log', i));
    await pub.drain();
    const got = (await client.drain()).filter((m) => m.type === 'push').map((m) => m.value);
    expect(got).toEqual(Array.from({ length: burst }, (_, i) => i + 1));
    expect((await drift.drain()).map((m) => m.value)).toEqual(got);
    expect(drift.batches).toEqual([]);
  });
});
