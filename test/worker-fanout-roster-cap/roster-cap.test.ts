// The bounded roster (maxRosterPeers, 3 in this project) in a fanned-out room: every member,
// on whichever leaf, is shown the room's first 3 members by arrival (minus itself), and is
// told how many it is not shown ({type:'members', hidden}), so peers + 1 + hidden is the
// room's size. Each socket's view (test/worker-presence/view.ts) is checked as it arrives:
// never itself, never a second join, never an update or leave of a peer it was not shown.
import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { connect, idOf, roomStub, secretOf, type Msg, type TestSocket } from '../worker/helpers.ts';
import { View } from '../worker-presence/view.ts';
import { failNextPresenceReport, leafStub, nameOnLeaf, newFanoutRoom } from '../worker-fanout/helpers.ts';

const CAP = 3;

interface Seat {
  view: View;
  s: TestSocket;
  conn: string;
  welcome: Msg;
  /** Said hello with `roster: false`: a member that is told nothing. */
  quiet: boolean;
}

/**
 * The room as the test expects it: its members in order of arrival, their states,
 * and which are shown (the first CAP by arrival; a shown one that leaves is replaced
 * by the one that waited longest).
 */
class Model {
  readonly order: string[] = [];
  readonly states = new Map<string, unknown>();
  readonly shown = new Set<string>();

  join(conn: string, state: unknown): void {
    this.order.push(conn);
    this.states.set(conn, state);
    if (this.shown.size < CAP) this.shown.add(conn);
  }

  leave(conn: string): void {
    this.order.splice(this.order.indexOf(conn), 1);
    this.states.delete(conn);
    if (!this.shown.delete(conn)) return;
    const next = this.order.find((c) => !this.shown.has(c));
    if (next) this.shown.add(next);
  }

  /** What `conn` should be shown: the shown members but itself, with their states. */
  peersOf(conn: string): Map<string, unknown> {
    return new Map([...this.shown].filter((c) => c !== conn).map((c) => [c, this.states.get(c)]));
  }

  /** What `conn` should be told it is not shown: the room less itself less its peers. */
  hiddenOf(conn: string): number {
    return this.order.length - 1 - this.peersOf(conn).size;
  }
}

/** The last `members` count a socket was told (0 before any). */
const told = (seat: Seat): number => seat.s.received.findLast((m) => m.type === 'members')?.hidden ?? 0;
const membersFrames = (msgs: Msg[]) => msgs.filter((m) => m.type === 'members');

const sameMap = (a: Map<string, unknown>, b: Map<string, unknown>): boolean =>
  a.size === b.size && [...b].every(([k, v]) => a.has(k) && JSON.stringify(a.get(k)) === JSON.stringify(v));

/** A member on leaf `leaf`: said hello with `state`, and welcomed. */
async function seatOn(room: string, k: number, leaf: number, state: unknown, quiet = false): Promise<Seat> {
  const name = nameOnLeaf(k, leaf);
  const s = await connect(room, `?client=${idOf(name)}`);
  s.send({ type: 'hello', protocol: 1, secret: secretOf(name), presence: state, ...(quiet ? { roster: false } : {}) });
  const welcome = await s.until((m) => m.type === 'welcome');
  expect(welcome.conn).toMatch(new RegExp(`^${leaf}\\.`));
  return { view: new View(s, welcome), s, conn: welcome.conn, welcome, quiet };
}

/**
 * Waits until every seat that takes the roster sees what `model` says (its peers and
 * its count), then checks that nothing more comes and that none saw a fault, and that
 * peers + 1 + hidden is the room's size. A quiet seat must have been told nothing.
 */
