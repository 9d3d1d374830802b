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
 */
import type { Peer, PresenceOut } from '../protocol/messages.ts';
import { LARGE_AUDIENCE } from './batching.ts';
import type { MemberChange } from './leaf-presence.ts';
import { announce, coalesce } from './presence-roster.ts';

const SCHEMA =
  'CREATE TABLE IF NOT EXISTS presence_members (conn TEXT PRIMARY KEY, leaf TEXT NOT NULL, client TEXT NOT NULL, state TEXT NOT NULL) WITHOUT ROWID;';

interface Member {
  leaf: string;
  peer: Peer;
}

export class RootRoster {
  #sql: SqlStorage;
  #batchMs: number;
  /** Sends a window of events to every leaf (in this turn's link batch). */
  #send: (events: PresenceOut[]) => void;
  /** Read from SQLite on first use: a room that never fanned out makes no query here. */
  #loaded = false;
  /** Every member as the root knows it now (reports applied), with its leaf. */
  #members = new Map<string, Member>();
  /** The room as of the last window sent: what every leaf's members were told. */
  #announced = new Map<string, Peer>();
  #pending = new Map<string, PresenceOut>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(sql: SqlStorage, batchMs: number, send: (events: PresenceOut[]) => void) {
    this.#sql = sql;
    this.#batchMs = batchMs;
    this.#send = send;
  }

  /** The room as announced: the roster a relinking leaf's view starts from, at the batch its link answer names. */
  roster(): Peer[] {
    this.#load();
    return [...this.#announced.values()];
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
      } else if (!known) {
        this.#members.set(peer.conn, { leaf, peer });
        this.#queue('join', peer);
      } else if (event === 'update' || !sameState(known.peer, peer)) {
        known.peer = peer;
        this.#queue('update', peer);
      }
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
      if (!known) {
        this.#members.set(peer.conn, { leaf, peer });
        this.#queue('join', peer);
      } else if (!sameState(known.peer, peer)) {
        known.peer = peer;
        this.#queue('update', peer);
      }
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
    this.#announced.clear();
    this.#pending.clear();
    this.#sql.exec('DELETE FROM presence_members');
  }

  /** Sends what is pending to the leaves, and makes it the announced roster (and the stored one). */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.size === 0) return;
    const events = [...this.#pending.values()];
    this.#pending.clear();
    announce(this.#announced, events);
    for (const { event, peer } of events) {
      if (event === 'join') {
        const leaf = this.#members.get(peer.conn)?.leaf ?? '';
        this.#sql.exec(
          'INSERT OR REPLACE INTO presence_members (conn, leaf, client, state) VALUES (?, ?, ?, ?)',
          peer.conn,
          leaf,
          peer.client,
          JSON.stringify(peer.state ?? null),
        );
      } else if (event === 'leave') this.#sql.exec('DELETE FROM presence_members WHERE conn = ?', peer.conn);
    }
    this.#send(events);
  }

  #leave(conn: string, peer: Peer): void {
    this.#members.delete(conn);
    this.#queue('leave', peer);
  }

  #queue(event: PresenceOut['event'], peer: Peer): void {
    coalesce(this.#pending, this.#announced, event, peer);
  }

  #schedule(): void {
    if (this.#pending.size === 0) return;
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
    for (const row of this.#sql.exec<{ conn: string; leaf: string; client: string; state: string }>(
      'SELECT conn, leaf, client, state FROM presence_members',
    )) {
      const peer = { conn: row.conn, client: row.client, state: JSON.parse(row.state) as unknown };
      this.#members.set(row.conn, { leaf: row.leaf, peer });
      this.#announced.set(row.conn, peer);
    }
  }
}

const sameState = (a: Peer, b: Peer): boolean => JSON.stringify(a.state) === JSON.stringify(b.state);
