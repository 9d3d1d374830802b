// A room of one object that crosses its threshold (FANOUT_AT_SOCKETS, 3 in this project) fans out
// the next time it has no socket (docs/hot-rooms.md, Crossing the threshold).
import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { leafFor, leafName } from '../../worker/fanout.ts';
import { fanoutThreshold, leavesForCrowd, REMEMBERED_SWITCHES, SwitchedRooms } from '../../worker/fanout-switch.ts';
import type { Room } from '../../worker/room.ts';
import { createEdgeroom } from '../../worker/server.ts';
import { tokenFor } from '../worker-access/tokens.ts';
import { waitFor } from '../e2e/wait.ts';
import { connect, http, idOf, push, roomStub, secretOf, TestSocket, type Msg } from '../worker/helpers.ts';

async function newRoom(): Promise<string> {
  const res = await http('/new', { method: 'POST' });
  expect(res.status).toBe(200);
  return ((await res.json()) as { room: string }).room;
}

/** An edgeroom client called `name`, welcomed; routed by its client ID as our client's hint does. */
async function client(room: string, name: string): Promise<{ s: TestSocket; welcome: Msg }> {
  const s = await connect(room, `?client=${idOf(name)}`);
  s.send({ type: 'hello', protocol: 1, secret: secretOf(name) });
  const welcome = await s.next();
  expect(welcome.type).toBe('welcome');
  return { s, welcome };
}

/** Closes every socket and waits until the room's object holds none. */
async function everyoneLeaves(room: string, sockets: TestSocket[]): Promise<void> {
  for (const s of sockets) s.close();
  await Promise.all(sockets.map((s) => s.closed));
  await waitFor(
    () => runInDurableObject(roomStub(room), (_: Room, state) => state.getWebSockets().length === 0),
    5000,
    'the room to hold no socket',
  );
}

/** A room that a crowd of 3 (the threshold here) made decide, and that everyone has left since. */
async function crowdedThenEmpty(label: string): Promise<string> {
  const room = await newRoom();
  const crowd = await Promise.all([1, 2, 3].map((i) => client(room, `${label}${i}`)));
  await everyoneLeaves(
    room,
    crowd.map((c) => c.s),
  );
  return room;
}

const leafOfConn = (conn: string): number | undefined =>
  /^(\d+)\./.exec(conn) ? Number(conn.split('.')[0]) : undefined;

