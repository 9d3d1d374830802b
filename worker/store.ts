/**
 * The room's SQLite storage: the sequence counter, retained values per
 * subject, recent client message IDs, and explicit subscriptions (which must
 * survive hibernation and are too large for a socket attachment).
 */
import { DEDUP_WINDOW, type ErrorCode } from '../protocol/limits.ts';
import type { Action } from '../protocol/messages.ts';

/** A value as stored: JSON text, or CBOR bytes when it holds byte strings JSON cannot carry. */
export type StoredValue = string | ArrayBuffer;

export interface StoredEntry {
  seq: number;
  value: StoredValue;
  client: string | null;
}

export interface Subject {
  /** Retained values. */
  size: number;
  /** Highest seq compacted away: replays from below it cannot be complete. */
  floor: number;
}

export interface Applied {
  seq: number;
  size: number;
}

/** Thrown for a push that is well-formed but cannot be applied; `code` is the error frame's. */
export class RejectedPush extends Error {
  readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode = 'bad_message') {
    super(message);
    this.code = code;
  }
}

/**
 * Sequence numbers are reserved in blocks so a relay, which stores nothing,
 * needs no write (and no output-gate wait). After a restart the counter resumes
 * above the reservation: numbers may be skipped, never repeated.
 */
const SEQ_BLOCK = 1000;
const PRUNE_EVERY = 1000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (
  key TEXT NOT NULL, seq INTEGER NOT NULL, value NOT NULL, client TEXT,
  PRIMARY KEY (key, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subjects (key TEXT PRIMARY KEY, floor INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS client_msgs (id TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS client_msgs_by_seq ON client_msgs (seq);
CREATE TABLE IF NOT EXISTS subscriptions (
  conn TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (conn, key)) WITHOUT ROWID;
`;

export class Store {
  #storage: DurableObjectStorage;
  #sql: SqlStorage;
  #seq: number;
  #reserved: number;
  #wipeFloor: number;
  #subjects = new Map<string, Subject>();
  #msgsSincePrune = 0;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.#sql = storage.sql;
    this.#sql.exec(SCHEMA);
    this.#reserved = this.#meta('seq_reserved');
    this.#seq = this.#reserved;
    this.#wipeFloor = this.#meta('wipe_floor');
  }

  /** The latest sequence number handed out. */
  get seq(): number {
    return this.#seq;
  }

  /** The room's seq when the retention alarm last wiped it (0 if never). */
  get wipeFloor(): number {
    return this.#wipeFloor;
  }

  /**
   * A subject's size and floor. Only the floor is stored (it changes on compaction);
   * the size is counted once per wake and then kept in memory, so an append is one
   * INSERT and nothing else.
   */
  subject(key: string): Subject {
    let s = this.#subjects.get(key);
    if (!s) {
      const floor = this.#sql.exec<{ floor: number }>('SELECT floor FROM subjects WHERE key = ?', key).toArray()[0]?.floor ?? 0;
      s = { size: this.#count(key), floor };
      this.#subjects.set(key, s);
    }
    return s;
  }

  /** The seq an earlier publish with this client message ID took, if it is remembered. */
  seqOfMessage(msgKey: string): number | undefined {
    return this.#sql.exec<{ seq: number }>('SELECT seq FROM client_msgs WHERE id = ?', msgKey).toArray()[0]?.seq;
  }

  /**
   * Applies one push atomically: the value, the subject's size, the counter
   * reservation and the client message ID commit together or not at all.
   */
  apply(key: string, action: Action, value: StoredValue, client: string | undefined, msgKey?: string): Applied {
    // The hot path of pub/sub: a relay without an ID writes at most the counter's
    // reservation, one statement, which needs no transaction around it.
    if (action.type === 'relay' && msgKey === undefined) return { seq: this.#next(), size: this.subject(key).size };
    return this.#storage.transactionSync(() => {
      const subject = this.subject(key);
      let seq: number;
      switch (action.type) {
        case 'relay':
          seq = this.#next();
          break;
        case 'append':
          seq = this.#next();
          this.#insert(key, seq, value, client);
          subject.size += 1;
          break;
        case 'replace':
          seq = this.#next();
          this.#sql.exec('DELETE FROM entries WHERE key = ?', key);
          this.#insert(key, seq, value, client);
          subject.size = 1;
          break;
        case 'compact':
          seq = this.#compact(key, action.seq, value, client, subject);
          break;
      }
      if (msgKey !== undefined) this.#remember(msgKey, seq);
      return { seq, size: this.subject(key).size };
    });
  }

  /** Retained values of `key` with seq greater than `after`, oldest first. */
  entriesAfter(key: string, after: number): Iterable<StoredEntry> {
    return this.#sql.exec<StoredEntry & Record<string, SqlStorageValue>>(
      'SELECT seq, value, client FROM entries WHERE key = ? AND seq > ? ORDER BY seq', key, after);
  }

  /** Up to `limit` retained values of `key` with after < seq ≤ upTo, oldest first. */
  entriesPage(key: string, after: number, upTo: number, limit: number): StoredEntry[] {
    return this.#sql.exec<StoredEntry & Record<string, SqlStorageValue>>(
      'SELECT seq, value, client FROM entries WHERE key = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?',
      key, after, upTo, limit).toArray();
  }

  /** The newest `count` retained values of `key`, oldest first. */
  lastEntries(key: string, count: number): StoredEntry[] {
    return this.#sql.exec<StoredEntry & Record<string, SqlStorageValue>>(
      'SELECT seq, value, client FROM entries WHERE key = ? ORDER BY seq DESC LIMIT ?', key, count)
      .toArray().reverse();
  }

  /**
   * The retention wipe: every subject's data goes. The counter and the wipe
   * floor stay, so no seq is reused and resuming clients learn of the gap.
   */
  wipe(): void {
    this.#storage.transactionSync(() => {
      for (const table of ['entries', 'subjects', 'client_msgs', 'subscriptions']) this.#sql.exec(`DELETE FROM ${table}`);
      this.#wipeFloor = this.#seq;
      this.#setMeta('wipe_floor', this.#seq);
    });
    this.#subjects.clear();
  }

  // ---- explicit subscriptions ----------------------------------------------

  subscriptions(): { conn: string; key: string }[] {
    return this.#sql.exec<{ conn: string; key: string }>('SELECT conn, key FROM subscriptions').toArray();
  }
  subscribe(conn: string, key: string): void {
    this.#sql.exec('INSERT OR IGNORE INTO subscriptions (conn, key) VALUES (?, ?)', conn, key);
  }
  unsubscribe(conn: string, key: string): void {
    this.#sql.exec('DELETE FROM subscriptions WHERE conn = ? AND key = ?', conn, key);
  }
  forgetConnection(conn: string): void {
    this.#sql.exec('DELETE FROM subscriptions WHERE conn = ?', conn);
  }

  // ---- meta values (alarm bookkeeping) -------------------------------------

  meta(name: string): number {
    return this.#meta(name);
  }
  setMeta(name: string, value: number): void {
    this.#setMeta(name, value);
  }

  // ---- internals -----------------------------------------------------------

  #next(): number {
    const seq = ++this.#seq;
    if (seq > this.#reserved) {
      this.#reserved = seq + SEQ_BLOCK - 1;
      this.#setMeta('seq_reserved', this.#reserved);
    }
    return seq;
  }

  #compact(key: string, at: number, value: StoredValue, client: string | undefined, subject: Subject): number {
    // A snapshot beyond the counter would sort after values not yet written.
    if (at > this.#seq) throw new RejectedPush(`compact seq ${at} is beyond the room's latest seq ${this.#seq}`);
    // DriftDB documented (but never implemented) that an older snapshot is ignored.
    if (subject.floor > 0 && at <= subject.floor) return at;
    this.#sql.exec('DELETE FROM entries WHERE key = ? AND seq <= ?', key, at);
    this.#insert(key, at, value, client);
    this.#sql.exec('INSERT OR REPLACE INTO subjects (key, floor) VALUES (?, ?)', key, at);
    subject.size = this.#count(key);
    subject.floor = at;
    return at;
  }

  #insert(key: string, seq: number, value: StoredValue, client: string | undefined): void {
    this.#sql.exec('INSERT INTO entries (key, seq, value, client) VALUES (?, ?, ?, ?)', key, seq, value, client ?? null);
  }

  #count(key: string): number {
    return this.#sql.exec<{ n: number }>('SELECT count(*) AS n FROM entries WHERE key = ?', key).one().n;
  }

  #remember(msgKey: string, seq: number): void {
    this.#sql.exec('INSERT OR REPLACE INTO client_msgs (id, seq) VALUES (?, ?)', msgKey, seq);
    if (++this.#msgsSincePrune >= PRUNE_EVERY) {
      this.#msgsSincePrune = 0;
      this.#sql.exec(
        'DELETE FROM client_msgs WHERE seq < (SELECT seq FROM client_msgs ORDER BY seq DESC LIMIT 1 OFFSET ?)',
        DEDUP_WINDOW);
    }
  }

  #meta(name: string): number {
    return this.#sql.exec<{ value: number }>('SELECT value FROM meta WHERE name = ?', name).toArray()[0]?.value ?? 0;
  }

  #setMeta(name: string, value: number): void {
    this.#sql.exec('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)', name, value);
  }
}
