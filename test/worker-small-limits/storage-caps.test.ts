// The retention wipe empties the room's storage counts too: after it, the
// room takes as many subjects (MAX_SUBJECTS, 4 here) and bytes (MAX_ROOM_BYTES,
// 1000) as a new one.
import { describe, expect, it } from 'vitest';
import { connect, freshRoom, push } from '../worker/helpers.ts';

describe('storage caps and the retention wipe', () => {
  it('counts subjects and bytes from zero after a wipe', async () => {
    const room = freshRoom();
    const s = await connect(room);
    const big = 'x'.repeat(900 - 2 - 1 - 16); // an entry of 900 bytes under key `a`
    s.send(push('a', big));
    for (const key of ['b', 'c', 'd']) s.send(push(key, 1)); // 18 bytes each
    s.send(push('e', 1));
    s.send(push('a', 'x'.repeat(100 - 2 - 1 - 16)));
    const replies = await s.drain();
    expect(replies.filter((m) => m.type === 'error')).toEqual([
      { type: 'error', code: 'too_many_subjects', key: 'e', message: 'A room may hold 4 subjects (maxSubjects)' },
      {
        type: 'error',
        code: 'room_storage_full',
        key: 'a',
        message: 'The room holds 954 of 1000 bytes (maxRoomBytes); this write needs 100 more',
      },
    ]);
    expect(await s.closed.then((c) => c.code)).toBe(4000); // wiped; bounded by the test timeout

    const after = await connect(room);
    after.send(push('e', 1));
    after.send(push('a', big));
    const echoes = await after.drain();
    expect(echoes.map((m) => [m.type, m.key])).toEqual([
      ['push', 'e'],
      ['push', 'a'],
    ]);
  }, 10_000);
});
