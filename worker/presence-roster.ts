/**
 * Who is in the room, and the presence announcements on their way.
 *
 * In a small room every join, update and leave goes out at once, one frame per
 * member, as it always did. In a room of LARGE_AUDIENCE members or more that
 * would cost the square of the room: each of N joins is sent to up to N
 * sockets, and each welcome carries up to N peers. There, announcements wait
 * up to `presenceBatchMs` and go out together: each is encoded once, and the
 * batching in connections.ts gives each member the lot in one frame.
 *
 * Two rosters stay consistent through this. `#announced` is the room as of the
 * last flush, which every member has been told (in its welcome, or by the
 * events since); a `welcome` carries it, encoded once per change. `#pending`
 * holds, per peer, the one event that brings it up to date. So a socket
 * welcomed between two flushes receives the next flush minus its own events,
 * and never sees a join twice or a leave of a peer it was not shown.
 *
 * The roster shows a room's first `maxRosterPeers` members (roster-view.ts);
 * the others are members all the same, and a member is told how many it is
 * not shown (`members` frames) when that number changed, at most every
 * `membersEveryMs`: in a connect storm it changes with every window.
 *
 * A member whose hello said `roster: false` is announced like any other, but is
 * told nothing: its welcome has no peers and flushes pass it by. The threshold
 * counts it all the same (it is a member), so that whether a room batches does
 * not depend on what its members chose to see.
 */
import type { Peer, PresenceOut } from '../protocol/messages.ts';
import { LARGE_AUDIENCE } from './batching.ts';
import { Outgoing, type Connection, type Connections } from './connections.ts';
import { hiddenFrom, RosterView } from './roster-view.ts';
import { Throttle } from './throttle.ts';

type Event = PresenceOut['event'];

export class Roster {
  #conns: Connections;
  #batchMs: number;
  /** Sockets that said hello and are still here, by connection ID, in order of arrival. */
  #members = new Map<string, Connection>();
  /** Which of them the roster shows. */
  #view: RosterView;
  /** The member holding each identity (client ID and device): a newer hello replaces an older socket. */
  #byIdentity = new Map<string, Connection>();
  /** The room as of the last flush. */
  #announced = new Map<string, Peer>();
  /** `#announced`, encoded for a welcome; undefined once it changed. */
  #announcedJson: string | undefined;
  /**
   * Per peer, the one event since the last flush that brings `#announced` up to
   * date, in the order of each peer's latest change. A join and leave within one
   * window cancel; later updates replace earlier ones (a join keeps being a join).
   */
  #pending = new Map<string, PresenceOut>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Tells members how many they are not shown, at most every membersEveryMs. */
  #counts: Throttle;

