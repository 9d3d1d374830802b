// State survives eviction, restart and hibernation; the sequence number is never reused.
import { abortAllDurableObjects, evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { connect, connectClient, freshRoom, idOf, push, roomStub } from './helpers.ts';

describe('persistence', () => {
  it('keeps values and the counter across an eviction, and never reuses a seq', async () => {
    const room = freshRoom();
    const a = await connect(room);
    a.send(push('log', 'before'));
    a.send(push('x', 'relayed', 'relay'));
    await a.drain();
    a.close();
    await a.closed;
    await evictDurableObject(roomStub(room), { webSockets: 'close' });
    const b = await connect(room);
    b.send({ type: 'get', key: 'log', seq: 0 });
    b.send(push('log', 'after'));
    const msgs = await b.drain();
    expect(msgs[0]).toEqual({ type: 'init', key: 'log', data: [{ value: 'before', seq: 1 }] });
    // The relay took seq 2 and stored nothing; a new push must still be above it.
    expect(msgs[1].seq).toBeGreaterThan(2);
  });

  it('keeps values across a restart of every object', async () => {
    const room = freshRoom();
    const a = await connect(room);
    a.send(push('kv', { v: 1 }, 'replace'));
    await a.drain();
    await abortAllDurableObjects();
    const b = await connect(room);
    b.send({ type: 'get', key: 'kv' });
    expect(await b.next()).toEqual({ type: 'init', key: 'kv', data: [{ value: { v: 1 }, seq: 1 }] });
  });

  it('keeps hibernated sockets working, with their subscriptions, client IDs and presence', async () => {
    const room = freshRoom();
    const { s: alice } = await connectClient(room, 'alice', { name: 'Alice' });
    const { s: bob } = await connectClient(room, 'bob');
    await alice.until((m) => m.type === 'presence' && m.event === 'join');
    alice.send({ type: 'sub', key: 'only-this', replay: false });
    const drift = await connect(room);
    await alice.drain();
    await evictDurableObject(roomStub(room)); // hibernate, keeping sockets open

    bob.send(push('only-this', 1, 'relay'));
    bob.send(push('other', 2, 'relay'));
    await bob.drain();
    expect(await alice.drain()).toEqual([
      { type: 'push', key: 'only-this', value: 1, seq: expect.any(Number), client: idOf('bob') },
    ]);
    expect((await drift.drain()).map((m) => m.key)).toEqual(['only-this', 'other']);

    const { welcome } = await connectClient(room, 'carol');
    expect(welcome.peers).toEqual(
      expect.arrayContaining([
        { conn: expect.any(String), client: idOf('alice'), state: { name: 'Alice' } },
        { conn: expect.any(String), client: idOf('bob'), state: null },
      ]),
    );
    expect(welcome.peers).toHaveLength(2);
  });
});