describe('a room that crosses FANOUT_AT_SOCKETS', () => {
  it('stays one object below the threshold, however often its sockets come and go', async () => {
    const room = await newRoom();
    for (let round = 0; round < 2; round++) {
      const a = await client(room, `below-a${round}`);
      const b = await client(room, `below-b${round}`);
      expect(leafOfConn(a.welcome.conn)).toBeUndefined();
      expect(leafOfConn(b.welcome.conn)).toBeUndefined();
      await everyoneLeaves(room, [a.s, b.s]);
    }
    expect(await roomStub(room).leaves()).toBe(0);
  });

  it('keeps its open sockets on one object past the threshold, then fans out once all have left, losing nothing', async () => {
    const room = await newRoom();
    const crowd = await Promise.all(['x1', 'x2', 'x3'].map((n) => client(room, n)));
    // Past the threshold, and still one object: a fourth socket joins the same one, and hears the others.
    const fourth = await client(room, 'x4');
    expect(leafOfConn(fourth.welcome.conn)).toBeUndefined();
    expect(await roomStub(room).leaves()).toBe(0);
    for (const [i, { s }] of crowd.entries()) s.send(push('log', `before-${i}`, 'append', `b${i}`));
    await Promise.all(crowd.map(({ s }, i) => s.until((m) => m.type === 'ack' && m.id === `b${i}`)));
    await everyoneLeaves(room, [...crowd.map((c) => c.s), fourth.s]);

    // Everyone reconnects (a deploy): the room now has leavesForCrowd(4) = 2 leaves.
    const names = ['x1', 'x2', 'x3', 'x4'];
    const back = await Promise.all(names.map((n) => client(room, n)));
    expect(await roomStub(room).leaves()).toBe(leavesForCrowd(4));
    for (const [i, { welcome }] of back.entries()) {
      // Each lands on the leaf its client ID routes to, and keeps its client ID.
      expect(leafOfConn(welcome.conn)).toBe(leafFor(2, idOf(names[i]!)));
      expect(welcome.client).toBe(idOf(names[i]!));
    }
    expect(new Set(back.map((b) => leafOfConn(b.welcome.conn))).size).toBe(2);
    // Resuming from 0 through a leaf replays what the one object stored, once and in order.
    const stored = await Promise.all(
      back.map(async ({ s }) => {
        s.send({ type: 'sub', key: 'log', seq: 0 });
        return (await s.until((m) => m.type === 'init')).data.map((e: Msg) => e.value);
      }),
    );
    for (const values of stored) expect(values.sort()).toEqual(['before-0', 'before-1', 'before-2']);
    // Live: a push on one leaf reaches every subscriber on both, with one seq.
    back[0]!.s.send(push('log', 'after', 'append', 'a1'));
    const live = await Promise.all(back.map(({ s }) => s.until((m) => m.type === 'push' && m.value === 'after')));
    expect(new Set(live.map((m) => m.seq)).size).toBe(1);
    // An HTTP send goes to the root, which delivers it through the leaves.
    const sent = await http(`/room/${room}/send`, {
      method: 'POST',
      body: JSON.stringify({ type: 'push', action: { type: 'append' }, key: 'log', value: 'by-http' }),
    });
    expect(sent.status).toBe(200);
    for (const { s } of back) await s.until((m) => m.type === 'push' && m.value === 'by-http');
    // A direct message crosses from one leaf to the other (each leaf was told the room has 2).
    const [from, to] = [
      back.find((b) => leafOfConn(b.welcome.conn) === 0)!,
      back.find((b) => leafOfConn(b.welcome.conn) === 1)!,
    ];
    from.s.send({ type: 'dm', to: to.welcome.conn, value: 'across', id: 'd1' });
    expect(await to.s.until((m) => m.type === 'dm')).toEqual({ type: 'dm', from: from.welcome.conn, value: 'across' });
    for (const { s } of back) s.close();
  });

  it('is remembered across the root being evicted, and a DriftDB socket works on a leaf', async () => {
    const room = await crowdedThenEmpty('y');
    await evictDurableObject(roomStub(room));
    const drift = await connect(room);
    drift.send({ type: 'push', action: { type: 'append' }, key: 'd', value: 1 });
    // On a leaf a push goes to the root and back: its echo comes before a replay can hold it.
    await drift.until((m) => m.type === 'push' && m.value === 1);
    drift.send({ type: 'get', key: 'd', seq: 0 });
    const init = await drift.until((m) => m.type === 'init');
    expect(init.data.map((e: Msg) => e.value)).toEqual([1]);
    expect(await roomStub(room).leaves()).toBe(2);
    // The socket is on a leaf: the root's object holds none.
    expect(await runInDurableObject(roomStub(room), (_: Room, state) => state.getWebSockets().length)).toBe(0);
    drift.close();
  });

  it('shows members on one leaf to those on the other after the switch (presence across leaves)', async () => {
    const room = await crowdedThenEmpty('p');
    // Two names the Worker routes to different leaves of 2.
    const names = ['p-a', 'p-b', 'p-c', 'p-d'];
    const a = names.find((n) => leafFor(2, idOf(n)) === 0)!;
    const b = names.find((n) => leafFor(2, idOf(n)) === 1)!;
    const first = await client(room, a);
    const second = await client(room, b);
    expect([leafOfConn(first.welcome.conn), leafOfConn(second.welcome.conn)]).toEqual([0, 1]);
    // `b` learns of `a` in its welcome or in a join right after (a's join travels through the root).
    const seen = (m: Msg) => m.type === 'presence' && m.event === 'join' && m.peer.conn === first.welcome.conn;
    if (!second.welcome.peers.some((p: Msg) => p.conn === first.welcome.conn)) await second.s.until(seen);
    expect((await first.s.until((m) => m.type === 'presence' && m.event === 'join')).peer).toMatchObject({
      conn: second.welcome.conn,
      client: idOf(b),
    });
    first.s.close();
    expect((await second.s.until((m) => m.type === 'presence' && m.event === 'leave')).peer.conn).toBe(
      first.welcome.conn,
    );
    second.s.close();
  });

  it('replaces a client’s older socket on its leaf (4001) after the switch', async () => {
    const room = await crowdedThenEmpty('z');
    const first = await client(room, 'z1');
    const second = await client(room, 'z1');
    expect((await first.s.closed).code).toBe(4001);
    expect(leafOfConn(second.welcome.conn)).toBe(leafOfConn(first.welcome.conn));
    second.s.close();
  });

  it('revokes tokens on its leaves (the Worker asks the root how many there are)', async () => {
    const room = await crowdedThenEmpty('r');
    // Issued a minute ago: a revocation covers tokens issued before it.
    const token = await tokenFor(room, 'revoked-user', { iat: Math.floor(Date.now() / 1000) - 60 });
    const res = await http(`/room/${room}/connect?token=${token}`, { headers: { Upgrade: 'websocket' } });
    expect(res.status).toBe(101);
    const s = new TestSocket(res.webSocket!);
    s.send({ type: 'hello', protocol: 1, secret: secretOf('revoked-user') });
    expect(leafOfConn((await s.next()).conn)).toBe(leafFor(2, 'revoked-user'));
    const admin = await tokenFor(room, 'operator', { rights: { admin: true } });
    const revoked = await http(`/room/${room}/revoke`, {
      method: 'POST',
      body: JSON.stringify({ user: 'revoked-user' }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
    });
    expect(await revoked.json()).toMatchObject({ closed: 1 });
    // The counters reach the leaves too: the room's object holds no socket, the leaves do.
    const stats = await http(`/room/${room}/stats`, { headers: { authorization: `Bearer ${admin}` } });
    const body = (await stats.json()) as { room: { leaves: number }; leaves: { leaf: number }[] };
    expect(body.leaves.map((l) => l.leaf)).toEqual([0, 1]);
    expect((await s.closed).code).toBe(4102);
  });
});

describe('a Worker isolate that has not seen the switch', () => {
  it("asks the root for its leaves before a revoke or the stats, and reaches the leaves' sockets", async () => {
    const room = await crowdedThenEmpty('i');
    // Issued a minute ago: a revocation covers tokens issued before it.
    const token = await tokenFor(room, 'isolate-user', { iat: Math.floor(Date.now() / 1000) - 60 });
    const res = await http(`/room/${room}/connect?token=${token}`, { headers: { Upgrade: 'websocket' } });
    const s = new TestSocket(res.webSocket!);
    s.send({ type: 'hello', protocol: 1, secret: secretOf('isolate-user') });
    expect(leafOfConn((await s.next()).conn)).toBe(leafFor(2, 'isolate-user'));
    // A router of its own, as in another isolate: it has never heard that this room switched.
    const fresh = createEdgeroom();
    const admin = await tokenFor(room, 'operator', { rights: { admin: true } });
    const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    const stats = await fresh.fetch(new Request(`http://edgeroom.test/room/${room}/stats`, { headers }), env);
    expect(((await stats.json()) as { leaves: { leaf: number }[] }).leaves.map((l) => l.leaf)).toEqual([0, 1]);
    const revoked = await fresh.fetch(
      new Request(`http://edgeroom.test/room/${room}/revoke`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ user: 'isolate-user' }),
      }),
      env,
    );
    expect(await revoked.json()).toMatchObject({ closed: 1 });
    expect((await s.closed).code).toBe(4102);
  });
});

