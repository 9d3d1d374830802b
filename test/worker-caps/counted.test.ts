// Counted pushes against the storage caps of this project (2500 bytes per room): their
// rows count against maxRoomBytes, so a flood of new origins is refused once the room is
// full, and origins idle for the retention period are forgotten to make room.
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { storeOf } from '../../worker/store.ts';
import { connect, counted, freshRoom, roomStub, type TestSocket } from '../worker/helpers.ts';

/** Each origin and each number it has pushed: 22 characters of hash + 16 (no token here). */
const ROW = 38;
const MAX_ROOM_BYTES = 2500;
const originNo = (i: number) => `flooding-origin-${String(i).padStart(4, '0')}`;

const replies = async (s: TestSocket) => (await s.drain()).filter((m) => m.type === 'ack' || m.type === 'error');

const counters = (room: string) =>
  runInDurableObject(roomStub(room), (_instance, state) => {
    const store = storeOf(state.storage)!;
    const origins = state.storage.sql.exec<{ k: number }>('SELECT count(*) AS k FROM origins').one().k;
    return { origins, bytes: store.counterBytes(), room: store.roomBytes };
  });

describe('counted pushes and maxRoomBytes', () => {
  it('refuse new origins with room_storage_full once their rows fill the room, recording nothing', async () => {
    const room = freshRoom();
    const s = await connect(room);
    const fit = Math.floor(MAX_ROOM_BYTES / (2 * ROW));
    for (let i = 0; i < fit + 3; i++) s.send(counted('cursor', i, 1, originNo(i), 'relay'));
    const got = await replies(s);
    expect(got.slice(0, fit).every((m) => m.type === 'ack')).toBe(true);
    expect(got.slice(fit)).toEqual(
      [fit, fit + 1, fit + 2].map(() => ({
        type: 'error',
        code: 'room_storage_full',
        id: 'n1',
        key: 'cursor',
        message: `The room holds ${fit * 2 * ROW} of ${MAX_ROOM_BYTES} bytes (maxRoomBytes); this write needs ${2 * ROW} more`,
      })),
    );
    expect(await counters(room)).toEqual({
      origins: fit,
      bytes: { kept: fit * 2 * ROW, counted: fit * 2 * ROW },
      room: fit * 2 * ROW,
    });

    // A known origin's next number still fits (one row), as long as the room has room for it.
    s.send(counted('cursor', 'more', 2, originNo(0), 'relay'));
    expect(await replies(s)).toEqual([{ type: 'ack', id: 'n2', seq: expect.any(Number) }]);

    // Origins idle for the retention period make room: the refused push, resent, is applied once.
    await runInDurableObject(roomStub(room), (_instance, state) => {
      state.storage.sql.exec('UPDATE origins SET at = 0 WHERE origin IN (SELECT origin FROM origins LIMIT 4)');
    });
    s.send(counted('cursor', fit, 1, originNo(fit), 'relay'));
    s.send(counted('cursor', fit, 1, originNo(fit), 'relay'));
    const [applied, duplicate] = await replies(s);
    expect(applied).toEqual({ type: 'ack', id: 'n1', seq: expect.any(Number) });
    expect(duplicate).toEqual({ type: 'ack', id: 'n1', seq: applied.seq, duplicate: true });
    const after = await counters(room);
    expect(after.origins).toBe(fit - 4 + 1);
    expect(after.bytes.kept).toBe(after.bytes.counted);
    expect(after.room).toBe(after.bytes.kept);
  });
});
