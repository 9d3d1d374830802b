/**
 * Presence on a leaf of a fanned-out room (docs/hot-rooms.md, Presence).
 *
 * The root orders the room's presence (worker/root-presence.ts). A leaf checks
 * its members' changes (size, rate, rights), reports them up in one call per
 * turn, and announces what comes back in the root's batches to its own members:
 * so every leaf announces the same events in the same order, its own members'
 * included, and never one to its own subject.
 *
 * `#view` is the room (every member, on any leaf) as this leaf's members were
 * told it, at the leaf's place in the root's chain of batches: a welcome
 * carries it. It lives in memory only. After a wake it is unknown until the
 * leaf relinks (the root's `link` answers with the roster), and a hello waits
 * for that. When the root restarted, a leaf that still knows its view announces
 * the difference between it and the root's roster, and filters the events its
 * relinking peers cause (a join of a peer already shown, a leave of one never
 * shown): the root's rebuild is not announced twice.
 *
 * The root's windows carry only its view of the room (`maxRosterPeers`, the
 * first members by arrival), so `#view` and welcomes are bounded too. Each
 * window also says how many members the room has; every member that takes the
 * roster is told how many it is not shown (`members` frames) by the rule of a
 * room of one object (worker/presence-roster.ts): the room's members less the
 * view, less itself when it counts but is not shown; after its welcome when
 * that is not 0, then whenever it changes. What the members were told survives
 * a wake: the leaf stores the room's members less the view (`roster_hidden`)
 * with its place in the chain, and each member that waits unshown is marked in
 * its attachment (`waits`, written at most twice in its life).
 */
import type { Peer, PresenceOut, ServerMessage } from '../protocol/messages.ts';
import type { Limits } from '../protocol/limits.ts';
import { LARGE_AUDIENCE } from './batching.ts';
import { toCbor, toJson } from './codec.ts';
import { Outgoing, type Connection, type Connections } from './connections.ts';
import type { PresenceItem } from './link-batch.ts';
import { stateFits } from './presence.ts';
import { hiddenFrom } from './roster-view.ts';
import { Throttle } from './throttle.ts';
import { errorFrame } from './validate.ts';

/** A change a leaf reports about one of its members; a leave carries the member's last state. */
export interface MemberChange {
  event: PresenceOut['event'];
  peer: Peer;
}

/** What the welcome says besides `peers`. */
export type WelcomeHead = Omit<Extract<ServerMessage, { type: 'welcome' }>, 'peers'>;

/** Where a leaf keeps a number across wakes (its Store's meta table). */
export interface Meta {
  meta(name: string): number;
  setMeta(name: string, value: number): void;
}

export interface PresenceLinks {
  /** Reports this turn's changes to the root, over the leaf's one stub (so in order). */
  report(changes: MemberChange[]): Promise<void>;
  /** A report failed: the leaf relinks, with its whole member list, which the root takes instead. */
  broken(): void;
  /** Relinks now, to learn the room's roster (a hello on a leaf that woke). */
  relink(): Promise<void>;
}

export class LeafPresence {
  #conns: Connections;
  #limits: Limits;
  #links: PresenceLinks;
  #view: Map<string, Peer> | undefined;
  /** `#view` encoded for welcomes, once per change. */
  #viewJson: string | undefined;
  /** Said hello on a leaf that did not know the room yet: welcomed once it does, and told nothing before. */
  #waiting = new Set<Connection>();
  #changes: MemberChange[] = [];
  /** The room's members, shown or not, at the leaf's place in the chain; unknown until a window or a link says. */
  #members: number | undefined;
  /** This leaf's members the root counts in `#members` but does not show (they wait for a place in the view). */
  #unshown = new Set<string>();
  #meta: Meta;
  /** The room's members less the view, as of the last time the members here were told (stored as `roster_hidden`). */
  #past: number;
  /** Tells the members here how many they are not shown, at most every membersEveryMs. */
  #counts: Throttle;