describe('the switch, in parts', () => {
  it('sizes the leaves by the crowd: 2 to MAX_LEAVES, one per 500 sockets', () => {
    expect([2000, 2001, 2500, 4000, 7999, 8000, 30_000].map(leavesForCrowd)).toEqual([4, 5, 5, 8, 16, 16, 16]);
    expect(leavesForCrowd(3)).toBe(2);
  });

  it('reads FANOUT_AT_SOCKETS: a number of at least 2, or "off"; anything else fails loudly', () => {
    expect(fanoutThreshold({})).toBe(2000);
    expect(fanoutThreshold({ FANOUT_AT_SOCKETS: '5000' })).toBe(5000);
    expect(fanoutThreshold({ FANOUT_AT_SOCKETS: 'off' })).toBeUndefined();
    expect(() => fanoutThreshold({ FANOUT_AT_SOCKETS: '1' })).toThrow(/Bad FANOUT_AT_SOCKETS/);
    expect(() => fanoutThreshold({ FANOUT_AT_SOCKETS: 'soon' })).toThrow(/Bad FANOUT_AT_SOCKETS/);
  });

  it("the Worker remembers at most REMEMBERED_SWITCHES rooms, forgetting the oldest, and only a root's 421", () => {
    const rooms = new SwitchedRooms();
    for (let i = 0; i <= REMEMBERED_SWITCHES; i++) rooms.remember(`r${i}`, 2);
    expect(rooms.leavesOf('r0')).toBe(0);
    expect(rooms.leavesOf('r1')).toBe(2);
    expect(rooms.leavesOf(`r${REMEMBERED_SWITCHES}`)).toBe(2);
    const answer = (status: number, leaves: string) =>
      new Response(null, { status, headers: { 'x-edgeroom-leaves': leaves } });
    expect(rooms.rememberAnswer('a', answer(421, '3'))).toBe(3);
    expect(rooms.rememberAnswer('b', answer(200, '3'))).toBe(0);
    expect(rooms.rememberAnswer('c', answer(421, '17'))).toBe(0);
    expect(rooms.leavesOf('b')).toBe(0);
  });

  it('names leaves of a switched room as those of a fanned-out one', () => {
    expect(leafName('abc', 1)).toBe('abc#1');
    expect(env.LEAVES).toBeDefined();
  });
});
