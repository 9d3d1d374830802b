// Presence across the leaves of a fanned-out room (docs/hot-rooms.md, Presence): the
// root orders every join, update and leave, and each leaf announces them to its own
// members. Each socket's view (test/worker-presence/view.ts) is checked as it arrives:
// never itself, never a second join, never an update or leave of a peer it was not shown.
import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { leafName } from '../../worker/fanout.ts';
import type { Room } from '../../worker/room.ts';
import { connect, idOf, push, roomStub, secretOf, type Msg, type TestSocket } from '../worker/helpers.ts';
import { othersOf, View } from '../worker-presence/view.ts';
import { failNextPresenceReport, leafStub, nameOnLeaf, newFanoutRoom } from './helpers.ts';

interface Member {
  view: View;
  name: string;
  s: TestSocket;
  welcome: Msg;
}

/** A member on leaf `leaf`: said hello with `state` (and whatever else `hello` adds), and welcomed. */
async function memberOn(
  room: string,
  k: number,
  leaf: number,
  state?: unknown,
  hello: Record<string, unknown> = {},
  name = nameOnLeaf(k, leaf),
): Promise<Member> {
  const s = await connect(room, `?client=${idOf(name)}`);
  s.send({
    type: 'hello',
    protocol: 1,
    secret: secretOf(name),
    ...(state === undefined ? {} : { presence: state }),
    ...hello,
  });
  const welcome = await s.until((m) => m.type === 'welcome');
  return { view: new View(s, welcome), name, s, welcome };
}

/** Waits until every view is exactly `room` without itself, and checks that none saw a fault. */
async function converge(members: Member[], room: Map<string, unknown>): Promise<void> {
  for (const { view } of members) await view.settle(othersOf(view, room), 10_000);
  for (const { view } of members) {
    await view.drain();
    expect(view.faults).toEqual([]);
    expect(view.peers).toEqual(othersOf(view, room));
  }
}

const describeEvent = (m: Msg) => `${m.event} ${m.peer.conn} ${JSON.stringify(m.peer.state)}`;

