// Large replays to a socket whose leaf hibernated (issue 14, "Limits exercised"; LiveStore
// found frames near 1 MB failing on hibernated sockets). A replay of more than 1 MiB, from the
// root and from the leaf's tail cache, arrives whole, in order, once, in frames of at most
// REPLAY_FRAME_BYTES each with `more` on all but the last; and a single frame of more than
// 1 MiB (one value larger than that in JSON) arrives whole, as a replay and live.
import { evictDurableObject } from 'cloudflare:test';
import { encode } from 'cborg';
import { describe, expect, it } from 'vitest';
import { REPLAY_FRAME_BYTES } from '../../worker/replay.ts';
import { connect, idOf, push, type Msg, type TestSocket } from '../worker/helpers.ts';
import { clientOn, leafStats, leafStub, nameOnLeaf, newFanoutRoom } from './helpers.ts';

/** 1.25 MiB in all: 128 values of 10 KiB, three to a replay frame. */
const VALUES = 128;
const value = (key: string, i: number) => `${key}:${i}:${'v'.repeat(10 * 1024)}`;

/** Appends the values of `key` from `s`, each acked; returns their seqs. */
async function appendMany(s: TestSocket, key: string, from: number, count: number): Promise<number[]> {
  for (let i = from; i < from + count; i++) s.send(push(key, value(key, i), 'append', `${key}-${i}`));
  const seqs: number[] = [];
  while (seqs.length < count) seqs.push((await s.until((m) => m.type === 'ack', 20_000)).seq);
  return seqs;
}

/** The init frames of one replay of `key`, up to the one without `more`, and their JSON sizes. */
async function replayOf(s: TestSocket, key: string): Promise<{ frames: Msg[]; sizes: number[] }> {
  const frames: Msg[] = [];
  do frames.push(await s.until((m) => m.type === 'init' && m.key === key, 20_000));
  while (frames.at(-1).more);
  return { frames, sizes: frames.map((f) => JSON.stringify(f).length) };
}

function expectWhole(replay: { frames: Msg[]; sizes: number[] }, key: string, from: number, seqs: number[]) {
  const entries = replay.frames.flatMap((f) => f.data);
  expect(entries.map((e: Msg) => e.value)).toEqual(seqs.map((_, i) => value(key, from + i)));
  expect(entries.map((e: Msg) => e.seq)).toEqual(seqs);
  expect(replay.sizes.reduce((a, b) => a + b, 0)).toBeGreaterThan(1024 * 1024);
  for (const size of replay.sizes) expect(size).toBeLessThanOrEqual(REPLAY_FRAME_BYTES);
  expect(replay.frames.slice(0, -1).every((f) => f.more === true)).toBe(true);
  expect(replay.frames.at(-1).more).toBeUndefined();
}

describe('a replay of more than 1 MiB to a hibernated socket on a leaf', () => {
  it('from the root: whole, in order, once, in frames of at most REPLAY_FRAME_BYTES', async () => {
    const room = await newFanoutRoom(2);
    const pub = await clientOn(room, 2, 0);
    const sub = await clientOn(room, 2, 1);
    const seqs = await appendMany(pub.s, 'big', 0, VALUES);
    await evictDurableObject(leafStub(room, 1), { webSockets: 'hibernate' });
    sub.s.send({ type: 'sub', key: 'big' });
    const replay = await replayOf(sub.s, 'big');
    expectWhole(replay, 'big', 0, seqs);
    // Live after it, once: nothing replayed twice.
    pub.s.send(push('big', 'after', 'append', 'after'));
    expect(await sub.s.until((m) => m.type === 'push')).toMatchObject({ key: 'big', value: 'after' });
    expect((await sub.s.drain()).filter((m) => m.type === 'init' || m.type === 'push')).toEqual([]);
    expect(await leafStats(room, 1)).toMatchObject({ rootReplays: 1, cacheHits: 0 });
  }, 60_000);

  it("from the leaf's tail cache: a resume after the leaf woke, whole, in order, once", async () => {
    const room = await newFanoutRoom(3);
    const pub = await clientOn(room, 3, 0);
    const sub = await clientOn(room, 3, 2);
    await appendMany(pub.s, 'log', 0, 1);
    await evictDurableObject(leafStub(room, 2), { webSockets: 'hibernate' });
    // The batches wake the leaf: its cache vouches for what comes after the first of them.
    const [mark, ...seqs] = await appendMany(pub.s, 'log', 1, VALUES + 1);
    sub.s.send({ type: 'sub', key: 'log', seq: mark });
    const replay = await replayOf(sub.s, 'log');
    expectWhole(replay, 'log', 2, seqs);
    expect((await sub.s.drain()).filter((m) => m.type === 'init' || m.type === 'push')).toEqual([]);
    expect(await leafStats(room, 2)).toMatchObject({ rootReplays: 0, cacheHits: 1 });
  }, 60_000);
});

/**
 * A value of at most maxMessageBytes as a CBOR frame that takes more than 1 MiB as JSON: a
 * control character is one byte in CBOR and six (`\u0001`) in JSON. A JSON frame holding it
 * is over 1.1 MiB.
 */
const HUGE = `${'\u0001'.repeat(200_000)}end`;
const MiB = 1024 * 1024;

/** The text frames `s` receives from now on, raw, for their sizes. */
function rawFrames(s: TestSocket): string[] {
  const frames: string[] = [];
  s.ws.addEventListener('message', (e) => {
    if (typeof e.data === 'string') frames.push(e.data);
  });
  return frames;
}

