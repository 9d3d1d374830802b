// The bounded roster (maxRosterPeers, 3 in this project): every socket is shown
// the room's first 3 members by arrival, the same view for everyone, and is told
// how many it is not shown (`members` frames), so that peers + 1 + hidden is the
// room's size after every window. A shown member's leave promotes the member
// that waited longest; a member not shown comes and goes with no presence event.
import { evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { LARGE_AUDIENCE } from '../../worker/batching.ts';
import {
  connect,
  connectClient,
  freshRoom,
  roomStub,
  secretOf,
  WAIT_MS,
  type Msg,
  type TestSocket,
} from '../worker/helpers.ts';
import { View } from '../worker-presence/view.ts';

const CAP = 3;

/** A member as the test knows it: its socket, its view of the room, the hidden count it was last told. */
class Member {
  readonly name: string;
  readonly s: TestSocket;
  readonly conn: string;
  readonly view: View;
  hidden = 0;
  state: unknown;

  constructor(name: string, s: TestSocket, welcome: Msg, state?: unknown) {
    this.name = name;
    this.s = s;
    this.conn = welcome.conn;
    this.view = new View(s, welcome);
    this.state = state ?? null;
  }

  /**
   * Reads until its peers are `room`'s first CAP members but itself and its
   * hidden count makes up the rest; fails on any presence fault on the way.
   */
  async settle(room: Member[], timeoutMs = WAIT_MS): Promise<void> {
    const shown = room.slice(0, CAP);
    const peers = new Map(shown.filter((m) => m !== this).map((m) => [m.conn, m.state]));
    const hidden = room.length - shown.length - (shown.includes(this) ? 0 : 1);
    const done = (): boolean => this.hidden === hidden && sameView(this.view.peers, peers);
    if (!done()) {
      await this.view.until((m) => {
        if (m.type === 'members') this.hidden = m.hidden;
        return done();
      }, timeoutMs);
    }
    expect(this.view.faults).toEqual([]);
    expect(this.view.peers.size + 1 + this.hidden).toBe(room.length);
  }
}

const sameView = (a: Map<string, unknown>, b: Map<string, unknown>): boolean =>
  a.size === b.size && [...b].every(([conn, state]) => JSON.stringify(a.get(conn)) === JSON.stringify(state));

async function join(room: string, name: string, state?: unknown): Promise<Member> {
  const { s, welcome } = await connectClient(room, name, state);
  return new Member(name, s, welcome, state);
}

/** Presence and members frames, as `[kind, who or count]`, for exact comparisons. */
const story = (messages: Msg[], names: Map<string, string>): unknown[] =>
  messages
    .filter((m) => m.type === 'presence' || m.type === 'members')
    .map((m) => (m.type === 'members' ? ['hidden', m.hidden] : [m.event, names.get(m.peer.conn), m.peer.state]));

describe('a room with more members than its roster shows', () => {
  it('shows everyone its first members by arrival and tells each how many it is not shown', async () => {
    const room = freshRoom();
    const members: Member[] = [];
    for (const name of ['a', 'b', 'c', 'd', 'e']) members.push(await join(room, name, name.toUpperCase()));
    const [a, b, c, d, e] = members as [Member, Member, Member, Member, Member];
    const names = new Map(members.map((m) => [m.conn, m.name]));

    // The latecomers' welcomes carry the first three, nothing more.
    expect(d.view.peers).toEqual(new Map([a, b, c].map((m) => [m.conn, m.state])));
    expect(e.view.peers).toEqual(new Map([a, b, c].map((m) => [m.conn, m.state])));
    for (const m of members) await m.settle(members);
    expect([a.hidden, b.hidden, c.hidden, d.hidden, e.hidden]).toEqual([2, 2, 2, 1, 1]);

    // Exactly what the first member heard: its two shown peers, then counts (1 and 2, or 2 alone
    // when both joins fell within one membersEveryMs), nothing about d and e.
    await a.s.drain();
    expect(story(a.s.received, names).slice(0, 2)).toEqual([
      ['join', 'b', 'B'],
      ['join', 'c', 'C'],
    ]);
    expect([
      [
        ['hidden', 1],
        ['hidden', 2],
      ],
      [['hidden', 2]],
    ]).toContainEqual(story(a.s.received, names).slice(2));
    // e was told of d only as a number.
    await e.s.drain();
    expect(story(e.s.received, names)).toEqual([['hidden', 1]]);
  });

  it("promotes the member that waited longest when a shown one leaves, with its latest state, and never announces the others'", async () => {
    const room = freshRoom();
    const members: Member[] = [];
    for (const name of ['a', 'b', 'c', 'd', 'e']) members.push(await join(room, name, name.toUpperCase()));
    const [a, b, c, d, e] = members as [Member, Member, Member, Member, Member];
    const names = new Map(members.map((m) => [m.conn, m.name]));
    for (const m of members) await m.settle(members);
    await b.s.drain();
    const heard = b.s.received.length;

    // Not shown: d's update reaches nobody.
    d.s.send({ type: 'presence', state: 'D2' });
    d.state = 'D2';
    await d.s.drain();
    expect(story(await b.s.drain(), names)).toEqual([]);

    // a leaves: everyone still here sees a leave, then d's join with the state it has now.
    a.s.close();
    const room1 = [b, c, d, e];
    for (const m of room1) await m.settle(room1);
    await b.s.drain();
    expect(story(b.s.received.slice(heard), names)).toEqual([
      ['leave', 'a', 'A'],
      ['join', 'd', 'D2'],
      ['hidden', 1],
    ]);
    // d itself learns nothing of its own promotion but the count: it was not shown, now it is.
    expect(d.view.peers).toEqual(new Map([b, c].map((m) => [m.conn, m.state])));

    // e, never shown, leaves: no presence event anywhere, only the counts fall to 0.
    const before = b.s.received.length;
    e.s.close();
    const room2 = [b, c, d];
    for (const m of room2) await m.settle(room2);
    await b.s.drain();
    expect(story(b.s.received.slice(before), names)).toEqual([['hidden', 0]]);
    expect(c.hidden).toBe(0);
  });

  it('can send a dm to a member it is not shown', async () => {
    const room = freshRoom();
    const members: Member[] = [];
    for (const name of ['a', 'b', 'c', 'd']) members.push(await join(room, name));
    const [a, , , d] = members as [Member, Member, Member, Member];
    a.s.send({ type: 'dm', to: d.conn, value: 'hi d' });
    expect(await d.s.until((m) => m.type === 'dm')).toEqual({ type: 'dm', from: a.conn, value: 'hi d' });
  });

  it('sends no members frame to a socket that declined the roster, and nothing to a DriftDB socket', async () => {
    const room = freshRoom();
    const drift = await connect(room);
    const members: Member[] = [];
    for (const name of ['a', 'b', 'c']) members.push(await join(room, name));
    const quiet = await connect(room);
    quiet.send({ type: 'hello', protocol: 1, secret: secretOf('quiet'), roster: false });
    const qw = await quiet.next();
    expect(qw).toMatchObject({ type: 'welcome', peers: [] });
    const late = await join(room, 'late');
    // The quiet one is a member like any other: counted, though not shown (it came fourth).
    const room1 = [...members, new Member('quiet', quiet, qw), late];
    for (const m of members) await m.settle(room1);
    await late.settle(room1);
    expect(await quiet.drain()).toEqual([]);
    expect((await drift.drain()).filter((m) => m.type === 'members' || m.type === 'presence')).toEqual([]);
  });

  it('keeps whom it showed across a hibernation, whatever order its sockets come back in', async () => {
    const room = freshRoom();
    // x's socket is accepted first but says hello fourth; d comes last. Neither is shown, so
    // neither the order of acceptance nor its reverse tells a woken room who is.
    const xs = await connect(room);
    const members: Member[] = [];
    for (const name of ['a', 'b', 'c']) members.push(await join(room, name));
    xs.send({ type: 'hello', protocol: 1, secret: secretOf('x') });
    const x = new Member('x', xs, await xs.next());
    members.push(x, await join(room, 'd'));
    const [a, b, c, , d] = members as [Member, Member, Member, Member, Member];
    for (const m of members) await m.settle(members);

    await evictDurableObject(roomStub(room), { webSockets: 'hibernate' });
    // A frame wakes the room first: the pool delivers a close to an evicted room only late.
    await a.s.drain();
    c.s.close();
    // x waited longest: it takes c's place.
    const room1 = [a, b, x, d];
    for (const m of room1) await m.settle(room1);
    expect(d.view.peers).toEqual(new Map([a, b, x].map((m) => [m.conn, m.state])));
    const late = await join(room, 'late');
    const room2 = [...room1, late];
    for (const m of room2) await m.settle(room2);
    expect(late.view.peers).toEqual(new Map([a, b, x].map((m) => [m.conn, m.state])));
  });

  it(`bounds the welcome and counts right in a room that batches its presence (${LARGE_AUDIENCE}+ members)`, async () => {
    const room = freshRoom();
    const members: Member[] = [];
    for (let i = 0; i < LARGE_AUDIENCE + 6; i++) members.push(await join(room, `m${i}`, i));
    for (const m of members) await m.settle(members, 10_000);
    const last = members.at(-1)!;
    expect(last.view.peers.size).toBe(CAP);
    expect(last.hidden).toBe(members.length - CAP - 1);
    // Half of them leave at once, the first shown one among them: one window promotes in order.
    const leaving = members.filter((_, i) => i % 2 === 0);
    for (const m of leaving) m.s.close();
    const rest = members.filter((_, i) => i % 2 === 1);
    for (const m of rest) await m.settle(rest, 10_000);
  });
});
