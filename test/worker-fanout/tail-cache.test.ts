import { describe, expect, it } from 'vitest';
import type { LinkItem } from '../../worker/link-batch.ts';
import { TailCache } from '../../worker/tail-cache.ts';

const item = (key: string, seq: number, value: unknown, act: 'append' | 'replace' | 'relay' = 'append', floor = 0) =>
  ({ t: 'push', out: { type: 'push', key, value, seq }, bytes: false, act, floor }) satisfies LinkItem;

const valuesAfter = (cache: TailCache, key: string, after: number) =>
  cache.after(key, after)?.map((e) => JSON.parse(e.value as string));

describe('a leaf tail cache', () => {
  it('answers what the root would: appends after the seq, only the last replace and after, no relays', () => {
    const cache = new TailCache(0);
    cache.apply(item('s', 1, 'a'), 1);
    cache.apply(item('s', 2, 'b'), 2);
    cache.apply(item('s', 3, 'r', 'relay'), 3);
    cache.apply(item('k', 4, 'v1', 'replace'), 4);
    cache.apply(item('k', 5, 'v2', 'replace'), 5);
    cache.apply(item('k', 6, 'tail'), 6);
    expect(valuesAfter(cache, 's', 1)).toEqual(['b']);
    expect(valuesAfter(cache, 'k', 3)).toEqual(['v2', 'tail']);
    expect(valuesAfter(cache, 'k', 5)).toEqual(['tail']);
    expect(valuesAfter(cache, 'none', 2)).toEqual([]);
    expect(cache.size.entries).toBe(4);
  });

  it('sends below a floor or a compaction to the root, and above them answers', () => {
    const cache = new TailCache(0);
    cache.apply(item('s', 1, 'a'), 1);
    cache.apply(item('s', 2, 'b', 'append', 1), 2);
    expect(cache.after('s', 0)).toBeUndefined();
    expect(valuesAfter(cache, 's', 1)).toEqual(['b']);
    cache.apply({ t: 'compact', key: 's', seq: 2 }, 5);
    expect(cache.after('s', 4)).toBeUndefined();
    cache.apply(item('s', 6, 'c'), 6);
    expect(valuesAfter(cache, 's', 5)).toEqual(['c']);
    expect(cache.size.entries).toBe(1);
  });

  it('holds at most its entries and bytes, and then answers only from after what it let go', () => {
    const cache = new TailCache(0, 100, 25);
    for (let seq = 1; seq <= 5; seq++) cache.apply(item('s', seq, 'x'.repeat(8)), seq); // 10 bytes each as JSON
    expect(cache.size).toEqual({ entries: 2, bytes: 20 });
    expect(cache.after('s', 3)).toBeUndefined();
    expect(valuesAfter(cache, 's', 4)).toHaveLength(1);
    const few = new TailCache(0, 2);
    for (let seq = 1; seq <= 4; seq++) few.apply(item(`k${seq}`, seq, seq), seq);
    expect(few.size.entries).toBe(2);
    expect(few.after('k3', 2)).toBeUndefined();
    expect(valuesAfter(few, 'k4', 3)).toEqual([4]);
  });

  it('starts again at a reset or a wipe: nothing at or before it is vouched for', () => {
    const cache = new TailCache(0);
    cache.apply(item('s', 1, 'a'), 1);
    cache.reset(10);
    expect(cache.after('s', 10)).toBeUndefined();
    expect(valuesAfter(cache, 's', 11)).toEqual([]);
    expect(cache.size).toEqual({ entries: 0, bytes: 0 });
    cache.apply(item('s', 12, 'b'), 12);
    cache.apply({ t: 'wipe', floor: 14 }, 12);
    expect(cache.after('s', 14)).toBeUndefined();
    expect(valuesAfter(cache, 's', 15)).toEqual([]);
  });
});
