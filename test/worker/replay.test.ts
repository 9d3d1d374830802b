// Replay from a sequence number, tails, batching, and the reset signal.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../protocol/limits.ts';
import { connect, freshRoom, push } from './helpers.ts';

async function seed(room: string, key: string, values: unknown[]) {
  const s = await connect(room);
  for (const v of values) s.send(push(key, v));
  await s.drain(10_000);
  s.close();
}

describe('replay', () => {
  it('replays only values after the given seq, then live pushes, with no gap or duplicate', async () => {
    const room = freshRoom();
    await seed(room, 'log', ['a', 'b', 'c']);
    const sub = await connect(room);
    const pub = await connect(room);
    sub.send({ type: 'sub', key: 'log', seq: 1 });
    pub.send(push('log', 'd'));
    expect(await sub.drain()).toEqual([
      {
        type: 'init',
        key: 'log',
        data: [
          { value: 'b', seq: 2 },
          { value: 'c', seq: 3 },
        ],
      },
      { type: 'push', key: 'log', value: 'd', seq: 4 },
    ]);
  });

  it('opens a stream at its last N values', async () => {
    const room = freshRoom();
    await seed(room, 'chat', ['m1', 'm2', 'm3', 'm4', 'm5']);
    const s = await connect(room);
    s.send({ type: 'sub', key: 'chat', last: 2 });
    expect(await s.next()).toEqual({
      type: 'init',
      key: 'chat',
      data: [
        { value: 'm4', seq: 4 },
        { value: 'm5', seq: 5 },
      ],
    });
  });

  it('subscribes without replay when asked', async () => {
    const room = freshRoom();
    await seed(room, 'log', ['a']);
    const s = await connect(room);
    s.send({ type: 'sub', key: 'log', replay: false });
    expect(await s.drain()).toEqual([]);
  });

  it('splits a replay over the frame limit into ordered frames, each within the limit', async () => {
    const room = freshRoom();
    const big = 'x'.repeat(20_000);
    const values = Array.from({ length: 40 }, (_, i) => `${i}:${big}`); // about 800 KB
    await seed(room, 'big', values);
    const ext = await connect(room);
    ext.send({ type: 'sub', key: 'big' });
    const frames = await ext.drain(10_000);
    expect(frames.length).toBeGreaterThan(3);
    expect(frames.slice(0, -1).every((f) => f.more === true)).toBe(true);
    expect(frames.at(-1).more).toBeUndefined();
    const seqs = frames.flatMap((f) => f.data.map((e: { seq: number }) => e.seq));
    expect(seqs).toEqual(values.map((_, i) => i + 1));
    for (const f of frames) expect(JSON.stringify(f).length).toBeLessThanOrEqual(DEFAULT_LIMITS.maxMessageBytes);
    // A DriftDB get is split the same way, without the extension field.
    const drift = await connect(room);
    drift.send({ type: 'get', key: 'big', seq: 0 });
    const driftFrames = await drift.drain(10_000);
    expect(driftFrames.length).toBe(frames.length);
    expect(driftFrames.every((f) => f.type === 'init' && !('more' in f))).toBe(true);
  });

  it('keeps a long replay ahead of live pushes, with no gap or duplicate', async () => {
    const room = freshRoom();
    const values = Array.from({ length: 60 }, (_, i) => `${i}:${'z'.repeat(20_000)}`); // about 1.2 MB
    await seed(room, 'big', values);
    const reader = await connect(room);
    const other = await connect(room);
    const writer = await connect(room);
    reader.send({ type: 'sub', key: 'big' });
    const first = await reader.next(); // the replay has begun
    other.send({ type: 'ping', nonce: 1 });
    writer.send(push('big', 'live'));
    await writer.drain();
    const frames = [first, ...(await reader.drain(10_000))];
    expect(await other.next()).toEqual({ type: 'pong', nonce: 1 });
    const inits = frames.filter((f) => f.type === 'init');
    expect(frames.slice(0, inits.length)).toEqual(inits); // every init before the live push
    const seqs = frames.flatMap((f) => (f.type === 'init' ? f.data.map((e: { seq: number }) => e.seq) : [f.seq]));
    expect(seqs).toEqual(Array.from({ length: 61 }, (_, i) => i + 1));
    expect(frames.at(-1)).toMatchObject({ type: 'push', value: 'live', seq: 61 });
  });

  it('flags a resume from below a compaction as a reset and sends the whole current state', async () => {
    const room = freshRoom();
    await seed(room, 's', [1, 2, 3, 4]);
    const c = await connect(room);
    c.send(push('s', 'snap', { type: 'compact', seq: 3 }));
    await c.drain();
    const behind = await connect(room);
    behind.send({ type: 'sub', key: 's', seq: 1 });
    expect(await behind.next()).toEqual({
      type: 'init',
      key: 's',
      reset: true,
      data: [
        { value: 'snap', seq: 3 },
        { value: 4, seq: 4 },
      ],
    });
    const current = await connect(room);
    current.send({ type: 'sub', key: 's', seq: 3 });
    expect(await current.next()).toEqual({ type: 'init', key: 's', data: [{ value: 4, seq: 4 }] });
  });
});
