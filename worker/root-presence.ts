/**
 * Presence in a fanned-out room, at the root (docs/hot-rooms.md, Presence):
 * the one place that orders it. Leaves report their members' joins, updates
 * and leaves (worker/leaf-presence.ts); the root keeps the room's roster,
 * coalesces the events into windows by the same rule as a room of one object
 * (worker/presence-roster.ts: at once below LARGE_AUDIENCE members, else every
 * `presenceBatchMs`), and sends each window to every leaf inside the ordered
 * link batches, so presence shares their chain, gap repair and ring.
 *
 * Membership is kept in SQLite as announced (a row per join, deleted at the
 * leave), so a root that was evicted in a quiet room still knows who is there
 * when it wakes. States are not written on every update (a cursor would cost a
 * row write each time): a row keeps the state its peer joined with, and a leaf
 * re-announces its members' latest when it relinks, which every leaf does on
 * meeting the root's new epoch.
 *
 * The roster shows the room's first `maxRosterPeers` members by arrival, as in
 * a room of one object (worker/roster-view.ts): the root applies the view, so a
 * window carries only its events (joins, promotions included, and the updates
 * and leaves of shown members). The others are members all the same: each
 * window says how many members the room has, and which joined unshown, so a
 * leaf can tell its members how many they are not shown. They are kept in a
 * table of their own (presence_waiting), in order of arrival, so a restarted
 * root still promotes the one that waited longest and counts the whole room
 * before any leaf relinks.
 */
import type { Peer, PresenceOut } from '../protocol/messages.ts';
import { LARGE_AUDIENCE } from './batching.ts';
import type { MemberChange } from './leaf-presence.ts';
import type { PresenceItem } from './link-batch.ts';
import { announce, coalesce } from './presence-roster.ts';
import { RosterView } from './roster-view.ts';

const SCHEMA =
  'CREATE TABLE IF NOT EXISTS presence_members (conn TEXT PRIMARY KEY, leaf TEXT NOT NULL, client TEXT NOT NULL, state TEXT NOT NULL) WITHOUT ROWID;';
/** Members past the view, as they joined: the rowid keeps their order of arrival. */
const WAITING_SCHEMA =
  'CREATE TABLE IF NOT EXISTS presence_waiting (conn TEXT PRIMARY KEY, leaf TEXT NOT NULL, client TEXT NOT NULL, state TEXT NOT NULL);';

interface Member {
  leaf: string;
  peer: Peer;
}

/** A window as it goes to the leaves: its events, and the room's members after it. */
export type Window = Omit<PresenceItem, 't'>;

