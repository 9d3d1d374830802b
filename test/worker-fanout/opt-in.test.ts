import { describe, expect, it } from 'vitest';
import { MAX_LEAVES } from '../../protocol/limits.ts';
import { leafFor, leavesOf, newFanoutRoomId } from '../../worker/fanout.ts';
import { decodeBatch, encodeBatches, type LinkItem } from '../../worker/link-batch.ts';
import { newRoomId } from '../../worker/ids.ts';
import { runInDurableObject } from 'cloudflare:test';
import { connect, http, idOf, push, roomStub } from '../worker/helpers.ts';
import { clientOn, leafStats, newFanoutRoom } from './helpers.ts';

describe('opting in', () => {
  it('POST /new with {"leaves": K} makes a fanned-out room; without it, a room as before', async () => {
    const fanned = await newFanoutRoom(4);
    expect(fanned).toMatch(/^f4_[A-Za-z0-9]{24}$/);
    expect(leavesOf(fanned)).toBe(4);
    const plain = (await (await http('/new', { method: 'POST' })).json()) as { room: string };
    expect(plain.room).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(leavesOf(plain.room)).toBe(0);
  });

  it("a room that did not opt in keeps no trace of leaves in its storage; a fanned-out room's root lists them", async () => {
    const tables = (room: string) =>
      runInDurableObject(roomStub(room), (_room, state) =>
        state.storage.sql
          .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'leaves'")
          .toArray()
          .map((r) => r.name),
      );
    const plain = ((await (await http('/new', { method: 'POST' })).json()) as { room: string }).room;
    const s = await connect(plain);
    s.send(push('k', 1, 'append', 'p1'));
    await s.until((m) => m.type === 'ack');
    expect(await tables(plain)).toEqual([]);
    const fanned = await newFanoutRoom(2);
    const { s: f } = await clientOn(fanned, 2, 1);
    f.send(push('k', 1, 'append', 'f1'));
    await f.until((m) => m.type === 'ack');
    expect(await tables(fanned)).toEqual(['leaves']);
  });

  it.each([1, MAX_LEAVES + 1, 2.5, '4', null])(
    'refuses leaves: %s with bad_message, naming the range',
    async (leaves) => {
      const res = await http('/new', { method: 'POST', body: JSON.stringify({ leaves }) });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        type: 'error',
        code: 'bad_message',
        message: `POST /new takes no body, or {"private"?: true, "leaves"?: 2 to ${MAX_LEAVES}}`,
      });
    },
  );

  it('only IDs POST /new makes are fanned out: names people choose, and every plain ID, are rooms of one object', () => {
    for (const id of ['team-standup', 'f4_standup', `f1_${'a'.repeat(24)}`, `f17_${'a'.repeat(24)}`, newRoomId()]) {
      expect(leavesOf(id)).toBe(0);
    }
    expect(leavesOf(newFanoutRoomId(16, true))).toBe(16);
    expect(newFanoutRoomId(3, true)).toMatch(/^p_f3_/);
  });

  it('routes one client ID to one leaf, and spreads client IDs over every leaf', () => {
    const ids = Array.from({ length: 400 }, (_, i) => idOf(`spread-${i}`));
    for (const id of ids) expect(leafFor(4, id)).toBe(leafFor(4, id));
    const counts = [0, 0, 0, 0];
    for (const id of ids) counts[leafFor(4, id)]!++;
    for (const n of counts) expect(n).toBeGreaterThan(60);
  });
});

describe('link batches', () => {
  const item = (i: number, bytes: number): LinkItem => ({
    t: 'push',
    out: { type: 'push', key: 'k', value: 'x'.repeat(bytes), seq: i },
    bytes: false,
    act: 'append',
    floor: 0,
  });

  it('a turn over the batch limit goes as several consecutive batches, in order; an item over it goes alone', () => {
    const items = Array.from({ length: 10 }, (_, i) => item(i + 1, 300));
    items.push(item(11, 5000));
    const batches = encodeBatches(7, 41, items, 1000).map(decodeBatch);
    expect(batches.length).toBeGreaterThan(3);
    expect(batches.map((b) => b.n)).toEqual(batches.map((_, i) => 41 + i));
    expect(batches.every((b) => b.epoch === 7)).toBe(true);
    expect(batches.flatMap((b) => b.items.map((x) => (x.t === 'push' ? x.out.seq : 0)))).toEqual(
      items.map((_, i) => i + 1),
    );
    expect(batches.at(-1)!.items).toHaveLength(1);
  });
});

describe('DriftDB in a fanned-out room', () => {
  it('a DriftDB-style socket (no hello, no sub) gets every push, and its get is answered in order', async () => {
    const room = await newFanoutRoom(2);
    const { s: pub, welcome } = await clientOn(room, 2, 0);
    pub.send(push('a', 1, 'append', 'a1'));
    await pub.until((m) => m.type === 'ack');
    const drift = await connect(room);
    drift.send({ type: 'get', key: 'a', seq: 0 });
    pub.send(push('b', 2));
    pub.send(push('a', 3));
    expect(await drift.next()).toEqual({
      type: 'init',
      key: 'a',
      data: [{ value: 1, seq: 1, client: welcome.client }],
    });
    const live = [await drift.next(), await drift.next()];
    expect(live.map((m) => [m.key, m.value])).toEqual([
      ['b', 2],
      ['a', 3],
    ]);
    // On whichever leaf it landed, one replay came from the root.
    const stats = await Promise.all([leafStats(room, 0), leafStats(room, 1)]);
    expect(stats.reduce((n, st) => n + st.rootReplays, 0)).toBe(1);
  });
});