async function converge(seats: Seat[], model: Model): Promise<void> {
  for (const seat of seats) {
    if (seat.quiet) continue;
    const peers = model.peersOf(seat.conn);
    const hidden = model.hiddenOf(seat.conn);
    const done = () => sameMap(seat.view.peers, peers) && told(seat) === hidden;
    if (!done()) await seat.view.until(done, 10_000);
  }
  for (const seat of seats) {
    await seat.view.drain();
    if (seat.quiet) {
      expect(seat.s.received.filter((m) => m.type === 'presence' || m.type === 'members')).toEqual([]);
      continue;
    }
    expect(seat.view.faults).toEqual([]);
    expect(seat.view.peers).toEqual(model.peersOf(seat.conn));
    expect(told(seat)).toBe(model.hiddenOf(seat.conn));
    expect(seat.view.peers.size + 1 + told(seat)).toBe(model.order.length);
  }
}

/** Joins a member on `leaf`, checks its welcome and its first count, and waits for everyone to see it. */
async function join(
  room: string,
  k: number,
  leaf: number,
  state: unknown,
  seats: Seat[],
  model: Model,
  quiet = false,
): Promise<Seat> {
  const seat = await seatOn(room, k, leaf, state, quiet);
  // The first member's join had nobody to see it arrive: the second's welcome may come before it.
  const checked = !quiet && model.order.length >= 2;
  // As of before its own join: the shown members, and the rest of the room past them.
  if (checked) expect(new Map(seat.welcome.peers.map((p: Msg) => [p.conn, p.state]))).toEqual(model.peersOf(seat.conn));
  model.join(seat.conn, state);
  seats.push(seat);
  await converge(seats, model);
  // Its first count (with the next round of counts, membersEveryMs) is its number as of now; none if 0.
  const hidden = model.hiddenOf(seat.conn);
  if (checked) expect(membersFrames(seat.s.received).slice(0, 1)).toEqual(hidden ? [{ type: 'members', hidden }] : []);
  return seat;
}

/** What the root has stored: its shown members, and those that wait in order of arrival. */
async function storedAt(room: string): Promise<{ shown: string[]; waiting: string[] }> {
  return runInDurableObject(roomStub(room), (_root, state) => ({
    shown: state.storage.sql
      .exec<{ conn: string }>('SELECT conn FROM presence_members')
      .toArray()
      .map((r) => r.conn),
    waiting: state.storage.sql
      .exec<{ conn: string }>('SELECT conn FROM presence_waiting ORDER BY rowid')
      .toArray()
      .map((r) => r.conn),
  }));
}

/** The stored rows are the model's shown members, and its waiting ones in order. */
async function expectStored(room: string, model: Model): Promise<void> {
  const { shown, waiting } = await storedAt(room);
  expect(new Set(shown)).toEqual(model.shown);
  expect(waiting).toEqual(model.order.filter((c) => !model.shown.has(c)));
}

/** The seat leaves; the model with it. */
function leave(seat: Seat, seats: Seat[], model: Model): void {
  seat.s.close();
  seats.splice(seats.indexOf(seat), 1);
  model.leave(seat.conn);
}

/** Presence events each seat got since `marks` (the length of its event list then). */
const eventsSince = (seat: Seat, mark: number) =>
  seat.view.events.slice(mark).map((e) => `${e.event} ${e.peer.conn} ${JSON.stringify(e.peer.state)}`);

