// The room's byte cap: a write that would take the room's stored bytes over
// maxRoomBytes (2500) is refused with room_storage_full, and nothing is stored.
import { describe, expect, it } from 'vitest';
import { connect, freshRoom, push } from '../worker/helpers.ts';
import { countsOf, entry, httpGet, httpSend, sized } from './helpers.ts';

describe('room byte cap', () => {
  it('refuses a write that would take the room over its bytes, and takes one that frees as much as it adds', async () => {
    const room = freshRoom();
    const w = await connect(room);
    const v = (key: string, fill: string) => sized(key, 300, fill);
    for (const key of ['r1', 'r2']) for (const f of 'abc') w.send(push(key, v(key, f)));
    w.send(push('r3', v('r3', 'a')));
    w.send(push('r3', v('r3', 'b')));
    await w.drain();
    expect(await countsOf(room)).toMatchObject({ bytes: 2400 });

    const full = (need: number, id?: string) => ({
      type: 'error',
      code: 'room_storage_full',
      key: 'r3',
      ...(id ? { id } : {}),
      message: `The room holds 2400 of 2500 bytes (maxRoomBytes); this write needs ${need} more`,
    });
    w.send(push('r3', v('r3', 'c'), 'append', 'm1'));
    // A compaction that grows the subject: seq 7 (300 bytes) folded into a snapshot of 500.
    w.send(push('r3', sized('r3', 500), { type: 'compact', seq: 7 }));
    expect(await w.drain()).toEqual([full(300, 'm1'), full(200)]);
    const http = await httpSend(room, push('r3', v('r3', 'c')));
    expect(http).toMatchObject({ status: 400, body: full(300) });
    expect(await httpGet(room, 'r3')).toEqual({
      type: 'init',
      key: 'r3',
      data: [entry(v('r3', 'a'), 7), entry(v('r3', 'b'), 8)],
    });
    expect(await countsOf(room)).toMatchObject({ bytes: 2400 });

    // r1 is at its stream cap: an append trims as many bytes as it adds, so the room does not grow.
    w.send(push('r1', v('r1', 'd')));
    // A replace of two entries by one frees 300 bytes; then the refused append fits.
    w.send(push('r3', v('r3', 'r'), 'replace'));
    w.send(push('r3', v('r3', 'c'), 'append', 'm1'));
    expect(await w.drain()).toEqual([
      { type: 'push', key: 'r1', value: v('r1', 'd'), seq: 9 },
      { type: 'stream_size', key: 'r1', size: 3 },
      { type: 'push', key: 'r3', value: v('r3', 'r'), seq: 10 },
      { type: 'push', key: 'r3', value: v('r3', 'c'), seq: 11 },
      { type: 'ack', id: 'm1', seq: 11 },
      { type: 'stream_size', key: 'r3', size: 2 },
    ]);
    expect(await countsOf(room)).toMatchObject({ bytes: 2400 });
  });
});
