// HTTP `get` replies one page at a time: a stream of megabytes comes back in
// replies of at most one replay frame (32 KiB here), with no gap or duplicate.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../protocol/limits.ts';
import { REPLAY_FRAME_BYTES } from '../../worker/replay.ts';
import { connect, freshRoom, http, push, type Msg } from '../worker/helpers.ts';

const PAGE = Math.min(DEFAULT_LIMITS.maxMessageBytes, REPLAY_FRAME_BYTES);
const SIZES = [20, 900, 4000, 12_000, 150, 2500, 31_000, 7];

async function get(room: string, key: string, seq: number): Promise<{ text: string; body: Msg }> {
  const res = await http(`/room/${room}/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'get', key, seq }),
  });
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, body: JSON.parse(text) };
}

describe('HTTP get paging', () => {
  it('pages through a stream of megabytes, each reply within a frame, with no gap or duplicate', async () => {
    const room = freshRoom();
    const w = await connect(room);
    const written: { value: string; seq: number }[] = [];
    const append = async (count: number, sizes = SIZES) => {
      const values = Array.from(
        { length: count },
        (_, i) => `${written.length + i}:${'x'.repeat(sizes[(written.length + i) % sizes.length]!)}`,
      );
      for (const v of values) w.send(push('log', v));
      // DriftDB sockets get every push back, in order, with its seq.
      const echoes = (await w.drain(20_000)).filter((m) => m.type === 'push');
      expect(echoes.map((m) => m.value)).toEqual(values);
      written.push(...echoes.map((m) => ({ value: m.value as string, seq: m.seq as number })));
    };
    await append(500);
    // Two values over a page each: they come back alone.
    for (const n of [100_000, 200_000]) {
      w.send(push('log', `${written.length}:${'y'.repeat(n)}`));
      const [echo] = await w.drain();
      written.push({ value: echo.value, seq: echo.seq });
    }
    await append(100);
    // Small values, many hundreds to a page (more than the room reads from SQLite at once).
    await append(3000, [1, 5, 10]);
    const total = written.reduce((n, e) => n + e.value.length, 0);
    expect(total).toBeGreaterThan(3_000_000);

    const got: { value: string; seq: number }[] = [];
    let seq = 0;
    let pages = 0;
    for (;;) {
      const { text, body } = await get(room, 'log', seq);
      pages++;
      expect(body.type).toBe('init');
      expect(body.reset).toBeUndefined();
      expect(body.data.length).toBeGreaterThan(0);
      // Within a page, unless it is one value too large for a page by itself.
      if (text.length > PAGE) {
        expect(body.data).toHaveLength(1);
        expect(body.data[0].value.length).toBeGreaterThan(PAGE);
        expect(text.length).toBeLessThanOrEqual(DEFAULT_LIMITS.maxMessageBytes);
      }
      got.push(...body.data);
      seq = body.data.at(-1).seq;
      // Values appended while a caller pages come in a later page.
      if (pages % 20 === 0) await append(3);
      if (!body.more) break;
      expect(body.more).toBe(true);
      expect(pages).toBeLessThan(1000);
    }
    expect(got).toEqual(written);
    expect(pages).toBeGreaterThan(total / PAGE);
    // Once at the end: an empty reply, in DriftDB's shape.
    expect((await get(room, 'log', seq)).text).toBe('{"type":"init","key":"log","data":[]}');
  }, 60_000);

  it('keeps DriftDB’s exact shape when everything fits in one reply', async () => {
    const room = freshRoom();
    const w = await connect(room);
    for (const v of ['a', 'b']) w.send(push('k', v));
    await w.drain();
    expect((await get(room, 'k', 0)).text).toBe(
      '{"type":"init","key":"k","data":[{"value":"a","seq":1},{"value":"b","seq":2}]}',
    );
    expect((await get(room, 'k', 1)).text).toBe('{"type":"init","key":"k","data":[{"value":"b","seq":2}]}');
  });
});
