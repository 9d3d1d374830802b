/**
 * Counted pushes (docs/protocol.md, "Counted pushes"): per origin, the highest
 * `n` applied (its high-water mark) and the seq of every `n` applied within
 * ORIGIN_WINDOW below it. Unlike the room-wide window of message IDs, another
 * origin's pushes never push an origin's own numbers out, so an outbox that
 * comes back after any number of others' publishes is still recognised.
 *
 * The rows live in the room's SQLite storage and are written in the push's own
 * transaction (the Store calls `record` inside it), so a push and its record
 * commit together or not at all, and both survive hibernation and eviction.
 * Every row counts ROW_OVERHEAD plus its origin's bytes against maxRoomBytes:
 * each new origin and each new `n` adds one, and pruning gives them back.
 */
import { ORIGIN_WINDOW } from '../protocol/limits.ts';
import { utf8Length } from './codec.ts';

/** A counted push's place: its origin's scope (worker/identity.ts originScopeOf) and its number. */
export interface Counted {
  origin: string;
  n: number;
}

/** A counted push not applied yet, with its origin's high-water mark when it was looked up (none: a new origin). */
export interface Unseen extends Counted {
  hwm: number | undefined;
}

/** What a counted push is to the room: new, applied before (at `seq`), or too old to tell. */
export type Seen = ({ applied: false } & Unseen) | { applied: true; seq: number } | 'expired';

export const COUNTER_TABLES = `
CREATE TABLE IF NOT EXISTS origins (origin TEXT PRIMARY KEY, hwm INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS origins_by_at ON origins (at);
CREATE TABLE IF NOT EXISTS origin_msgs (
  origin TEXT NOT NULL, n INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (origin, n)) WITHOUT ROWID;
`;

/** Bytes a row counts beyond its origin's: about what SQLite spends on the numbers and the row. */
const ROW_OVERHEAD = 16;
/** Idle origins forgotten per new origin: enough to keep up, since each new origin adds one. */
const FORGET_PER_NEW = 4;

const rowBytes = (origin: string): number => utf8Length(origin) + ROW_OVERHEAD;

export class OriginCounters {
  #sql: SqlStorage;
  #idleMs: number;

  /** `idleSeconds`: how long an origin without a counted push is remembered (the room's retention). */
  constructor(sql: SqlStorage, idleSeconds: number) {
    this.#sql = sql;
    this.#idleMs = idleSeconds * 1000;
  }

  /** Whether this (origin, n) was applied, and at what seq; new (with its origin's mark); or `expired`. */
  seen({ origin, n }: Counted): Seen {
    const hwm = this.#sql.exec<{ hwm: number }>('SELECT hwm FROM origins WHERE origin = ?', origin).toArray()[0]?.hwm;
    if (hwm === undefined) return { applied: false, origin, n, hwm };
    if (n <= hwm - ORIGIN_WINDOW) return 'expired';
    const seq = this.#sql
      .exec<{ seq: number }>('SELECT seq FROM origin_msgs WHERE origin = ? AND n = ?', origin, n)
      .toArray()[0]?.seq;
    return seq === undefined ? { applied: false, origin, n, hwm } : { applied: true, seq };
  }

  /**
   * Bytes that recording this push would add to the room, at most: a row for the
   * origin if it is new, and one for `n`, less what pruning below the window frees.
   * `exact` counts the pruned rows too (a read of the window), for a room near its cap.
   */
  growth({ origin, n, hwm }: Unseen, exact: boolean): number {
    const bytes = rowBytes(origin);
    if (hwm === undefined) return 2 * bytes;
    if (!exact || n <= hwm) return bytes;
    const pruned = this.#sql
      .exec<{ k: number }>(
        'SELECT count(*) AS k FROM origin_msgs WHERE origin = ? AND n <= ?',
        origin,
        n - ORIGIN_WINDOW,
      )
      .one().k;
    return bytes * (1 - pruned);
  }

  /**
   * Records a counted push applied at `seq`, as `seen` found it (nothing was written
   * in between). Call inside the push's transaction. Returns the change in the bytes
   * the room's counters hold.
   */
  record({ origin, n, hwm }: Unseen, seq: number, now = Date.now()): number {
    const bytes = rowBytes(origin);
    let delta = bytes;
    if (hwm === undefined) {
      delta += bytes;
      this.#sql.exec('INSERT INTO origins (origin, hwm, at) VALUES (?, ?, ?)', origin, n, now);
    } else {
      this.#sql.exec('UPDATE origins SET hwm = max(hwm, ?), at = ? WHERE origin = ?', n, now, origin);
    }
    this.#sql.exec('INSERT INTO origin_msgs (origin, n, seq) VALUES (?, ?, ?)', origin, n, seq);
    if (hwm !== undefined && n > hwm) {
      // The window moved up: numbers at or below the new floor are `expired` from now on.
      const pruned = this.#sql
        .exec('DELETE FROM origin_msgs WHERE origin = ? AND n <= ? RETURNING n', origin, n - ORIGIN_WINDOW)
        .toArray().length;
      delta -= pruned * bytes;
    }
    return delta;
  }

  /** Bytes every counter row in the room counts, counted from the rows: for tests of the running total. */
  countBytes(): number {
    return this.#sql
      .exec<{ b: number }>(
        `SELECT coalesce(sum(length(CAST(origin AS BLOB)) + ${ROW_OVERHEAD}), 0) AS b FROM (
           SELECT origin FROM origins UNION ALL SELECT origin FROM origin_msgs)`,
      )
      .one().b;
  }

  /**
   * Forgets a few origins that made no counted push for the retention period, so a
   * room that stays busy (and is never wiped) does not keep every origin it ever saw.
   * Called before a new origin is recorded: each new one makes room for itself, even
   * at maxRoomBytes. A conforming client never resends a push that old. Returns the
   * change in bytes (≤ 0).
   */
  forgetIdle(now = Date.now()): number {
    let delta = 0;
    const idle = this.#sql
      .exec<{ origin: string }>(
        'SELECT origin FROM origins WHERE at < ? ORDER BY at LIMIT ?',
        now - this.#idleMs,
        FORGET_PER_NEW,
      )
      .toArray();
    for (const { origin } of idle) {
      const rows = this.#sql.exec('DELETE FROM origin_msgs WHERE origin = ? RETURNING n', origin).toArray().length;
      this.#sql.exec('DELETE FROM origins WHERE origin = ?', origin);
      delta -= (rows + 1) * rowBytes(origin);
    }
    return delta;
  }

  wipe(): void {
    this.#sql.exec('DELETE FROM origins');
    this.#sql.exec('DELETE FROM origin_msgs');
  }
}
