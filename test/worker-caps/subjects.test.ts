// The subject cap: a room holds at most maxSubjects (4) subjects, with stored
// values or with subscribers. Relays never make one, and leave nothing behind.
import { describe, expect, it } from 'vitest';
import { connect, freshRoom, push } from '../worker/helpers.ts';
import { countsOf, entry, httpGet, MESSAGE_SUBJECTS } from './helpers.ts';

const tooMany = (key: string, id?: string) => ({
  type: 'error',
  code: 'too_many_subjects',
  message: MESSAGE_SUBJECTS,
  key,
  ...(id ? { id } : {}),
});

describe('subject cap', () => {
  it('refuses a write or a sub to a new subject past the cap, and keeps serving the subjects it holds', async () => {
    const room = freshRoom();
    const w = await connect(room);
    w.send(push('s1', 1));
    w.send(push('s2', 2, 'replace'));
    w.send(push('s3', 'snap', { type: 'compact', seq: 2 }));
    await w.drain();
    const b = await connect(room);
    b.send({ type: 'sub', key: 's4', replay: false }); // a subject with a subscriber and no values
    expect(await b.drain()).toEqual([]);
    expect(await countsOf(room)).toMatchObject({ subjects: 4 });

    w.send(push('s5', 'a', 'append', 'm1'));
    w.send(push('s5', 'r', 'replace'));
    w.send(push('s5', 'c', { type: 'compact', seq: 1 }));
    w.send(push('s5', 'relayed', 'relay')); // relays make no subject, so the cap does not apply
    expect(await w.drain()).toEqual([
      tooMany('s5', 'm1'),
      tooMany('s5'),
      tooMany('s5'),
      { type: 'push', key: 's5', value: 'relayed', seq: 3 }, // a compaction takes no seq
    ]);
    const c = await connect(room);
    c.send({ type: 'sub', key: 's6' });
    expect(await c.drain()).toEqual([tooMany('s6')]);
    expect(await httpGet(room, 's5')).toEqual({ type: 'init', key: 's5', data: [] });

    // The subjects the room holds all still work, the subscribed-only one too.
    c.send({ type: 'sub', key: 's1' });
    w.send(push('s1', 'more'));
    w.send(push('s4', 'stored now'));
    expect(await w.drain()).toEqual([
      { type: 'push', key: 's1', value: 'more', seq: 4 },
      { type: 'stream_size', key: 's1', size: 2 },
      { type: 'push', key: 's4', value: 'stored now', seq: 5 },
    ]);
    expect(await c.drain()).toEqual([
      { type: 'init', key: 's1', data: [entry(1, 1)] },
      { type: 'push', key: 's1', value: 'more', seq: 4 },
    ]);
    expect(await b.drain()).toEqual([{ type: 'push', key: 's4', value: 'stored now', seq: 5 }]);
    expect(await countsOf(room)).toMatchObject({ subjects: 4, rows: 4 });
  });

  it('frees a subject that only had subscribers once the last one leaves, by unsub or by closing', async () => {
    const room = freshRoom();
    const w = await connect(room);
    for (const key of ['s1', 's2', 's3']) w.send(push(key, 1));
    await w.drain();
    const b = await connect(room);
    const c = await connect(room);
    b.send({ type: 'sub', key: 'watched', replay: false });
    c.send({ type: 'sub', key: 'watched', replay: false });
    await b.drain();
    await c.drain();
    b.send({ type: 'unsub', key: 'watched' });
    await b.drain();
    w.send(push('s4', 1));
    expect(await w.drain()).toEqual([tooMany('s4')]); // c still subscribes to `watched`
    c.close();
    await c.closed;
    await b.drain(); // the room has handled the close by the time it answers
    w.send(push('s4', 1));
    expect(await w.drain()).toEqual([{ type: 'push', key: 's4', value: 1, seq: 4 }]);
    expect(await countsOf(room)).toMatchObject({ subjects: 4, rows: 4 });
  });

  it('keeps no state for keys that only relays touched, however many', async () => {
    const room = freshRoom();
    const w = await connect(room);
    w.send(push('kept', 1));
    for (let i = 0; i < 500; i++) w.send(push(`relay-${i}`, i, 'relay', i % 2 ? `id-${i}` : undefined));
    const replies = await w.drain(10_000);
    expect(replies.filter((m) => m.type === 'push')).toHaveLength(501);
    expect(replies.filter((m) => m.type === 'error')).toEqual([]);
    expect(await countsOf(room)).toEqual({ subjects: 1, bytes: 1 + 4 + 16, cached: 1, rows: 1 });
    // So the room still has room for three more subjects.
    for (const key of ['n1', 'n2', 'n3', 'n4']) w.send(push(key, 1));
    const after = await w.drain();
    expect(after.slice(0, 3).map((m) => m.type)).toEqual(['push', 'push', 'push']);
    expect(after[3]).toEqual(tooMany('n4'));
  });
});