  /**
   * After a wake, everyone who said hello was announced before the object slept:
   * a pending flush's timer keeps it from being evicted (since compatibility date
   * 2026-10-01, pending timers do), and a crash drops the sockets with it.
   */
  constructor(conns: Connections, batchMs: number, cap: number, countEveryMs: number) {
    this.#conns = conns;
    this.#batchMs = batchMs;
    this.#view = new RosterView(cap);
    this.#counts = new Throttle(countEveryMs, () => this.#tellCounts());
    // Shown ones first (they are who the others were told of), then by arrival.
    const present = [...conns.present()].sort(
      (a, b) => Number(!a.a.shown) - Number(!b.a.shown) || (a.a.arrived ?? 0) - (b.a.arrived ?? 0),
    );
    for (const c of present) {
      this.#members.set(c.a.conn, c);
      this.#byIdentity.set(identity(c), c);
      if (c.a.shown && this.#view.admit(c.a.conn)) this.#announced.set(c.a.conn, c.peer);
    }
    // Told before the sleep, by the flush that the pending timer kept it awake for.
    for (const c of present) c.hiddenTold = this.#hidden(c);
  }

  /**
   * After a welcome (a socket starts from 0): it is told how many it is not
   * shown, if any, with the next count, within membersEveryMs. Not at once: in a
   * connect storm that would be one more frame for every socket.
   */
  count(c: Connection): void {
    if (c.a.roster === false) return;
    c.hiddenTold = 0;
    this.#counts.request();
  }

  /** Members `c` is not shown: beyond the view, and not `c` itself. */
  #hidden(c: Connection): number {
    const waits = this.#members.get(c.a.conn) === c && !this.#view.has(c.a.conn);
    return hiddenFrom(this.#members.size - this.#view.size, waits);
  }

  /** The member, other than `c`, with this client ID and device: the socket a hello from `c` replaces. */
  holder(client: string, device: string | undefined, c: Connection): Connection | undefined {
    this.#forgetWiped();
    const holder = this.#byIdentity.get(identityOf(client, device));
    return holder === c ? undefined : holder;
  }

  /** The welcome's `peers`: the room as announced, without `c`; none for a socket that declined the roster. */
  peers(c: Connection): Peer[] {
    if (c.a.roster === false) return [];
    return [...this.#announced.values()].filter((p) => p.conn !== c.a.conn);
  }

  /** `peers(c)` as JSON, encoded once per change of the roster for every joiner. */
  peersJson(c: Connection): string {
    if (c.a.roster === false) return '[]';
    if (this.#announced.has(c.a.conn)) return JSON.stringify(this.peers(c)); // a second hello: rare
    return (this.#announcedJson ??= JSON.stringify([...this.#announced.values()]));
  }

  /** A hello's join. The hello saves `c`'s attachment after this, `shown` with it. */
  join(c: Connection): void {
    this.#members.set(c.a.conn, c);
    this.#byIdentity.set(identity(c), c);
    if (this.#view.admit(c.a.conn)) this.#show(c, false);
    this.#schedule();
  }

  update(c: Connection): void {
    if (this.#members.get(c.a.conn) !== c || !this.#view.has(c.a.conn)) return;
    this.#queue('update', c.peer);
    this.#schedule();
  }

  leave(c: Connection): void {
    if (this.#members.get(c.a.conn) !== c) return;
    this.#members.delete(c.a.conn);
    if (this.#byIdentity.get(identity(c)) === c) this.#byIdentity.delete(identity(c));
    if (this.#view.has(c.a.conn)) {
      this.#queue('leave', c.peer);
      const next = this.#view.dismiss(c.a.conn, this.#members);
      if (next) this.#show(next[1]);
    }
    this.#schedule();
  }

  /**
   * `c` entered the view: marked in its attachment, so a wake knows whom the
   * others were told of. A joiner's is saved by its hello, right after.
   */
  #show(c: Connection, save = true): void {
    c.a.shown = true;
    if (save) c.save();
    this.#queue('join', c.peer);
  }

  #queue(event: Event, peer: Peer): void {
    coalesce(this.#pending, this.#announced, event, peer);
  }

  /** Every join and leave changes the roster or what members are not shown: a flush is due. */
  #schedule(): void {
    if (this.#members.size < LARGE_AUDIENCE) this.flush();
    else this.#timer ??= setTimeout(() => this.#flushSafely(), this.#batchMs);
  }

  /** Sends what is pending to every member that takes the roster but its subject, and makes it the announced roster. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.size === 0) return this.#counts.request();
    const events = [...this.#pending.values()];
    this.#pending.clear();
    this.#announcedJson = undefined;
    announce(this.#announced, events);
    const outs = events.map((e) => ({ about: e.peer.conn, out: new Outgoing(e) }));
    const wide = this.#members.size >= LARGE_AUDIENCE;
    for (const m of this.#members.values()) {
      if (m.a.roster === false) continue;
      for (const { about, out } of outs) if (about !== m.a.conn) out.to(m, wide);
    }
    // After the events: a count always matches the peers a member was told.
    this.#counts.request();
  }

  /** Tells each member that takes the roster how many it is not shown, if that changed since it was last told. */
  #tellCounts(): void {
    // A window is pending: its flush asks again, so a count never runs ahead of the events it follows.
    if (this.#pending.size > 0) return;
    const beyond = this.#members.size - this.#view.size;
    // One frame for the shown and one for the rest (who are not shown themselves).
    const counts = [false, true].map((waits) => new Outgoing({ type: 'members', hidden: hiddenFrom(beyond, waits) }));
    const wide = this.#members.size >= LARGE_AUDIENCE;
    for (const m of this.#members.values()) {
      if (m.a.roster === false) continue;
      const waits = !this.#view.has(m.a.conn);
      if (m.hiddenTold !== (m.hiddenTold = hiddenFrom(beyond, waits))) counts[Number(waits)]!.to(m, wide);
    }
  }

  #flushSafely(): void {
    try {
      this.flush();
    } catch (err) {
      console.error('presence: flush failed', err);
    }
  }

  /**
   * The retention wipe drops every socket without a leave (nobody is left to
   * tell). Seen from here, one member gone that way means all of them are:
   * forget them before a new socket is shown a roster.
   */
  #forgetWiped(): void {
    const first = this.#members.values().next().value;
    if (first === undefined || this.#conns.get(first.ws) === first) return;
    for (const [conn, m] of this.#members) {
      if (this.#conns.get(m.ws) === m) continue;
      this.#members.delete(conn);
      if (this.#byIdentity.get(identity(m)) === m) this.#byIdentity.delete(identity(m));
      this.#announced.delete(conn);
      this.#pending.delete(conn);
      this.#view.dismiss(conn, []);
    }
    this.#announcedJson = undefined;
  }
}

/** With a token, one user's tabs are told apart by device; otherwise the client ID alone. */
const identityOf = (client: string, device: string | undefined): string => `${client}\n${device ?? ''}`;
const identity = (c: Connection): string => identityOf(c.a.client ?? c.a.conn, c.a.device);

/**
 * Queues `event` about `peer` in a window: `pending` keeps one event per peer,
 * in the order of each peer's latest change, that brings `announced` up to
 * date. A join and leave within one window cancel; later updates replace
 * earlier ones, and a join stays a join. The leaves of a fanned-out room get
 * the root's windows made by the same rule (worker/root-presence.ts).
 */
export function coalesce(
  pending: Map<string, PresenceOut>,
  announced: Map<string, Peer>,
  event: Event,
  peer: Peer,
): void {
  const known = announced.has(peer.conn);
  pending.delete(peer.conn);
  // Nobody was told of a peer that joins and leaves within one window.
  if (known || event !== 'leave') {
    pending.set(peer.conn, { type: 'presence', event: known || event === 'leave' ? event : 'join', peer });
  }
}

/** Applies a window's events to the roster they were announced against. */
export function announce(announced: Map<string, Peer>, events: Iterable<PresenceOut>): void {
  for (const { event, peer } of events) {
    if (event === 'leave') announced.delete(peer.conn);
    else announced.set(peer.conn, peer);
  }
}
