// Stream caps: a stream over maxStreamEntries (5) or maxStreamBytes (1000) loses
// its oldest entries, and a replay from below them is a reset, never a gap.
import { describe, expect, it } from 'vitest';
import { connect, freshRoom, push } from '../worker/helpers.ts';
import { entry, httpGet, sized, subFrom } from './helpers.ts';

describe('stream caps', () => {
  it('trims a stream over maxStreamEntries to its newest entries; a resume from below them is a reset', async () => {
    const room = freshRoom();
    const w = await connect(room);
    for (let i = 1; i <= 8; i++) w.send(push('log', `e${i}`));
    const replies = await w.drain();
    expect(replies.filter((m) => m.type === 'push').map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(replies.filter((m) => m.type === 'stream_size').map((m) => m.size)).toEqual([2, 3, 4, 5, 5, 5, 5]);

    const kept = [4, 5, 6, 7, 8].map((seq) => entry(`e${seq}`, seq));
    expect(await httpGet(room, 'log')).toEqual({ type: 'init', key: 'log', data: kept });
    // Seqs 1-3 were trimmed: from 2, seq 3 is missing, so the client gets the whole state, flagged.
    expect(await subFrom(room, 'log', 2)).toEqual([{ type: 'init', key: 'log', reset: true, data: kept }]);
    expect(await subFrom(room, 'log', 1)).toEqual([{ type: 'init', key: 'log', reset: true, data: kept }]);
    // From 3 (the last seq trimmed) nothing is missing; from above it, exactly the newer entries.
    expect(await subFrom(room, 'log', 3)).toEqual([{ type: 'init', key: 'log', data: kept }]);
    expect(await subFrom(room, 'log', 6)).toEqual([{ type: 'init', key: 'log', data: kept.slice(3) }]);
    // A fresh subscriber (no seq) is no resume.
    expect(await subFrom(room, 'log', 0)).toEqual([{ type: 'init', key: 'log', data: kept }]);
    // HTTP get flags the reset too; DriftDB's shape otherwise.
    expect(await httpGet(room, 'log', 2)).toEqual({ type: 'init', key: 'log', reset: true, data: kept });
    expect(await httpGet(room, 'log', 3)).toEqual({ type: 'init', key: 'log', data: kept });
  });

  it('trims a stream over maxStreamBytes, as many oldest entries as it takes, keeping the newest always', async () => {
    const room = freshRoom();
    const w = await connect(room);
    const [a, b, c] = ['a', 'b', 'c'].map((f) => sized('big', 300, f));
    const d = sized('big', 580, 'd');
    for (const v of [a, b, c, d]) w.send(push('big', v));
    const replies = await w.drain();
    // 900 bytes, then 1480: a (seq 1) and b (seq 2) go, 880 bytes stay.
    expect(replies.filter((m) => m.type === 'stream_size').map((m) => m.size)).toEqual([2, 3, 2]);
    const kept = [entry(c, 3), entry(d, 4)];
    expect(await httpGet(room, 'big')).toEqual({ type: 'init', key: 'big', data: kept });
    expect(await subFrom(room, 'big', 1)).toEqual([{ type: 'init', key: 'big', reset: true, data: kept }]);
    expect(await subFrom(room, 'big', 2)).toEqual([{ type: 'init', key: 'big', data: kept }]);
    expect(await subFrom(room, 'big', 3)).toEqual([{ type: 'init', key: 'big', data: [entry(d, 4)] }]);

    // One value over the stream's cap is kept, alone.
    const e = sized('big', 1100, 'e');
    w.send(push('big', e));
    expect(await w.drain()).toEqual([{ type: 'push', key: 'big', value: e, seq: 5 }]);
    expect(await httpGet(room, 'big')).toEqual({ type: 'init', key: 'big', data: [entry(e, 5)] });
    expect(await subFrom(room, 'big', 3)).toEqual([{ type: 'init', key: 'big', reset: true, data: [entry(e, 5)] }]);
    expect(await subFrom(room, 'big', 4)).toEqual([{ type: 'init', key: 'big', data: [entry(e, 5)] }]);
  });

  it('takes a snapshot at or above what was trimmed, ignores one below it, and trims after a compaction too', async () => {
    const room = freshRoom();
    const w = await connect(room);
    const [a, b, c] = ['a', 'b', 'c'].map((f) => sized('big', 300, f));
    const d = sized('big', 580, 'd');
    for (const v of [a, b, c, d]) w.send(push('big', v));
    await w.drain(); // c (seq 3) and d (seq 4) are kept; 1 and 2 were trimmed

    // A snapshot at 1 would sit before a gap (seq 2 is gone): ignored, as an older snapshot is.
    w.send(push('big', 'old', { type: 'compact', seq: 1 }));
    // A snapshot at 2 folds everything up to 2, and 3 and 4 follow it: no gap.
    w.send(push('big', 's', { type: 'compact', seq: 2 }));
    expect(await w.drain()).toEqual([
      { type: 'stream_size', key: 'big', size: 2 },
      { type: 'stream_size', key: 'big', size: 3 },
    ]);
    expect(await httpGet(room, 'big')).toEqual({
      type: 'init',
      key: 'big',
      data: [entry('s', 2), entry(c, 3), entry(d, 4)],
    });
    expect(await subFrom(room, 'big', 1)).toEqual([
      { type: 'init', key: 'big', reset: true, data: [entry('s', 2), entry(c, 3), entry(d, 4)] },
    ]);
    expect(await subFrom(room, 'big', 2)).toEqual([{ type: 'init', key: 'big', data: [entry(c, 3), entry(d, 4)] }]);

    // A snapshot at 3 of 700 bytes, with d, is over 1000 bytes: the snapshot, now the oldest entry, is trimmed.
    w.send(push('big', sized('big', 700, 's'), { type: 'compact', seq: 3 }));
    expect(await w.drain()).toEqual([]); // one entry left: no stream_size
    expect(await httpGet(room, 'big')).toEqual({ type: 'init', key: 'big', data: [entry(d, 4)] });
    expect(await subFrom(room, 'big', 2)).toEqual([{ type: 'init', key: 'big', reset: true, data: [entry(d, 4)] }]);
    expect(await subFrom(room, 'big', 3)).toEqual([{ type: 'init', key: 'big', data: [entry(d, 4)] }]);
  });
});