export class RootRoster {
  #sql: SqlStorage;
  #batchMs: number;
  /** Sends a window to every leaf (in this turn's link batch). */
  #send: (window: Window) => void;
  /** Read from SQLite on first use: a room that never fanned out makes no query here. */
  #loaded = false;
  /** Every member as the root knows it now (reports applied), with its leaf, in order of arrival. */
  #members = new Map<string, Member>();
  /** Which of them the roster shows. */
  #view: RosterView;
  /** The room as of the last window sent: what every leaf's members were told. */
  #announced = new Map<string, Peer>();
  /** The room's member count as of the last window sent. */
  #counted = 0;
  #pending = new Map<string, PresenceOut>();
  /** Members that joined since the last window: the next window counts them, and names those not shown. */
  #fresh = new Set<string>();
  /** Stored members that left unannounced since the last window (they were not shown): their rows go. */
  #gone = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(sql: SqlStorage, batchMs: number, cap: number, send: (window: Window) => void) {
    this.#sql = sql;
    this.#batchMs = batchMs;
    this.#view = new RosterView(cap);
    this.#send = send;
  }

  /** The room as announced: the roster a relinking leaf's view starts from, at the batch its link answer names. */
  roster(): Peer[] {
    this.#load();
    return [...this.#announced.values()];
  }

  /**
   * With the roster, what a relinking leaf needs to count as of the same window:
   * the room's members, and which of its own the root counts but does not show.
   */
  count(leaf: string): { members: number; unshown: string[] } {
    this.#load();
    const unshown: string[] = [];
    for (const [conn, m] of this.#members) {
      if (m.leaf === leaf && !this.#announced.has(conn) && !this.#fresh.has(conn)) unshown.push(conn);
    }
    return { members: this.#counted, unshown };
  }

  /**
   * A leaf's reports, in the order it made them. They may cross a relink that
   * already told the root the same, so each is taken for what it changes: a
   * join of a member the root has is at most an update, a leave of one it does
   * not have is nothing.
   */
  report(leaf: string, changes: MemberChange[]): void {
    this.#load();
    for (const { event, peer } of changes) {
      const known = this.#members.get(peer.conn);
      if (event === 'leave') {
        if (known) this.#leave(peer.conn, peer);
      } else if (!known) this.#join(leaf, peer);
      else if (event === 'update' || !sameState(known.peer, peer)) this.#update(known, peer);
    }
    this.#schedule();
  }

  /**
   * A leaf (re)links with its whole member list, which replaces what the root
   * had for it: members it no longer has leave (they went while a report was
   * lost, or the leaf died without telling), new ones join, and changed states
   * are updated.
   */
  relink(leaf: string, members: Peer[]): void {
    this.#load();
    const listed = new Set(members.map((p) => p.conn));
    for (const [conn, m] of this.#members) if (m.leaf === leaf && !listed.has(conn)) this.#leave(conn, m.peer);
    for (const peer of members) {
      const known = this.#members.get(peer.conn);
      if (!known) this.#join(leaf, peer);
      else if (!sameState(known.peer, peer)) this.#update(known, peer);
    }
    this.#schedule();
  }

  /** A leaf that unlinked: whoever the root still had there has left. */
  drop(leaf: string): void {
    this.relink(leaf, []);
  }

  /** The retention wipe closed every socket: nobody is left to tell. */
  wipe(): void {
    this.#load();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#members.clear();
    this.#view.clear();
    this.#announced.clear();
    this.#counted = 0;
    this.#pending.clear();
    this.#fresh.clear();
    this.#gone.clear();
    this.#sql.exec('DELETE FROM presence_members');
    this.#sql.exec('DELETE FROM presence_waiting');
  }

  /**
   * Sends what is pending to the leaves, and makes it the announced roster (and
   * the stored one), with the member count whenever it changed.
   */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#due()) return;
    const events = [...this.#pending.values()];
    this.#pending.clear();
    const unshown = [...this.#fresh].filter((conn) => !this.#view.has(conn));
    this.#fresh.clear();
    this.#counted = this.#members.size;
    announce(this.#announced, events);
    for (const conn of this.#gone) this.#sql.exec('DELETE FROM presence_waiting WHERE conn = ?', conn);
    this.#gone.clear();
    for (const { event, peer } of events) {
      if (event === 'join') {
        this.#store('presence_members', peer);
        // A promotion: it waited.
        this.#sql.exec('DELETE FROM presence_waiting WHERE conn = ?', peer.conn);
      } else if (event === 'leave') this.#sql.exec('DELETE FROM presence_members WHERE conn = ?', peer.conn);
    }
    for (const conn of unshown) this.#store('presence_waiting', this.#members.get(conn)!.peer);
    this.#send({ events, members: this.#counted, ...(unshown.length ? { unshown } : {}) });
  }

  #store(table: 'presence_members' | 'presence_waiting', peer: Peer): void {
    this.#sql.exec(
      `INSERT OR REPLACE INTO ${table} (conn, leaf, client, state) VALUES (?, ?, ?, ?)`,
      peer.conn,
      this.#members.get(peer.conn)?.leaf ?? '',
      peer.client,
      JSON.stringify(peer.state ?? null),
    );
  }

  /** A member arrived: shown if the view has room, else it waits (counted, and named by the next window). */
  #join(leaf: string, peer: Peer): void {
    this.#members.set(peer.conn, { leaf, peer });
    this.#fresh.add(peer.conn);
    if (this.#view.admit(peer.conn)) this.#queue('join', peer);
  }

  /** A member's new state: announced if it is shown, else kept for the join that will show it. */
  #update(known: Member, peer: Peer): void {
    known.peer = peer;
    if (this.#view.has(peer.conn)) this.#queue('update', peer);
  }

  /** A member left: if it was shown, the member that waited longest takes its place, with its latest state. */
  #leave(conn: string, peer: Peer): void {
    this.#members.delete(conn);
    // Stored as waiting: not shown, or shown by a promotion no window has announced yet.
    if (!this.#fresh.delete(conn) && !this.#announced.has(conn)) this.#gone.add(conn);
    if (!this.#view.has(conn)) return;
    this.#queue('leave', peer);
    const next = this.#view.dismiss(conn, this.#members);
    if (next) this.#queue('join', next[1].peer);
  }

  /** Events to send, or a member count the leaves were not told. */
  #due(): boolean {
    const stored = this.#fresh.size > 0 || this.#gone.size > 0;
    return stored || this.#pending.size > 0 || this.#members.size !== this.#counted;
  }

  #queue(event: PresenceOut['event'], peer: Peer): void {
    coalesce(this.#pending, this.#announced, event, peer);
  }

  #schedule(): void {
    if (!this.#due()) return;
    if (this.#members.size < LARGE_AUDIENCE) this.flush();
    else
      this.#timer ??= setTimeout(() => {
        try {
          this.flush();
        } catch (err) {
          console.error('room: presence flush failed', err);
        }
      }, this.#batchMs);
  }

  #load(): void {
    if (this.#loaded) return;
    this.#loaded = true;
    this.#sql.exec(SCHEMA);
    this.#sql.exec(WAITING_SCHEMA);
    for (const row of this.#rows('SELECT conn, leaf, client, state FROM presence_members')) {
      this.#members.set(row.conn, { leaf: row.leaf, peer: row.peer });
      this.#announced.set(row.conn, row.peer);
      // A smaller maxRosterPeers since (a new deploy): past it, a member leaves the view, and so the roster.
      if (!this.#view.admit(row.conn)) {
        this.#queue('leave', row.peer);
        this.#fresh.add(row.conn);
      }
    }
    for (const row of this.#rows('SELECT conn, leaf, client, state FROM presence_waiting ORDER BY rowid')) {
      this.#members.set(row.conn, { leaf: row.leaf, peer: row.peer });
      // A larger maxRosterPeers since: the view has room for it.
      if (this.#view.admit(row.conn)) this.#queue('join', row.peer);
    }
    this.#counted = this.#members.size;
  }

  *#rows(query: string): Generator<{ conn: string; leaf: string; peer: Peer }> {
    for (const row of this.#sql.exec<{ conn: string; leaf: string; client: string; state: string }>(query)) {
      yield {
        conn: row.conn,
        leaf: row.leaf,
        peer: { conn: row.conn, client: row.client, state: JSON.parse(row.state) },
      };
    }
  }
}

const sameState = (a: Peer, b: Peer): boolean => JSON.stringify(a.state) === JSON.stringify(b.state);
