// DriftDB's own cases, and the sequence numbers every action takes.
import { describe, expect, it } from 'vitest';
import { connect, freshRoom, push } from './helpers.ts';

describe('actions and sequence numbers', () => {
  it('replies to get on a new subject with an empty init', async () => {
    const s = await connect(freshRoom());
    s.send({ type: 'get', key: 'foo', seq: 0 });
    expect(await s.next()).toEqual({ type: 'init', key: 'foo', data: [] });
  });

  it('treats a missing get seq as 0 and a null one as no reply', async () => {
    const s = await connect(freshRoom());
    s.send(push('k', 'a'));
    await s.until((m) => m.type === 'push');
    s.send({ type: 'get', key: 'k', seq: null });
    s.send({ type: 'get', key: 'k' });
    expect(await s.drain()).toEqual([{ type: 'init', key: 'k', data: [{ value: 'a', seq: 1 }] }]);
  });

  it('numbers relay, append and replace from 1 across subjects, and relays count', async () => {
    const room = freshRoom();
    const a = await connect(room);
    const b = await connect(room);
    a.send(push('x', 'r1', 'relay'));
    a.send(push('y', 'a1', 'append'));
    a.send(push('x', 'p1', 'replace'));
    const seen = [await b.next(), await b.next(), await b.next()];
    expect(seen).toEqual([
      { type: 'push', key: 'x', value: 'r1', seq: 1 },
      { type: 'push', key: 'y', value: 'a1', seq: 2 },
      { type: 'push', key: 'x', value: 'p1', seq: 3 },
    ]);
  });

  it('echoes an append to its sender, then stream_size once the stream holds more than one value', async () => {
    const s = await connect(freshRoom());
    for (const v of ['a', 'b', 'c']) s.send(push('log', v));
    expect(await s.drain()).toEqual([
      { type: 'push', key: 'log', value: 'a', seq: 1 },
      { type: 'push', key: 'log', value: 'b', seq: 2 },
      { type: 'stream_size', key: 'log', size: 2 },
      { type: 'push', key: 'log', value: 'c', seq: 3 },
      { type: 'stream_size', key: 'log', size: 3 },
    ]);
    const late = await connect(freshRoom());
    late.send({ type: 'get', key: 'log', seq: 0 });
    expect((await late.next()).data).toEqual([]); // another room: nothing
  });

  it('replays a durable value to a later connection, but never a relay', async () => {
    const room = freshRoom();
    const a = await connect(room);
    a.send(push('state', { n: 1 }, 'replace'));
    a.send(push('chat', 'hi', 'relay'));
    await a.drain();
    const b = await connect(room);
    b.send({ type: 'get', key: 'state', seq: 0 });
    b.send({ type: 'get', key: 'chat', seq: 0 });
    expect(await b.drain()).toEqual([
      { type: 'init', key: 'state', data: [{ value: { n: 1 }, seq: 1 }] },
      { type: 'init', key: 'chat', data: [] },
    ]);
  });

  it('keeps only the latest value on replace', async () => {
    const room = freshRoom();
    const a = await connect(room);
    for (const v of [1, 2, 3]) a.send(push('slider', v, 'replace'));
    await a.drain();
    const b = await connect(room);
    b.send({ type: 'get', key: 'slider', seq: 0 });
    expect(await b.next()).toEqual({ type: 'init', key: 'slider', data: [{ value: 3, seq: 3 }] });
  });

  it('compacts: drops seq ≤ N, keeps the snapshot at N, broadcasts nothing', async () => {
    const room = freshRoom();
    const a = await connect(room);
    const watcher = await connect(room);
    for (const v of ['moo', 'baa', 'boo']) a.send(push('s', { v }));
    await a.drain();
    await watcher.drain();
    a.send(push('s', { moo: 'ram' }, { type: 'compact', seq: 2 }));
    expect(await a.drain()).toEqual([{ type: 'stream_size', key: 's', size: 2 }]);
    expect(await watcher.drain()).toEqual([]);
    const late = await connect(room);
    late.send({ type: 'get', key: 's', seq: 0 });
    expect(await late.next()).toEqual({
      type: 'init',
      key: 's',
      data: [
        { value: { moo: 'ram' }, seq: 2 },
        { value: { v: 'boo' }, seq: 3 },
      ],
    });
    // Replaying from at or above the snapshot skips it.
    late.send({ type: 'get', key: 's', seq: 2 });
    expect(await late.next()).toEqual({ type: 'init', key: 's', data: [{ value: { v: 'boo' }, seq: 3 }] });
  });

  it('ignores a compaction older than the last one, and rejects one beyond the latest seq', async () => {
    const s = await connect(freshRoom());
    for (const v of [1, 2, 3, 4]) s.send(push('s', v));
    s.send(push('s', 'snap3', { type: 'compact', seq: 3 }));
    s.send(push('s', 'snap2', { type: 'compact', seq: 2 }));
    s.send(push('s', 'future', { type: 'compact', seq: 99 }));
    s.send({ type: 'get', key: 's', seq: 0 });
    const msgs = await s.drain();
    expect(msgs.find((m) => m.type === 'error')).toEqual({
      type: 'error',
      code: 'bad_message',
      key: 's',
      message: "compact seq 99 is beyond the room's latest seq 4",
    });
    expect(msgs.at(-1)).toEqual({
      type: 'init',
      key: 's',
      data: [
        { value: 'snap3', seq: 3 },
        { value: 4, seq: 4 },
      ],
    });
  });

  it('answers ping with pong, echoing the nonce, and the bare ping without waking the room', async () => {
    const s = await connect(freshRoom());
    s.send({ type: 'ping', nonce: 7 });
    expect(await s.next()).toEqual({ type: 'pong', nonce: 7 });
    s.sendRaw('{"type":"ping"}');
    expect(await s.next()).toEqual({ type: 'pong', nonce: null });
  });
});