describe('presence in a fanned-out room', () => {
  it.each([2, 3, 4])(
    'with %i leaves: every member ends with the whole room, and sees the same events in the same order, once',
    async (k) => {
      const room = await newFanoutRoom(k);
      const members: Member[] = [];
      const everyone = new Map<string, unknown>();
      // Two members per leaf, joining one after another, across the leaves.
      for (let round = 0; round < 2; round++) {
        for (let leaf = 0; leaf < k; leaf++) {
          const m = await memberOn(room, k, leaf, { leaf, round });
          expect(m.welcome.conn).toMatch(new RegExp(`^${leaf}\\.`));
          members.push(m);
          everyone.set(m.welcome.conn, { leaf, round });
        }
      }
      await converge(members, everyone);
      // An observer that changes nothing sees every event; the others see the same but their own.
      const observer = await memberOn(room, k, k - 1, 'watching');
      everyone.set(observer.welcome.conn, 'watching');
      expect(new Map(observer.welcome.peers.map((p: Msg) => [p.conn, p.state]))).toEqual(
        othersOf(observer.view, everyone),
      );
      await converge(members, everyone);
      for (const m of [...members, observer]) m.view.events.length = 0;

      // Updates and leaves from every leaf at once, interleaved.
      members.forEach((m, i) => m.s.send({ type: 'presence', state: { n: i } }));
      members.forEach((m, i) => {
        if (i % 3 === 0) m.s.send({ type: 'presence', state: { n: i, again: true } });
      });
      const leaving = members.filter((_, i) => i % 4 === 1);
      for (const m of leaving) m.s.close();
      const staying = members.filter((m) => !leaving.includes(m));
      members.forEach((m, i) => everyone.set(m.welcome.conn, i % 3 === 0 ? { n: i, again: true } : { n: i }));
      for (const m of leaving) everyone.delete(m.welcome.conn);
      await converge([...staying, observer], everyone);

      const order = observer.view.events.map(describeEvent);
      expect(new Set(order).size).toBe(order.length);
      for (const m of staying) {
        const own = (e: string) => e.split(' ')[1] === m.welcome.conn;
        expect(m.view.events.map(describeEvent)).toEqual(order.filter((e) => !own(e)));
      }
      // Each leaver left once, after its updates.
      for (const m of leaving) {
        expect(order.filter((e) => e.startsWith(`leave ${m.welcome.conn}`))).toHaveLength(1);
        expect(order.findIndex((e) => e.startsWith(`leave ${m.welcome.conn}`))).toBeGreaterThan(
          order.findIndex((e) => e.startsWith(`update ${m.welcome.conn}`)),
        );
      }
    },
  );

  it('a socket that declined the roster, and a DriftDB socket, are told nothing; the first is seen by all', async () => {
    const room = await newFanoutRoom(3);
    const drift = await connect(room);
    const a = await memberOn(room, 3, 0, 'A');
    const quiet = await memberOn(room, 3, 1, 'Q', { roster: false });
    expect(quiet.welcome.peers).toEqual([]);
    const b = await memberOn(room, 3, 2, 'B');
    const everyone = new Map<string, unknown>([
      [a.welcome.conn, 'A'],
      [quiet.welcome.conn, 'Q'],
      [b.welcome.conn, 'B'],
    ]);
    await converge([a, b], everyone);
    quiet.s.send({ type: 'presence', state: 'Q2' });
    b.s.send({ type: 'presence', state: 'B2' });
    everyone.set(quiet.welcome.conn, 'Q2');
    everyone.set(b.welcome.conn, 'B2');
    await converge([a, b], everyone);
    quiet.s.close();
    everyone.delete(quiet.welcome.conn);
    await converge([a, b], everyone);
    expect(quiet.s.received.filter((m) => m.type === 'presence')).toEqual([]);
    expect((await drift.drain()).filter((m) => m.type === 'presence' || m.type === 'welcome')).toEqual([]);
    drift.send({ type: 'presence', state: 'sneaking in' });
    expect(await drift.until((m) => m.type === 'error')).toEqual({
      type: 'error',
      code: 'bad_message',
      message: 'Invalid presence: say hello before setting presence',
    });
    expect(drift.received.filter((m) => m.type === 'presence')).toEqual([]);
  });

  it('a newer socket of the same client replaces the old one (4001): the old leaves once, the new joins once', async () => {
    const room = await newFanoutRoom(2);
    const watcher = await memberOn(room, 2, 0, 'W');
    const name = nameOnLeaf(2, 1);
    const old = await memberOn(room, 2, 1, 'first', {}, name);
    const everyone = new Map<string, unknown>([
      [watcher.welcome.conn, 'W'],
      [old.welcome.conn, 'first'],
    ]);
    await converge([watcher, old], everyone);
    const fresh = await memberOn(room, 2, 1, 'second', {}, name);
    expect(await old.s.closed).toMatchObject({ code: 4001 });
    everyone.delete(old.welcome.conn);
    everyone.set(fresh.welcome.conn, 'second');
    await converge([watcher, fresh], everyone);
    const about = (conn: string) => watcher.view.events.filter((e) => e.peer.conn === conn).map((e) => e.event);
    expect(about(old.welcome.conn)).toEqual(['join', 'leave']);
    expect(about(fresh.welcome.conn)).toEqual(['join']);
    expect(watcher.view.events.map((e) => e.event)).toEqual(['join', 'leave', 'join']);
  });

  it('a CBOR member gets the roster and the events in CBOR', async () => {
    const room = await newFanoutRoom(2);
    const a = await memberOn(room, 2, 0, { bytes: 'no' });
    const name = nameOnLeaf(2, 1);
    const s = await connect(room, `?cbor=1&client=${idOf(name)}`);
    s.sendRaw(JSON.stringify({ type: 'hello', protocol: 1, secret: secretOf(name), presence: 'cbor' }));
    let texts = 0;
    s.ws.addEventListener('message', (e) => typeof e.data === 'string' && texts++);
    const welcome = await s.until((m) => m.type === 'welcome');
    const b: Member = { view: new View(s, welcome), name, s, welcome };
    const everyone = new Map<string, unknown>([
      [a.welcome.conn, { bytes: 'no' }],
      [welcome.conn, 'cbor'],
    ]);
    await converge([a, b], everyone);
    a.s.send({ type: 'presence', state: [1, 2] });
    everyone.set(a.welcome.conn, [1, 2]);
    await converge([a, b], everyone);
    expect(texts).toBe(0);
  });

  it('applies the presence size cap and rate on the leaf', async () => {
    const room = await newFanoutRoom(2);
    const watcher = await memberOn(room, 2, 0);
    const typist = await memberOn(room, 2, 1, 'start');
    const everyone = new Map<string, unknown>([
      [watcher.welcome.conn, null],
      [typist.welcome.conn, 'start'],
    ]);
    await converge([watcher, typist], everyone);
    typist.s.send({ type: 'presence', state: 'x'.repeat(3000) });
    expect(await typist.s.next()).toEqual({
      type: 'error',
      code: 'presence_too_large',
      message: 'Presence state of 3002 bytes exceeds maxPresenceBytes (2048)',
    });
    // 40 updates at once: past the burst (20), one announcement is held, with the latest state.
    for (let i = 1; i <= 40; i++) typist.s.send({ type: 'presence', state: i });
    everyone.set(typist.welcome.conn, 40);
    await converge([watcher], everyone);
    const updates = watcher.view.events.filter((e) => e.event === 'update');
    expect(updates.length).toBeLessThan(40);
    expect(updates.at(-1)?.peer.state).toBe(40);
  });
});

