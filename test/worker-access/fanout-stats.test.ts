// GET /room/:id/stats (docs/hot-rooms.md): what a fanned-out room's object and leaves did
// since they started, for operators and benchmarks; an admin token, as for revoke.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../e2e/wait.ts';
import { http, push, type Msg } from '../worker/helpers.ts';
import { clientOn, newFanoutRoom, pushesOf } from '../worker-fanout/helpers.ts';
import { tokenFor } from './tokens.ts';

async function stats(room: string, token?: string): Promise<{ status: number; body: Msg }> {
  const res = await http(`/room/${room}/stats`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, body: await res.json() };
}

describe('room stats', () => {
  it('need an admin token for the room', async () => {
    const room = await newFanoutRoom(2);
    expect(await stats(room)).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    const reader = await tokenFor(room, 'reader');
    expect(await stats(room, reader)).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    const elsewhere = await tokenFor('another-room', 'ops', { rights: { admin: true } });
    expect((await stats(room, elsewhere)).status).toBe(403);
  });

  it("count the root's turns, batches and sends, the leaves' calls, and the deliveries they report", async () => {
    const room = await newFanoutRoom(2);
    const admin = await tokenFor(room, 'ops', { rights: { admin: true } });
    const pub = await clientOn(room, 2, 0);
    const sub = await clientOn(room, 2, 1);
    sub.s.send({ type: 'sub', key: 'k' });
    await sub.s.until((m) => m.type === 'init');
    for (let i = 1; i <= 3; i++) pub.s.send(push('k', i, 'append', `p${i}`));
    await pushesOf(sub.s, 'k', 3);
    // The publisher said hello and subscribes to nothing, so it gets no push: 3 deliveries, reported after the fact.
    const { body } = await waitFor(
      async () => {
        const got = await stats(room, admin);
        return got.body.room.deliveries === 3 && got;
      },
      3000,
      'the deliveries reported',
    );
    const { room: root, leaves } = body;
    expect(root).toMatchObject({ leaves: 2, pushes: 3, seq: 3, deliveries: 3 });
    expect(root.publishes).toBeGreaterThanOrEqual(1);
    expect(root.publishes).toBeLessThanOrEqual(3);
    expect(root.turns).toBeGreaterThanOrEqual(1);
    expect(root.batches).toBe(root.turns); // no turn here is over LINK_BATCH_BYTES
    // The 3 pushes, and the two members' joins: one presence item, or two if they came in two turns.
    expect(root.items).toBeGreaterThanOrEqual(4);
    expect(root.items).toBeLessThanOrEqual(5);
    expect(root.sends).toBe(2 * root.batches);
    expect(root.bytes).toBeGreaterThan(0);
    // A first subscription replays from the root: one chunk.
    expect(root.replays).toBe(1);
    expect(leaves).toHaveLength(2);
    expect(leaves.map((l: Msg) => [l.leaf, l.sockets])).toEqual([
      [0, 1],
      [1, 1],
    ]);
    expect(leaves[0].forwards).toBe(root.publishes);
    expect(leaves[1].forwards).toBe(0);
    for (const leaf of leaves) expect(leaf.batches).toBe(root.batches);
  });

  it('of a room of one object: zeros, and no leaves', async () => {
    const room = `plain-${Date.now()}`;
    const admin = await tokenFor(room, 'ops', { rights: { admin: true } });
    const { status, body } = await stats(room, admin);
    expect(status).toBe(200);
    expect(body.leaves).toEqual([]);
    expect(body.room).toMatchObject({ leaves: 0, turns: 0, batches: 0, publishes: 0, deliveries: 0 });
  });
});