describe('a frame of more than 1 MiB to a hibernated socket on a leaf', () => {
  it('arrives whole as a replay from the root, as a replay from the tail cache, and live', async () => {
    const room = await newFanoutRoom(2);
    // A CBOR socket on leaf 0 (DriftDB's kind: it gets its own pushes back).
    const pub = await connect(room, `?cbor=true&client=${idOf(nameOnLeaf(2, 0))}`);
    const publish = async (key: string, value: string) => {
      pub.sendRaw(encode({ type: 'push', key, value, action: { type: 'append' } }));
      return (await pub.until((m) => m.type === 'push' && m.key === key, 20_000)).seq as number;
    };
    const sub = await clientOn(room, 2, 1);
    const frames = rawFrames(sub.s);
    const first = await publish('huge', HUGE);

    // From the root: leaf 1 and its socket hibernate, then the socket subscribes.
    await evictDurableObject(leafStub(room, 1), { webSockets: 'hibernate' });
    sub.s.send({ type: 'sub', key: 'huge' });
    expect(await sub.s.next(20_000)).toEqual({ type: 'init', key: 'huge', data: [{ value: HUGE, seq: first }] });
    expect(frames.at(-1)!.length).toBeGreaterThan(MiB);

    // Live: the leaf hibernates again, and a batch wakes it with a push of more than 1 MiB.
    await evictDurableObject(leafStub(room, 1), { webSockets: 'hibernate' });
    const live = await publish('huge', HUGE);
    expect(await sub.s.next(20_000)).toEqual({ type: 'push', key: 'huge', value: HUGE, seq: live });
    expect(frames.at(-1)!.length).toBeGreaterThan(MiB);

    // From the cache: after the wake, it holds the values of another subject, and a resume gets them.
    const mark = await publish('other', 'mark');
    const next = await publish('other', HUGE);
    sub.s.send({ type: 'sub', key: 'other', seq: mark });
    expect(await sub.s.next(20_000)).toEqual({ type: 'init', key: 'other', data: [{ value: HUGE, seq: next }] });
    expect(frames.at(-1)!.length).toBeGreaterThan(MiB);
    expect((await sub.s.drain()).filter((m) => m.type === 'init' || m.type === 'push')).toEqual([]);
    expect(await leafStats(room, 1)).toMatchObject({ rootReplays: 0, cacheHits: 1 });
  }, 60_000);
});

describe('a replay from the root larger than one RPC answer may be (32 MiB)', () => {
  it('comes whole: 16 MiB of bytes, about 60 MiB as JSON number arrays', async () => {
    const room = await newFanoutRoom(2);
    const pub = await connect(room, `?cbor=true&client=${idOf(nameOnLeaf(2, 0))}`);
    // 62 values of 250 KiB: under maxStreamBytes (16 MiB), so all kept; 4 characters a byte as JSON.
    const count = 62;
    const bytes = (i: number) => new Uint8Array(250 * 1024).fill(200 + (i % 50));
    const seqs: number[] = [];
    for (let i = 0; i < count; i++) {
      pub.sendRaw(encode({ type: 'push', key: 'blob', value: bytes(i), action: { type: 'append' } }));
      seqs.push((await pub.until((m) => m.type === 'push', 20_000)).seq);
    }
    const sub = await clientOn(room, 2, 1);
    const frames = rawFrames(sub.s);
    sub.s.send({ type: 'sub', key: 'blob' });
    const replay = await replayOf(sub.s, 'blob');
    const entries = replay.frames.flatMap((f) => f.data);
    expect(entries.map((e: Msg) => e.seq)).toEqual(seqs);
    entries.forEach((e: Msg, i: number) => {
      expect(e.value).toHaveLength(250 * 1024);
      expect(e.value[0]).toBe(200 + (i % 50));
    });
    expect(frames.reduce((n, f) => n + f.length, 0)).toBeGreaterThan(48 * MiB);
  }, 120_000);
});

describe('a replay from the root in chunks (about 1 MiB of stored values each)', () => {
  it('keeps `last: N` and a reset across chunks: no value twice, every frame flagged', async () => {
    const room = await newFanoutRoom(2);
    const pub = await clientOn(room, 2, 0);
    const seqs = await appendMany(pub.s, 'doc', 0, VALUES);
    const sub = await clientOn(room, 2, 1);
    // The last 110 of 128: more than a chunk.
    sub.s.send({ type: 'sub', key: 'doc', last: 110 });
    const tail = await replayOf(sub.s, 'doc');
    expectWhole(tail, 'doc', VALUES - 110, seqs.slice(-110));
    expect(tail.frames.every((f) => f.reset === undefined)).toBe(true);
    // A compaction at the 8th value: a resume from before it is a reset, the snapshot and all after it.
    pub.s.send(push('doc', 'snapshot', { type: 'compact', seq: seqs[7]! }, 'compact'));
    await pub.s.until((m) => m.type === 'ack' && m.id === 'compact');
    const late = await clientOn(room, 2, 1);
    late.s.send({ type: 'sub', key: 'doc', seq: seqs[2] });
    const reset = await replayOf(late.s, 'doc');
    const values = reset.frames.flatMap((f) => f.data).map((e: Msg) => e.value);
    expect(values).toEqual(['snapshot', ...seqs.slice(8).map((_, i) => value('doc', 8 + i))]);
    expect(reset.frames.length).toBeGreaterThan(30);
    expect(reset.frames.every((f) => f.reset === true)).toBe(true);
    expect((await late.s.drain()).filter((m) => m.type === 'init' || m.type === 'push')).toEqual([]);
  }, 60_000);
});