describe('presence across leaves survives what the links survive', () => {
  it('a leaf evicted mid-stream: its members miss nothing, and its next member is welcomed with the whole room', async () => {
    const room = await newFanoutRoom(3);
    const members = [await memberOn(room, 3, 0, 0), await memberOn(room, 3, 1, 1), await memberOn(room, 3, 2, 2)];
    const everyone = new Map<string, unknown>(members.map((m, i) => [m.welcome.conn, i]));
    await converge(members, everyone);
    await evictDurableObject(leafStub(room, 1));
    members[0]!.s.send({ type: 'presence', state: 'changed' });
    members[2]!.s.close();
    const more = await memberOn(room, 3, 0, 'more');
    everyone.set(members[0]!.welcome.conn, 'changed');
    everyone.delete(members[2]!.welcome.conn);
    everyone.set(more.welcome.conn, 'more');
    const alive = [members[0]!, members[1]!, more];
    await converge(alive, everyone);
    await evictDurableObject(leafStub(room, 1));
    const late = await memberOn(room, 3, 1, 'late');
    everyone.set(late.welcome.conn, 'late');
    expect(new Map(late.welcome.peers.map((p: Msg) => [p.conn, p.state]))).toEqual(othersOf(late.view, everyone));
    await converge([...alive, late], everyone);
  });

  it("the room's own object restarting: no ghost and no missing member, with the latest states", async () => {
    const room = await newFanoutRoom(3);
    const members = [await memberOn(room, 3, 0, 'a'), await memberOn(room, 3, 1, 'b'), await memberOn(room, 3, 2, 'c')];
    const everyone = new Map<string, unknown>(members.map((m, i) => [m.welcome.conn, ['a', 'b', 'c'][i]]));
    members[1]!.s.send({ type: 'presence', state: 'b2' });
    everyone.set(members[1]!.welcome.conn, 'b2');
    await converge(members, everyone);
    await evictDurableObject(roomStub(room));
    members[2]!.s.close();
    everyone.delete(members[2]!.welcome.conn);
    const more = await memberOn(room, 3, 2, 'd');
    everyone.set(more.welcome.conn, 'd');
    await converge([members[0]!, members[1]!, more], everyone);
  });

  it('the root and every leaf evicted (a quiet room): the next change and the next member see the room as it is', async () => {
    const room = await newFanoutRoom(2);
    const members = [await memberOn(room, 2, 0, 'a'), await memberOn(room, 2, 1, 'b')];
    members[1]!.s.send({ type: 'presence', state: 'b2' });
    const everyone = new Map<string, unknown>([
      [members[0]!.welcome.conn, 'a'],
      [members[1]!.welcome.conn, 'b2'],
    ]);
    await converge(members, everyone);
    for (const stub of [roomStub(room), leafStub(room, 0), leafStub(room, 1)]) await evictDurableObject(stub);
    members[0]!.s.send({ type: 'presence', state: 'a2' });
    everyone.set(members[0]!.welcome.conn, 'a2');
    await converge(members, everyone);
    const late = await memberOn(room, 2, 0, 'late');
    everyone.set(late.welcome.conn, 'late');
    await converge([...members, late], everyone);
  });

  it('a report that fails once is made good by the relink it causes, which carries the whole member list', async () => {
    const room = await newFanoutRoom(2);
    const watcher = await memberOn(room, 2, 0, 'w');
    const failed = await failNextPresenceReport(room);
    const joiner = await memberOn(room, 2, 1, 'j');
    const everyone = new Map<string, unknown>([
      [watcher.welcome.conn, 'w'],
      [joiner.welcome.conn, 'j'],
    ]);
    await converge([watcher, joiner], everyone);
    expect(failed()).toBe(1);
    expect(watcher.view.events.map(describeEvent)).toEqual([`join ${joiner.welcome.conn} "j"`]);
  });

  it("a leaf's member the root still lists after the leaf lost it leaves when the leaf relinks", async () => {
    const room = await newFanoutRoom(2);
    const members = [await memberOn(room, 2, 0, 'a'), await memberOn(room, 2, 1, 'b')];
    const everyone = new Map<string, unknown>([
      [members[0]!.welcome.conn, 'a'],
      [members[1]!.welcome.conn, 'b'],
    ]);
    // As if leaf 1 had reported a member and then died without its leave.
    const ghost = { conn: '1.GHOSTGHOSTGH', client: 'ghost', state: 'boo' };
    await runInDurableObject(roomStub(room), (root: Room) =>
      root.presence(leafName(room, 1), [{ event: 'join', peer: ghost }]),
    );
    everyone.set(ghost.conn, 'boo');
    await converge(members, everyone);
    // Leaf 1 wakes and relinks with the members it really has.
    await evictDurableObject(leafStub(room, 1));
    members[0]!.s.send(push('k', 'wake the leaves'));
    everyone.delete(ghost.conn);
    await converge(members, everyone);
    expect(members[0]!.view.events.filter((e) => e.peer.conn === ghost.conn).map((e) => e.event)).toEqual([
      'join',
      'leave',
    ]);
  });
});