describe('the bounded roster across the leaves of a fanned-out room', () => {
  it.each([2, 3])(
    'with %i leaves: everyone is shown the first 3 by arrival and told how many it is not shown',
    async (k) => {
      const room = await newFanoutRoom(k);
      const seats: Seat[] = [];
      const model = new Model();
      // A DriftDB socket is no member: it is not counted, and told nothing.
      const drift = await connect(room);
      // Seven members, one after another, round the leaves; one declines the roster (it still counts).
      for (let i = 0; i < 7; i++) await join(room, k, i % k, { i }, seats, model, i === 4);
      expect((await drift.drain()).filter((m) => m.type === 'presence' || m.type === 'members')).toEqual([]);
      expect(model.shown.size).toBe(3);
      // Each joiner past the third got a members frame right after its welcome (join checked it).
      const last = seats.at(-1)!;
      expect(last.welcome.peers).toHaveLength(3);
      expect(membersFrames(last.s.received)[0]).toEqual({ type: 'members', hidden: 3 });
      // The first member was told the room grew past its roster once per member, 0 never.
      expect(membersFrames(seats[0]!.s.received).map((m) => m.hidden)).toEqual([1, 2, 3, 4]);
      // The members not shown were never announced, to anyone.
      const unshown = model.order.filter((c) => !model.shown.has(c));
      for (const seat of seats) expect(seat.view.events.filter((e) => unshown.includes(e.peer.conn))).toEqual([]);
    },
  );

  it("a shown member's leave promotes the longest waiting, with its latest state, on every leaf; updates of a member not shown are not announced", async () => {
    const k = 2;
    const room = await newFanoutRoom(k);
    const seats: Seat[] = [];
    const model = new Model();
    for (let i = 0; i < 6; i++) await join(room, k, (i >> 1) % k, `s${i}`, seats, model);
    // Leaves 0, 0, 1, 1, 0, 0: the fourth (leaf 1) and the fifth (leaf 0) are not shown.
    const [first, second, third, fourth, fifth] = seats as [Seat, Seat, Seat, Seat, Seat, Seat];
    let marks = new Map(seats.map((s) => [s, s.view.events.length]));

    // Their updates go nowhere (but the join that shows one carries its latest state). Then a shown
    // member on each of their leaves updates: its report follows theirs to the root, so once everyone
    // has its update, anything the root made of theirs has come too.
    fourth.s.send({ type: 'presence', state: 'four, later' });
    fourth.s.send({ type: 'presence', state: 'four, latest' });
    fifth.s.send({ type: 'presence', state: 'five, later' });
    await fourth.s.drain();
    await fifth.s.drain();
    third.s.send({ type: 'presence', state: 'three, after' });
    first.s.send({ type: 'presence', state: 'one, after' });
    for (const [seat, state] of [
      [fourth, 'four, latest'],
      [fifth, 'five, later'],
      [third, 'three, after'],
      [first, 'one, after'],
    ] as const) {
      model.states.set(seat.conn, state);
    }
    await converge(seats, model);
    for (const seat of seats) {
      const about = (e: string) => e.includes(fourth.conn) || e.includes(fifth.conn);
      expect(eventsSince(seat, marks.get(seat)!).filter(about)).toEqual([]);
      expect(eventsSince(seat, marks.get(seat)!).map((e) => e.split(' ')[0])).toEqual(
        seat === first || seat === third ? ['update'] : ['update', 'update'],
      );
    }
    marks = new Map(seats.map((s) => [s, s.view.events.length]));

    // A shown member leaves: the fourth (the longest waiting) is shown in its place, everywhere.
    leave(second, seats, model);
    expect(model.shown.has(fourth.conn)).toBe(true);
    await converge(seats, model);
    for (const seat of seats) {
      const expected = [`leave ${second.conn} "s1"`, `join ${fourth.conn} "four, latest"`];
      expect(eventsSince(seat, marks.get(seat)!)).toEqual(seat === fourth ? expected.slice(0, 1) : expected);
    }
  });

  it('a leave of a member not shown sends no presence event, only the new counts; back within the cap, everyone is told 0', async () => {
    const k = 2;
    const room = await newFanoutRoom(k);
    const seats: Seat[] = [];
    const model = new Model();
    for (let i = 0; i < 5; i++) await join(room, k, i % k, i, seats, model);
    const marks = new Map(seats.map((s) => [s, s.view.events.length]));
    const counts = new Map(seats.map((s) => [s, membersFrames(s.s.received).length]));
    const frames = (seat: Seat) => membersFrames(seat.s.received).slice(counts.get(seat)!);

    // The last one is not shown: its leave is a count, not an event.
    leave(seats[4]!, seats, model);
    await converge(seats, model);
    for (const seat of seats) expect(eventsSince(seat, marks.get(seat)!)).toEqual([]);
    // The shown were told 2 → 1; the one still waiting 1 → 0.
    expect(seats.map(frames)).toEqual([
      [{ type: 'members', hidden: 1 }],
      [{ type: 'members', hidden: 1 }],
      [{ type: 'members', hidden: 1 }],
      [{ type: 'members', hidden: 0 }],
    ]);

    // A shown member leaves: the last one waiting is shown, and nobody is left out.
    leave(seats[0]!, seats, model);
    await converge(seats, model);
    for (const seat of seats) expect(frames(seat).at(-1)).toEqual({ type: 'members', hidden: 0 });
    for (const seat of seats) expect(told(seat)).toBe(0);
  });

  it('a leaf evicted (as by hibernation): on waking it tells its members only counts that changed', async () => {
    const k = 2;
    const room = await newFanoutRoom(k);
    const seats: Seat[] = [];
    const model = new Model();
    // Leaves 0, 1, 0, 1, 0: shown the first three; the fourth (leaf 1) and the fifth (leaf 0) wait.
    for (let i = 0; i < 5; i++) await join(room, k, i % k, `h${i}`, seats, model);
    const [first, second, , fourth] = seats as [Seat, Seat, Seat, Seat, Seat];
    const counts = new Map(seats.map((s) => [s, membersFrames(s.s.received).length]));
    const newFrames = (seat: Seat) => membersFrames(seat.s.received).slice(counts.get(seat)!);

    // A window that changes no count wakes the leaf: its members get the update, and no count.
    await evictDurableObject(leafStub(room, 1));
    first.s.send({ type: 'presence', state: 'h0, again' });
    model.states.set(first.conn, 'h0, again');
    await converge(seats, model);
    expect(seats.map(newFrames)).toEqual(seats.map(() => []));

    // The fourth (waiting, on leaf 1) is shown when the first leaves, after another wake: its count
    // stays 1 (5 less 3 less itself, then 4 less 3), so it is told nothing; the rest are told 1 less.
    await evictDurableObject(leafStub(room, 1));
    leave(first, seats, model);
    expect(model.shown.has(fourth.conn)).toBe(true);
    await converge(seats, model);
    expect(newFrames(fourth)).toEqual([]);
    expect(newFrames(second)).toEqual([{ type: 'members', hidden: 1 }]);
    expect(seats.map((s) => newFrames(s).length)).toEqual([1, 1, 0, 1]);
  });

  it("a leaf's first link past the cap, and its relink after a wake, give it the view and the counts", async () => {
    const k = 3;
    const room = await newFanoutRoom(k);
    const seats: Seat[] = [];
    const model = new Model();
    for (let i = 0; i < 4; i++) await join(room, k, i % 2, `l${i}`, seats, model);
    // Leaf 2's first member: its welcome waits for the first link, whose answer has the roster and the count.
    const waiting = await join(room, k, 2, 'l4', seats, model);
    expect(waiting.welcome.peers).toHaveLength(3);
    expect(model.shown.has(waiting.conn)).toBe(false);
    // Leaf 2 woken by a hello: the link answer says its member waits (counted), so the count stays 1 less.
    await evictDurableObject(leafStub(room, 2));
    await join(room, k, 2, 'l5', seats, model);
    expect(told(waiting)).toBe(2);
    // The fourth waits longer: it is shown first. Then the one on leaf 2, whose count stays 1
    // (5 less 3 less itself, then 4 less 3): its leaf knew it was counted.
    leave(seats[1]!, seats, model);
    await converge(seats, model);
    expect(told(waiting)).toBe(1);
    const frames = membersFrames(waiting.s.received).length;
    leave(seats[0]!, seats, model);
    expect(model.shown.has(waiting.conn)).toBe(true);
    await converge(seats, model);
    expect(membersFrames(waiting.s.received).slice(frames)).toEqual([]);
  });

  it('a report the root never got is made good by the relink it causes, past the cap too', async () => {
    const k = 2;
    const room = await newFanoutRoom(k);
    const seats: Seat[] = [];
    const model = new Model();
    for (let i = 0; i < 4; i++) await join(room, k, i % k, `f${i}`, seats, model);
    const failed = await failNextPresenceReport(room);
    // Its join report fails: its leaf relinks with its member list, which counts it (unshown).
    await join(room, k, 1, 'f4', seats, model);
    expect(failed()).toBe(1);
    leave(seats[0]!, seats, model);
    await converge(seats, model);
  });

  it('a room of 70 (windows held back, LARGE_AUDIENCE): the same view and counts for everyone', async () => {
    const k = 2;
    const room = await newFanoutRoom(k);
    const seats: Seat[] = [];
    const model = new Model();
    for (let i = 0; i < 3; i++) await join(room, k, i % k, `b${i}`, seats, model);
    // 67 more, ten at a time: all wait, in whatever order the root gets them.
    for (let i = 3; i < 70; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, 70 - i) }, (_, j) => seatOn(room, k, (i + j) % k, `b${i + j}`)),
      );
      batch.forEach((seat, j) => model.join(seat.conn, `b${i + j}`));
      seats.push(...batch);
    }
    await converge(seats, model);
    expect(told(seats[0]!)).toBe(67);
    expect(told(seats[69]!)).toBe(66);
    // A shown member leaves: one that waited is shown in its place, the same one everywhere.
    const waiting = model.order.filter((c) => !model.shown.has(c));
    const shown = [...model.shown].filter((c) => c !== seats[0]!.conn);
    leave(seats[0]!, seats, model);
    const promoted = await seats[0]!.view.until((m) => m.type === 'presence' && m.event === 'join', 10_000);
    expect(waiting).toContain(promoted.peer.conn);
    model.shown.clear();
    for (const conn of [...shown, promoted.peer.conn]) model.shown.add(conn);
    await converge(seats, model);
  });

  it('the root evicted, then a shown member leaves: the longest waiting is shown, and nobody is told a count that was not so', async () => {
    const k = 2;
    const room = await newFanoutRoom(k);
    const seats: Seat[] = [];
    const model = new Model();
    for (let i = 0; i < 6; i++) await join(room, k, i % k, `r${i}`, seats, model);
    const [first, second, , fourth] = seats as [Seat, Seat, Seat, Seat];
    // The fourth waits (on leaf 1), with a state newer than the one it joined with.
    fourth.s.send({ type: 'presence', state: 'r3, later' });
    model.states.set(fourth.conn, 'r3, later');
    await fourth.s.drain();
    await expectStored(room, model);
    await evictDurableObject(roomStub(room));
    const counts = new Map(seats.map((s) => [s, membersFrames(s.s.received).length]));
    const newFrames = (seat: Seat) => membersFrames(seat.s.received).slice(counts.get(seat)!);

    // The restarted root knows the waiting members from its table, in order of arrival: the fourth
    // is shown in the first one's place before any leaf relinks, and every count goes straight to
    // what it is (the shown 3 → 2, the waiting 2 → 1, the fourth 2 → 2: nothing).
    leave(first, seats, model);
    expect(model.shown.has(fourth.conn)).toBe(true);
    await converge(seats, model);
    expect(seats.map(newFrames)).toEqual([
      [{ type: 'members', hidden: 2 }],
      [{ type: 'members', hidden: 2 }],
      [],
      [{ type: 'members', hidden: 1 }],
      [{ type: 'members', hidden: 1 }],
    ]);
    // Its state is the latest (converge checked), though the root may first announce the one its row
    // kept, then the update its leaf's relink brings (docs/hot-rooms.md, What does not work yet).
    expect(second.view.events.find((e) => e.peer.conn === fourth.conn)?.event).toBe('join');
    // The last one, waiting, leaves (its row with it); after another restart, the next shown
    // member's leave shows the fifth, and the counts leave out nobody and count nobody twice.
    leave(seats.at(-1)!, seats, model);
    await converge(seats, model);
    await expectStored(room, model);
    await evictDurableObject(roomStub(room));
    leave(second, seats, model);
    expect(model.shown.has(seats[2]!.conn)).toBe(true);
    await converge(seats, model);
    await expectStored(room, model);
  });
});
