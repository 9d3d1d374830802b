/**
 * A reference model of one room, written from docs/protocol.md and nothing
 * else: what a room holds, what a replay from a seq must give, and who is
 * present. The model-based test (room.test.ts) checks every observation of the
 * real worker against it. It knows no seq in advance (a restart may skip
 * numbers): it learns each from the room and checks that it is new and above
 * every seq handed out before.
 */
import { ORIGIN_WINDOW } from '../../protocol/limits.ts';

export type Action = 'relay' | 'replace' | 'append';
export interface Entry {
  value: unknown;
  seq: number;
  client?: string;
}
export interface Peer {
  conn: string;
  client: string;
  state: unknown;
}
interface Subject {
  entries: Entry[];
  floor: number;
}
/** What the room must make of a counted push (docs/protocol.md, "Counted pushes"). */
export type Fate = { kind: 'new' } | { kind: 'duplicate'; seq: number } | { kind: 'expired' };
/**
 * One origin's counted pushes: its highest n applied, and the seq of every n
 * applied. The room forgets the numbers below its window; the model need not,
 * since `expired` is decided from `hwm` before any number is looked up.
 */
interface Origin {
  hwm: number;
  applied: Map<number, number>;
}

export class RoomModel {
  /** The highest seq the room is known to have handed out (a lower bound: an unseen relay may have taken more). */
  lastSeq = 0;
  /** Every seq handed out to a relay, append or replace, to check that none is reused. */
  readonly used = new Set<number>();
  readonly subjects = new Map<string, Subject>();
  /** Connections that said hello, by connection ID. */
  readonly present = new Map<string, Peer>();
  /** Counted pushes applied, by origin (the secret: without tokens, its scope). */
  readonly origins = new Map<string, Origin>();

  #subject(key: string): Subject {
    let s = this.subjects.get(key);
    if (!s) this.subjects.set(key, (s = { entries: [], floor: 0 }));
    return s;
  }

  /** A new seq from the room: strictly above every one before, never reused. Returns a complaint, or undefined. */
  takeSeq(seq: number): string | undefined {
    if (!Number.isInteger(seq) || seq <= this.lastSeq || this.used.has(seq)) {
      return `seq ${seq} is not above the last seq handed out (${this.lastSeq})`;
    }
    this.used.add(seq);
    this.lastSeq = seq;
    return undefined;
  }

  /** The room's welcome says its latest seq: nothing handed out may be above it, and the next is above it. */
  welcomeSeq(seq: number): string | undefined {
    if (seq < this.lastSeq) return `welcome.seq ${seq} is below the last seq handed out (${this.lastSeq})`;
    this.lastSeq = seq;
    return undefined;
  }

  /** Relay: delivered, never stored. Append: stored after the rest. Replace: the only value kept. */
  write(key: string, action: Action, value: unknown, seq: number, client?: string): void {
    if (action === 'relay') return;
    const e: Entry = { value, seq, client };
    const s = this.#subject(key);
    if (action === 'append') s.entries.push(e);
    else s.entries = [e];
  }

  /** Compact at `at`: values with seq ≤ at are dropped and the snapshot kept at `at`; below the floor, ignored. */
  compact(key: string, value: unknown, at: number, client?: string): void {
    const s = this.#subject(key);
    if (at < s.floor) return;
    s.entries = [{ value, seq: at, client }, ...s.entries.filter((e) => e.seq > at)];
    s.floor = at;
  }

  /** How many values `key` retains (what stream_size reports). */
  size(key: string): number {
    return this.subjects.get(key)?.entries.length ?? 0;
  }

  floor(key: string): number {
    return this.subjects.get(key)?.floor ?? 0;
  }

  /** A replay from `after`: exactly what followed it, or, below the floor, the whole state flagged reset. */
  replay(key: string, after: number): { data: Entry[]; reset: boolean } {
    const s = this.subjects.get(key) ?? { entries: [], floor: 0 };
    const reset = after > 0 && after < s.floor;
    return { data: s.entries.filter((e) => reset || e.seq > after), reset };
  }

  /** The last `n` retained values. */
  last(key: string, n: number): Entry[] {
    const entries = this.subjects.get(key)?.entries ?? [];
    return entries.slice(Math.max(0, entries.length - n));
  }

  /** Too old to tell (n ≤ hwm − ORIGIN_WINDOW), applied before (at its first seq), or new: applied now. */
  fate(origin: string, n: number): Fate {
    const o = this.origins.get(origin);
    if (o && n <= o.hwm - ORIGIN_WINDOW) return { kind: 'expired' };
    const seq = o?.applied.get(n);
    return seq === undefined ? { kind: 'new' } : { kind: 'duplicate', seq };
  }

  /** A counted push the room applied (at `seq`; a compaction's is its `at`). */
  counted(origin: string, n: number, seq: number): void {
    let o = this.origins.get(origin);
    if (!o) this.origins.set(origin, (o = { hwm: 0, applied: new Map() }));
    o.hwm = Math.max(o.hwm, n);
    o.applied.set(n, seq);
  }

  /** The highest n applied under `origin` (0: none yet). */
  highest(origin: string): number {
    return this.origins.get(origin)?.hwm ?? 0;
  }

  join(peer: Peer): void {
    this.present.set(peer.conn, peer);
  }

  leave(conn: string): Peer | undefined {
    const p = this.present.get(conn);
    this.present.delete(conn);
    return p;
  }

  /** The roster a joining connection is welcomed with: everyone else present. */
  peersFor(conn: string): Peer[] {
    return [...this.present.values()].filter((p) => p.conn !== conn);
  }
}