describe('presence across leaves when the root lost a window', () => {
  it('a member only the restarted root knows of leaves without a leave of a peer never shown', async () => {
    const room = await newFanoutRoom(2);
    const members = [await memberOn(room, 2, 0, 'a'), await memberOn(room, 2, 1, 'b')];
    const everyone = new Map<string, unknown>([
      [members[0]!.welcome.conn, 'a'],
      [members[1]!.welcome.conn, 'b'],
    ]);
    await converge(members, everyone);
    for (const m of members) m.s.send({ type: 'sub', key: 'k' });
    for (const m of members) await m.s.until((x) => x.type === 'init');
    // As if the root stored a join, then crashed before its batch reached any leaf.
    await runInDurableObject(roomStub(room), (_root, state) => {
      state.storage.sql.exec(
        'INSERT INTO presence_members (conn, leaf, client, state) VALUES (?, ?, ?, ?)',
        '1.LOSTLOSTLOST',
        leafName(room, 1),
        'lost',
        '"x"',
      );
    });
    await evictDurableObject(roomStub(room));
    // The next batch brings both leaves to the new epoch; leaf 1 relinks without that member.
    members[0]!.s.send(push('k', 'wake'));
    // What the leaves' relinks caused came with the batch that carried it, or before.
    for (const m of members) await m.view.until((x) => x.type === 'push' && x.value === 'wake');
    await converge(members, everyone);
    expect(members[1]!.view.events.filter((e) => e.peer.conn === '1.LOSTLOSTLOST')).toEqual([]);
  });
});