  constructor(conns: Connections, limits: Limits, links: PresenceLinks, meta: Meta) {
    this.#conns = conns;
    this.#limits = limits;
    this.#links = links;
    this.#meta = meta;
    this.#counts = new Throttle(limits.membersEveryMs, () => this.#tellNow());
    // Woken: the members were told their numbers as of the place the leaf stored, and are told only changes.
    this.#past = meta.meta('roster_hidden');
    for (const c of conns.present()) {
      if (c.a.waits) this.#unshown.add(c.a.conn);
      c.hiddenTold = hiddenFrom(this.#past, !!c.a.waits);
    }
  }

  /** Whether this leaf knows what its members were told: false after a wake or an unlink, until it relinks. */
  get knowsRoom(): boolean {
    return this.#view !== undefined;
  }

  /** Every member here, as the root should know them (sent with every link). */
  members(): Peer[] {
    return [...this.#conns.present()].map((c) => c.peer);
  }

  // ---- from the sockets ---------------------------------------------------------

  /** Whether `state` is within maxPresenceBytes; if not, the socket is told so. */
  fits(c: Connection, state: unknown): boolean {
    return stateFits(c, state, this.#limits);
  }

  /**
   * The welcome, with the room as this leaf's members were told it (never `c`).
   * On a leaf that does not know the room yet, it waits for the relink, and every
   * frame for `c` waits behind it; a socket that declined the roster needs nothing.
   */
  welcome(c: Connection, head: WelcomeHead): void {
    if (c.a.roster === false) return c.send({ ...head, peers: [] });
    if (this.#view) {
      this.#sendWelcome(c, head);
      return this.#count(c);
    }
    this.#waiting.add(c);
    const release = c.hold();
    this.#links.relink().then(
      () => {
        if (!this.#waiting.delete(c)) return release([].values());
        release([this.#welcomeFrame(c, head)].values());
        this.#count(c);
      },
      (err: unknown) => {
        console.error('leaf: could not learn the room for a welcome', err);
        this.#waiting.delete(c);
        release([].values());
        c.close(1011, 'room unavailable: reconnect');
      },
    );
  }

  /** A `presence` frame: the socket's new state, within maxPresenceBytes, reported at the presence rate. */
  set(c: Connection, state: unknown): void {
    if (!c.a.hello) return c.send(errorFrame('bad_message', 'Invalid presence: say hello before setting presence'));
    if (!this.fits(c, state)) return;
    c.a.presence = state;
    c.save();
    this.updated(c);
  }

  joined(c: Connection): void {
    // A join is never held back by the presence rate, but it counts against it.
    c.rates.presence.take();
    this.#report('join', c);
  }

  /**
   * Updates past the presence rate are coalesced, as in a room of one object:
   * one report is held until the bucket refills, with the latest state by then.
   */
  updated(c: Connection): void {
    if (c.heldAnnouncement !== undefined) return;
    const bucket = c.rates.presence;
    if (bucket.take()) return this.#report('update', c);
    c.heldAnnouncement = setTimeout(() => {
      c.heldAnnouncement = undefined;
      if (this.#conns.get(c.ws) !== c) return;
      bucket.take();
      this.#report('update', c);
    }, bucket.wait());
  }

  /** A member that closed, died, was swept or replaced. Call before the socket is removed. */
  left(c: Connection): void {
    this.#waiting.delete(c);
    this.#unshown.delete(c.a.conn);
    if (c.a.hello) this.#report('leave', c);
  }

  #report(event: MemberChange['event'], c: Connection): void {
    this.#changes.push({ event, peer: c.peer });
    if (this.#changes.length === 1) setTimeout(() => this.#send(), 0);
  }

  #send(): void {
    const changes = this.#changes;
    this.#changes = [];
    if (changes.length === 0) return;
    this.#links.report(changes).catch((err: unknown) => {
      // Whether the root took them is unknown: the relink's member list settles it.
      console.error('leaf: reporting presence to the room failed', err);
      this.#links.broken();
    });
  }

  // ---- from the root ------------------------------------------------------------

  /**
   * One window of the room's presence, from a batch: announced to every member
   * here but its subject, then each member told how many it is not shown, if
   * that changed.
   */
  apply(window: Omit<PresenceItem, 't'>): void {
    this.#announce(window.events);
    if (window.members === undefined) return;
    this.#members = window.members;
    for (const conn of window.unshown ?? []) this.#wait(conn, true);
    this.#tell();
  }

  /** Marks this leaf's member `conn` as waiting unshown (counted) or not, in its attachment too. */
  #wait(conn: string, waits: boolean): void {
    if (!waits) this.#unshown.delete(conn);
    const c = this.#conns.byConn(conn);
    if (!c?.a.hello) return;
    if (waits) this.#unshown.add(conn);
    if (!!c.a.waits === waits) return;
    if (waits) c.a.waits = true;
    else delete c.a.waits;
    c.save();
  }

  #announce(events: PresenceOut[]): void {
    const view = this.#view;
    const effective = view ? events.flatMap((e) => change(view, e)) : events;
    // Shown now: no longer waiting (a promotion, or a rebuild after the root restarted).
    for (const e of effective) if (e.event === 'join' && this.#unshown.has(e.peer.conn)) this.#wait(e.peer.conn, false);
    if (effective.length === 0) return;
    this.#viewJson = undefined;
    const audience = this.#audience();
    const wide = this.#wide(audience.length);
    for (const e of effective) {
      const out = new Outgoing(e);
      for (const m of audience) if (m.a.conn !== e.peer.conn) out.to(m, wide);
    }
  }

  /** Members here that are told the roster now: not those that declined it, nor those still waiting for a welcome. */
  #audience(): Connection[] {
    return [...this.#conns.present()].filter((m) => m.a.roster !== false && !this.#waiting.has(m));
  }

  /** Frames are batched per turn for a large room, as in a room of one object (LARGE_AUDIENCE). */
  #wide(audience: number): boolean {
    return Math.max(this.#members ?? 0, this.#view?.size ?? audience) >= LARGE_AUDIENCE;
  }

  /** How many members `c` is not shown: the room's less the view, less itself if it counts but is not shown. */
  #hidden(c: Connection, members: number, view: Map<string, Peer>): number {
    return hiddenFrom(members - view.size, !view.has(c.a.conn) && this.#unshown.has(c.a.conn));
  }

  /** After a welcome (a socket starts from 0): it is told how many it is not shown, if any, with the next count. */
  #count(c: Connection): void {
    if (!this.#conns.byConn(c.a.conn)) return;
    c.hiddenTold = 0;
    this.#tell();
  }

  #tell(): void {
    this.#counts.request();
  }

  /** Tells every member here whose number of members not shown changed (one frame per distinct number). */
  #tellNow(): void {
    const view = this.#view;
    const members = this.#members;
    if (!view || members === undefined) return;
    if (members - view.size !== this.#past) this.#meta.setMeta('roster_hidden', (this.#past = members - view.size));
    const audience = this.#audience();
    const wide = this.#wide(audience.length);
    const outs = new Map<number, Outgoing>();
    for (const m of audience) {
      const hidden = this.#hidden(m, members, view);
      if (m.hiddenTold === hidden) continue;
      m.hiddenTold = hidden;
      let out = outs.get(hidden);
      if (!out) outs.set(hidden, (out = new Outgoing({ type: 'members', hidden })));
      out.to(m, wide);
    }
  }

  /**
   * The relink's answer, after its missed batches were applied: the room as of
   * the leaf's place in the chain. A leaf that knew its view announces the
   * difference (which only a restart of the root leaves); the root's state for a
   * peer both know may be older than the view's (it keeps the state a peer
   * joined with, and its leaf re-announces the latest), so the view's is kept.
   */
  relinked(reply: { roster?: Peer[]; members?: number; unshown?: string[] }): void {
    const { roster } = reply;
    if (!roster) return;
    const next = new Map(roster.map((p) => [p.conn, p]));
    const view = this.#view;
    if (view) {
      const diff: PresenceOut[] = [];
      for (const [conn, peer] of view) {
        if (!next.has(conn)) diff.push({ type: 'presence', event: 'leave', peer });
        else next.set(conn, peer);
      }
      for (const [conn, peer] of next) if (!view.has(conn)) diff.push({ type: 'presence', event: 'join', peer });
      this.#announce(diff);
    }
    this.#view = next;
    this.#viewJson = undefined;
    if (reply.members === undefined) return;
    this.#members = reply.members;
    const unshown = new Set(reply.unshown);
    for (const conn of this.#unshown) if (!unshown.has(conn)) this.#wait(conn, false);
    for (const conn of unshown) this.#wait(conn, true);
    this.#tell();
  }

  /** The retention wipe closed every socket of the room, and the root forgot them all, without a leave. */
  wiped(): void {
    this.#view = new Map();
    this.#viewJson = undefined;
    this.#members = 0;
    this.#unshown.clear();
  }

  /** The leaf stopped following the root (it unlinked, or lost the room's order): its view is no longer kept up. */
  forget(): void {
    this.#view = undefined;
    this.#viewJson = undefined;
    this.#members = undefined;
    this.#unshown.clear();
  }

  #sendWelcome(c: Connection, head: WelcomeHead): void {
    c.sendFrame(this.#welcomeFrame(c, head));
  }

  #welcomeFrame(c: Connection, head: WelcomeHead): string | Uint8Array {
    const view = this.#view ?? new Map<string, Peer>();
    if (c.a.cbor) return toCbor({ ...head, peers: [...view.values()].filter((p) => p.conn !== c.a.conn) });
    // A second hello, or a member whose own join came back before its welcome: rare.
    const peers = view.has(c.a.conn)
      ? JSON.stringify([...view.values()].filter((p) => p.conn !== c.a.conn))
      : (this.#viewJson ??= JSON.stringify([...view.values()]));
    return `${toJson(head).slice(0, -1)},"peers":${peers}}`;
  }
}

/**
 * What `e` changes in `view` (and applies it): a join of a peer already shown is
 * at most an update, an update of one never shown is a join, a leave of one
 * never shown is nothing.
 */
function change(view: Map<string, Peer>, e: PresenceOut): PresenceOut[] {
  const shown = view.get(e.peer.conn);
  if (e.event === 'leave') {
    if (!shown) return [];
    view.delete(e.peer.conn);
    return [e];
  }
  view.set(e.peer.conn, e.peer);
  if (!shown) return [{ ...e, event: 'join' }];
  if (e.event === 'join') {
    return JSON.stringify(shown.state) === JSON.stringify(e.peer.state) ? [] : [{ ...e, event: 'update' }];
  }
  return [e];
}
