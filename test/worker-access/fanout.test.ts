// Tokens in a fanned-out room (docs/hot-rooms.md): the Worker's gate comes before any leaf,
// and each leaf applies a socket's rights, as a room of one object does.
import { describe, expect, it } from 'vitest';
import { leafFor } from '../../worker/fanout.ts';
import { http, push, TestSocket } from '../worker/helpers.ts';
import { View } from '../worker-presence/view.ts';
import { tokenFor } from './tokens.ts';

async function newPrivateFanoutRoom(leaves: number): Promise<string> {
  const admin = await tokenFor('p_*', 'operator', { rights: { admin: true } });
  const res = await http('/new', {
    method: 'POST',
    body: JSON.stringify({ private: true, leaves }),
    headers: { authorization: `Bearer ${admin}` },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { room: string }).room;
}

async function open(room: string, token?: string): Promise<TestSocket> {
  const res = await http(`/room/${room}/connect${token ? `?token=${token}` : ''}`, {
    headers: { Upgrade: 'websocket' },
  });
  expect(res.status).toBe(101);
  return new TestSocket(res.webSocket!);
}

/** Three users, each on another of 3 leaves (a token's user decides the leaf). */
function usersOnLeaves(): string[] {
  const users: string[] = [];
  for (let i = 0; users.length < 3; i++) if (leafFor(3, `user-${i}`) === users.length) users.push(`user-${i}`);
  return users;
}

describe('a private fanned-out room', () => {
  it('is made only with an admin token, and needs a token to connect (4100 before any leaf)', async () => {
    const refused = await http('/new', { method: 'POST', body: '{"private":true,"leaves":3}' });
    expect(refused.status).toBe(401);
    const room = await newPrivateFanoutRoom(3);
    expect(room).toMatch(/^p_f3_[A-Za-z0-9]{24}$/);
    expect((await (await open(room)).closed).code).toBe(4100);
  });

  it("applies each socket's rights on its leaf: a reader cannot write, a scoped DriftDB socket gets only what it may read", async () => {
    const room = await newPrivateFanoutRoom(3);
    const [writerName, readerName, scopedName] = usersOnLeaves() as [string, string, string];
    const writer = await open(room, await tokenFor(room, writerName));
    const reader = await open(room, await tokenFor(room, readerName, { rights: { read: ['*'] } }));
    const scoped = await open(room, await tokenFor(room, scopedName, { rights: { read: ['pub/*'] } }));
    reader.send(push('doc', 'vandalised', 'replace', 'x1'));
    expect(await reader.next()).toEqual({
      type: 'error',
      code: 'forbidden',
      id: 'x1',
      key: 'doc',
      message: 'Your token may not write to doc',
    });
    writer.send(push('secret/plan', 'hidden'));
    writer.send(push('pub/news', 'shown', 'append', 'w1'));
    await writer.until((m) => m.type === 'ack');
    expect(await scoped.next()).toMatchObject({ type: 'push', key: 'pub/news', value: 'shown', client: writerName });
    expect((await scoped.drain()).filter((m) => m.type === 'push')).toEqual([]);
    expect((await reader.until((m) => m.type === 'push' && m.key === 'pub/news')).value).toBe('shown');
  });

  it("a revocation reaches the user's sockets on their leaf (4102), and their token cannot reconnect", async () => {
    const room = await newPrivateFanoutRoom(3);
    const [alice, bob] = usersOnLeaves() as [string, string, string];
    const aliceToken = await tokenFor(room, alice, { iat: Math.floor(Date.now() / 1000) - 5 });
    const a = await open(room, aliceToken);
    const b = await open(room, await tokenFor(room, bob));
    a.send({ type: 'ping', nonce: 1 });
    await a.next();
    const admin = await tokenFor(room, 'operator', { rights: { admin: true } });
    const res = await http(`/room/${room}/revoke`, {
      method: 'POST',
      body: JSON.stringify({ user: alice }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
    });
    expect(await res.json()).toMatchObject({ closed: 1 });
    expect(await a.closed).toEqual({ code: 4102, reason: 'Token revoked' });
    expect((await (await open(room, aliceToken)).closed).code).toBe(4102);
    b.send({ type: 'ping', nonce: 2 });
    expect(await b.next()).toEqual({ type: 'pong', nonce: 2 });
  });

  it("shows each member by its token's user across leaves, and refuses presence to a token without the right", async () => {
    const room = await newPrivateFanoutRoom(3);
    const [aliceName, bobName] = usersOnLeaves() as [string, string, string];
    const alice = await open(room, await tokenFor(room, aliceName));
    alice.send({ type: 'hello', protocol: 1, secret: 'alice-tab-secret-0123', presence: 'here' });
    const aliceWelcome = await alice.until((m) => m.type === 'welcome');
    const bob = await open(room, await tokenFor(room, bobName, { rights: { read: ['*'], write: ['*'] } }));
    bob.send({ type: 'hello', protocol: 1, secret: 'bob-tab-secret-012345', presence: 'sneaky' });
    expect(await bob.next()).toEqual({ type: 'error', code: 'forbidden', message: 'Your token may not set presence' });
    const bobWelcome = await bob.next();
    expect(bobWelcome).toMatchObject({ type: 'welcome', client: bobName });
    // Alice in his welcome, or in a join right after it if hers is still on its way to his leaf.
    const bobView = new View(bob, bobWelcome);
    await bobView.settle(new Map([[aliceWelcome.conn, 'here']]));
    const shown = [...bobWelcome.peers, ...bobView.events.map((e) => e.peer)];
    expect(shown).toEqual([{ conn: aliceWelcome.conn, client: aliceName, state: 'here' }]);
    // Alice sees Bob join, by his user and without the state his token may not set.
    expect(await alice.until((m) => m.type === 'presence')).toEqual({
      type: 'presence',
      event: 'join',
      peer: { conn: bobWelcome.conn, client: bobName, state: null },
    });
    bob.send({ type: 'presence', state: 'sneaky' });
    expect(await bob.next()).toEqual({ type: 'error', code: 'forbidden', message: 'Your token may not set presence' });
    expect((await alice.drain()).filter((m) => m.type === 'presence')).toEqual([]);
  });
});
