// Every storage cap holds across an eviction (sockets closed or hibernated)
// and a restart of every object: the counts come back from storage, exactly.
import { abortAllDurableObjects, evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { connect, freshRoom, push, roomStub, type TestSocket } from '../worker/helpers.ts';
import { countsOf, entry, httpGet, MESSAGE_SUBJECTS, sized, subFrom } from './helpers.ts';

const ways = {
  'an eviction': (room: string) => evictDurableObject(roomStub(room), { webSockets: 'close' }),
  'a hibernation': (room: string) => evictDurableObject(roomStub(room)),
  'a restart': () => abortAllDurableObjects(),
};

describe.each(Object.entries(ways))('storage caps across %s', (_name, restart) => {
  it('keeps the subject count, the room bytes and each stream trimmed, with its floor', async () => {
    const room = freshRoom();
    const w = await connect(room);
    for (let i = 1; i <= 7; i++) w.send(push('log', `e${i}`)); // seqs 1-7; 3-7 kept
    for (const key of ['r1', 'r2']) for (const f of 'abc') w.send(push(key, sized(key, 300, f))); // 8-13
    w.send(push('r3', sized('r3', 300))); // 14
    await w.drain();
    const before = await countsOf(room);
    expect(before).toEqual({ subjects: 4, bytes: 5 * 23 + 7 * 300, cached: 4, rows: 4 });

    await restart(room);
    const s = await connect(room);
    // The floor came back: a resume from below the trimmed entries is still a reset.
    const kept = [3, 4, 5, 6, 7].map((seq) => entry(`e${seq}`, seq));
    expect(await subFrom(room, 'log', 1)).toEqual([{ type: 'init', key: 'log', reset: true, data: kept }]);
    expect(await subFrom(room, 'log', 2)).toEqual([{ type: 'init', key: 'log', data: kept }]);
    expect(await countsOf(room)).toEqual(before);

    s.send(push('s5', 1, 'append', 'new'));
    s.send(push('r3', sized('r3', 300), 'append', 'big'));
    s.send(push('log', 'e8'));
    const replies = await s.drain();
    expect(replies.slice(0, 2)).toEqual([
      { type: 'error', code: 'too_many_subjects', id: 'new', key: 's5', message: MESSAGE_SUBJECTS },
      {
        type: 'error',
        code: 'room_storage_full',
        id: 'big',
        key: 'r3',
        message: 'The room holds 2215 of 2500 bytes (maxRoomBytes); this write needs 300 more',
      },
    ]);
    const e8 = replies[2];
    expect(e8).toMatchObject({ type: 'push', key: 'log', value: 'e8' });
    expect(e8.seq).toBeGreaterThan(14);
    expect(replies.slice(3)).toEqual([{ type: 'stream_size', key: 'log', size: 5 }]);
    const now = [...kept.slice(1), entry('e8', e8.seq)];
    expect(await httpGet(room, 'log')).toEqual({ type: 'init', key: 'log', data: now });
    expect(await subFrom(room, 'log', 2)).toEqual([{ type: 'init', key: 'log', reset: true, data: now }]);
    expect(await subFrom(room, 'log', 3)).toEqual([{ type: 'init', key: 'log', data: now }]);
  });
});

describe('subjects with only subscribers, across an eviction', () => {
  async function roomAtCap(): Promise<{ room: string; w: TestSocket; b: TestSocket }> {
    const room = freshRoom();
    const w = await connect(room);
    for (const key of ['s1', 's2', 's3']) w.send(push(key, 1));
    await w.drain();
    const b = await connect(room);
    b.send({ type: 'sub', key: 'watched', replay: false });
    await b.drain();
    expect(await countsOf(room)).toMatchObject({ subjects: 4, rows: 3 });
    return { room, w, b };
  }

  it('counts them from the stored subscriptions of hibernated sockets, and frees them on unsub', async () => {
    const { room, w, b } = await roomAtCap();
    await evictDurableObject(roomStub(room)); // sockets stay open, subscriptions in storage
    expect(await countsOf(room)).toMatchObject({ subjects: 4, rows: 3 });
    w.send(push('s4', 1));
    expect(await w.drain()).toEqual([
      { type: 'error', code: 'too_many_subjects', key: 's4', message: MESSAGE_SUBJECTS },
    ]);
    b.send({ type: 'unsub', key: 'watched' });
    await b.drain();
    w.send(push('s4', 1));
    expect(await w.drain()).toEqual([{ type: 'push', key: 's4', value: 1, seq: expect.any(Number) }]);
    expect(await countsOf(room)).toMatchObject({ subjects: 4, rows: 4 });
  });

  it('does not count the subscriptions of sockets that went away with the object', async () => {
    const { room } = await roomAtCap();
    await evictDurableObject(roomStub(room), { webSockets: 'close' });
    expect(await countsOf(room)).toMatchObject({ subjects: 3, rows: 3 });
    const w = await connect(room);
    w.send(push('s4', 1));
    expect(await w.drain()).toEqual([{ type: 'push', key: 's4', value: 1, seq: expect.any(Number) }]);
  });
});
