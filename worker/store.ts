/**
 * The room's SQLite storage: the sequence counter, retained values per
 * subject, recent client message IDs, the counters of counted pushes
 * (counters.ts), and explicit subscriptions (which must survive hibernation
 * and are too large for a socket attachment).
 *
 * Storage caps (protocol/limits.ts) are enforced here, each write checked
 * before anything is written:
 * - `maxSubjects`: subjects with stored values or with subscribers. A relay
 *   never creates one, and leaves nothing behind in memory or storage.
 * - `maxStreamEntries`, `maxStreamBytes`: past either, a subject's oldest
 *   entries are trimmed in the write's transaction (its newest entry always
 *   stays), and its floor rises to the last seq trimmed, so a replay from
 *   below it is flagged as a reset rather than sent with a gap.
 * - `maxRoomBytes`: a write that would take the room's stored bytes over it
 *   is refused and nothing is written. The rows of counted pushes count too.
 *
 * The size of every entry is stored with it, and each subject's entry count,
 * bytes and floor in its `subjects` row, written in the same transaction as
 * the entries. A woken room reads the `subjects` table once (at most
 * `maxSubjects` small rows), never the entries.
 */
import { DEDUP_WINDOW, type ErrorCode, type Limits } from '../protocol/limits.ts';
import type { Action } from '../protocol/messages.ts';
import { utf8Length } from './codec.ts';
import { COUNTER_TABLES, OriginCounters, type Counted, type Seen, type Unseen } from './counters.ts';

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
  /** Highest seq compacted or trimmed away: replays from below it cannot be complete. */
  floor: number;
}

export interface Applied {
  seq: number;
  size: number;
}

/** The limits the store enforces. */
export type StorageCaps = Pick<
  Limits,
  'maxSubjects' | 'maxStreamEntries' | 'maxStreamBytes' | 'maxRoomBytes' | 'retentionSeconds'
>;

/** Thrown for a push that is well-formed but cannot be applied; `code` is the error frame's. */
export class RejectedPush extends Error {
  readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode = 'bad_message') {
    super(message);
    this.code = code;
  }
}

/**
 * Bytes an entry counts for, against `maxStreamBytes` and `maxRoomBytes`: its
 * value as stored (JSON text as UTF-8, or CBOR), its key and client ID, and a
 * fixed overhead, so that a flood of tiny values is bounded too.
 */
export const ENTRY_OVERHEAD = 16;
export function entryBytes(key: string, value: StoredValue, client: string | null | undefined): number {
  const v = typeof value === 'string' ? utf8Length(value) : value.byteLength;
  return v + utf8Length(key) + (client ? utf8Length(client) : 0) + ENTRY_OVERHEAD;
}

/** The same count in SQL, for rows stored before sizes were (schema 1). */
const ENTRY_BYTES_SQL = `length(CAST(value AS BLOB)) + length(CAST(key AS BLOB)) + coalesce(length(CAST(client AS BLOB)), 0) + ${ENTRY_OVERHEAD}`;

export const tooManySubjects = (max: number): string => `A room may hold ${max} subjects (maxSubjects)`;

/**
 * Sequence numbers are reserved in blocks so a relay, which stores nothing,
 * needs no write (and no output-gate wait). After a restart the counter resumes
 * above the reservation: numbers may be skipped, never repeated.
 */
const SEQ_BLOCK = 1000;
const PRUNE_EVERY = 1000;
/** Most rows read at once when looking for entries to trim. */
const TRIM_ROWS = 1024;

const SCHEMA_VERSION = 2;
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (
  key TEXT NOT NULL, seq INTEGER NOT NULL, value NOT NULL, client TEXT, bytes INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (key, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subjects (
  key TEXT PRIMARY KEY, floor INTEGER NOT NULL,
  entries INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS client_msgs (id TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS client_msgs_by_seq ON client_msgs (seq);
CREATE TABLE IF NOT EXISTS subscriptions (
  conn TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (conn, key)) WITHOUT ROWID;
${COUNTER_TABLES}`;

/** What the room holds of one subject. A subject exists while it has entries or subscribers. */
interface SubjectState {
  /** Retained entries, and their bytes (see entryBytes). */
  entries: number;
  bytes: number;
  floor: number;
  /** Explicit subscriptions to it, from any socket. Not stored: counted from `subscriptions`. */
  subs: number;
}

/** The oldest entries a write removes: `count` of them, `bytes` in all, the newest at seq `upTo`. */
interface Cut {
  count: number;
  bytes: number;
  upTo: number;
}

/** Stores by storage, so tests can look inside a room's (see storeOf). */
const stores = new WeakMap<DurableObjectStorage, Store>();

/** The store a room built on this storage. For tests, through runInDurableObject. */
export const storeOf = (storage: DurableObjectStorage): Store | undefined => stores.get(storage);

export class Store {
  #storage: DurableObjectStorage;
  #sql: SqlStorage;
  #caps: StorageCaps;
  #seq: number;
  #reserved: number;
  #wipeFloor: number;
  /**
   * Every subject, read from storage at the first need after a wake, then
   * kept current. Only real subjects are in it, so it is bounded by
   * `maxSubjects`; keys that only relays touched never are.
   */
  #subjects: Map<string, SubjectState> | null = null;
  /** Bytes of every entry in the room; valid with #subjects. */
  #roomBytes = 0;
  #counters: OriginCounters;
  /** Bytes the counters' rows count against maxRoomBytes; stored in meta with every change. */
  #counterBytes: number;
  #msgsSincePrune = 0;
  #fannedOut: boolean;
  /** The meta rows as read at this wake, for what reads them once (worker/fanout-switch.ts). */
  #metaAtWake: Map<string, number>;

  constructor(storage: DurableObjectStorage, caps: StorageCaps) {
    this.#storage = storage;
    this.#sql = storage.sql;
    this.#caps = caps;
    this.#sql.exec(SCHEMA);
    const meta = new Map(
      this.#sql
        .exec<{ name: string; value: number }>('SELECT name, value FROM meta')
        .toArray()
        .map((r) => [r.name, r.value]),
    );
    if ((meta.get('schema') ?? 0) < SCHEMA_VERSION) this.#migrate();
    this.#reserved = meta.get('seq_reserved') ?? 0;
    this.#seq = this.#reserved;
    this.#wipeFloor = meta.get('wipe_floor') ?? 0;
    this.#counters = new OriginCounters(this.#sql, caps.retentionSeconds);
    this.#counterBytes = meta.get('counter_bytes') ?? 0;
    this.#fannedOut = (meta.get('fanned_out') ?? 0) > 0;
    this.#metaAtWake = meta;
    stores.set(storage, this);
  }

  /** The latest sequence number handed out. */
  /**
   * A leaf ever linked to this room (worker/leaf-links.ts): read with the rest of
   * the meta at a wake, so a room that never fanned out pays no query for it.
   */
  get fannedOut(): boolean {
    return this.#fannedOut;
  }

  markFannedOut(): void {
    if (this.#fannedOut) return;
    this.#fannedOut = true;
    this.#setMeta('fanned_out', 1);
  }

  get seq(): number {
    return this.#seq;
  }

  /** The room's seq when the retention alarm last wiped it (0 if never). */
  get wipeFloor(): number {
    return this.#wipeFloor;
  }

  /** A subject's size and floor (zero for a key that is no subject). */
  subject(key: string): Subject {
    const s = this.#all().get(key);
    return { size: s?.entries ?? 0, floor: s?.floor ?? 0 };
  }

  /** Subjects the room holds: with stored values, or with subscribers. */
  get subjectCount(): number {
    return this.#all().size;
  }

  /** Bytes the room holds against maxRoomBytes: its entries (see entryBytes) and its counters' rows. */
  get roomBytes(): number {
    this.#all();
    return this.#roomBytes + this.#counterBytes;
  }

  /** Bytes of the counters' rows alone, as kept up to date and as counted from the rows: for tests. */
  counterBytes(): { kept: number; counted: number } {
    return { kept: this.#counterBytes, counted: this.#counters.countBytes() };
  }

  /** Subjects held in memory: for tests, which check that relays leave none behind. */
  get cachedSubjects(): number {
    return this.#subjects?.size ?? 0;
  }

  /** True when `key` is a subject already, or the room may hold one more (maxSubjects). */
  admits(key: string): boolean {
    const all = this.#all();
    return all.has(key) || all.size < this.#caps.maxSubjects;
  }

  /**
   * True when a replay of `key` from after `after` could not be complete: values
   * after it were compacted or trimmed away, or wiped by retention. The reply
   * is then the whole current state, flagged `reset`.
   */
  resetsFrom(key: string, after: number): boolean {
    return after > 0 && (after < this.subject(key).floor || after <= this.#wipeFloor);
  }

  /** Whether a counted push was applied before, and at what seq; or 'expired' (too old to tell). */
  seenCounted(counted: Counted): Seen {
    return this.#counters.seen(counted);
  }

  /** The seq an earlier publish with this client message ID took, if it is remembered. */
  seqOfMessage(msgKey: string): number | undefined {
    return this.#sql.exec<{ seq: number }>('SELECT seq FROM client_msgs WHERE id = ?', msgKey).toArray()[0]?.seq;
  }

  /**
   * Applies one push atomically: the value, trimming, the subject's counts,
   * the counter reservation and the client message ID (or, for a counted
   * push, its origin's counter) commit together or not at all. Throws
   * RejectedPush, having written nothing, when a cap forbids it. A counted
   * push comes as seenCounted found it new, in the same turn.
   */
  apply(
    key: string,
    action: Action,
    value: StoredValue,
    client: string | undefined,
    msgKey?: string,
    counted?: Unseen,
  ): Applied {
    const all = this.#all();
    if (counted !== undefined && counted.hwm === undefined) this.#forgetIdleOrigins();
    const remember = (seq: number): void => {
      if (msgKey !== undefined) this.#remember(msgKey, seq);
      if (counted !== undefined) this.#count(counted, seq);
    };
    if (action.type === 'relay') {
      // The hot path of pub/sub: a relay stores nothing and creates no subject.
      // Without an ID it writes at most the counter's reservation, one statement.
      const size = all.get(key)?.entries ?? 0;
      if (msgKey === undefined && counted === undefined) return { seq: this.#next(), size };
      this.#checkRoom(0, counted);
      return this.#commit(() => {
        const seq = this.#next();
        remember(seq);
        return { seq, size };
      });
    }
    // A snapshot beyond the counter would sort after values not yet written.
    if (action.type === 'compact' && action.seq > this.#seq) {
      throw new RejectedPush(`compact seq ${action.seq} is beyond the room's latest seq ${this.#seq}`);
    }
    const old = all.get(key);
    if (!old && all.size >= this.#caps.maxSubjects) {
      throw new RejectedPush(tooManySubjects(this.#caps.maxSubjects), 'too_many_subjects');
    }
    const cur: SubjectState = old ?? { entries: 0, bytes: 0, floor: 0, subs: 0 };
    if (action.type === 'compact' && action.seq < cur.floor) {
      // A snapshot older than the floor (an earlier compaction, or trimming)
      // would leave a gap between it and the values kept, so it is ignored.
      this.#checkRoom(0, counted);
      return this.#commit(() => {
        remember(action.seq);
        return { seq: action.seq, size: cur.entries };
      });
    }

    // Plan the write, reading only: the new subject state and what it trims.
    const size = entryBytes(key, value, client);
    let entries: number;
    let bytes: number;
    let floor = cur.floor;
    let candidates: () => Iterable<{ seq: number; bytes: number }> = () => [];
    switch (action.type) {
      case 'append': {
        entries = cur.entries + 1;
        bytes = cur.bytes + size;
        const first = entries - this.#caps.maxStreamEntries;
        candidates = () => this.#oldest(key, -1, first);
        break;
      }
      case 'replace':
        entries = 1;
        bytes = size;
        break;
      case 'compact': {
        const at = action.seq;
        const folded = this.#sql
          .exec<{ n: number; bytes: number }>(
            'SELECT count(*) AS n, total(bytes) AS bytes FROM entries WHERE key = ? AND seq <= ?',
            key,
            at,
          )
          .one();
        entries = cur.entries - folded.n + 1;
        bytes = cur.bytes - folded.bytes + size;
        floor = at;
        // The snapshot becomes the oldest entry, so it is the first a trim would take.
        const first = entries - this.#caps.maxStreamEntries;
        candidates = () => prepend({ seq: at, bytes: size }, this.#oldest(key, at, first));
        break;
      }
    }
    const cut = this.#cut(entries, bytes, candidates);
    entries -= cut.count;
    bytes -= cut.bytes;
    floor = Math.max(floor, cut.upTo);
    const delta = bytes - cur.bytes;
    this.#checkRoom(delta, counted);

    const seq = this.#commit(() => {
      let seq: number;
      switch (action.type) {
        case 'append':
          seq = this.#next();
          break;
        case 'replace':
          seq = this.#next();
          this.#sql.exec('DELETE FROM entries WHERE key = ?', key);
          break;
        case 'compact':
          seq = action.seq;
          this.#sql.exec('DELETE FROM entries WHERE key = ? AND seq <= ?', key, seq);
          break;
      }
      this.#sql.exec(
        'INSERT INTO entries (key, seq, value, client, bytes) VALUES (?, ?, ?, ?, ?)',
        key,
        seq,
        value,
        client ?? null,
        size,
      );
      if (cut.count > 0) this.#sql.exec('DELETE FROM entries WHERE key = ? AND seq <= ?', key, cut.upTo);
      this.#sql.exec(
        `INSERT INTO subjects (key, floor, entries, bytes) VALUES (?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET floor = excluded.floor, entries = excluded.entries, bytes = excluded.bytes`,
        key,
        floor,
        entries,
        bytes,
      );
      remember(seq);
      return seq;
    });
    // Memory follows storage only once the transaction has committed.
    all.set(key, { entries, bytes, floor, subs: cur.subs });
    this.#roomBytes += delta;
    return { seq, size: entries };
  }

  /** Retained values of `key` with seq greater than `after`, oldest first. */
  entriesAfter(key: string, after: number): Iterable<StoredEntry> {
    return this.#sql.exec<StoredEntry & Record<string, SqlStorageValue>>(
      'SELECT seq, value, client FROM entries WHERE key = ? AND seq > ? ORDER BY seq',
      key,
      after,
    );
  }

  /** Up to `limit` retained values of `key` with after < seq ≤ upTo, oldest first. */
  entriesPage(key: string, after: number, upTo: number, limit: number): StoredEntry[] {
    return this.#sql
      .exec<StoredEntry & Record<string, SqlStorageValue>>(
        'SELECT seq, value, client FROM entries WHERE key = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?',
        key,
        after,
        upTo,
        limit,
      )
      .toArray();
  }

  /** The newest `count` retained values of `key`, oldest first. */
  lastEntries(key: string, count: number): StoredEntry[] {
    return this.#sql
      .exec<StoredEntry & Record<string, SqlStorageValue>>(
        'SELECT seq, value, client FROM entries WHERE key = ? ORDER BY seq DESC LIMIT ?',
        key,
        count,
      )
      .toArray()
      .reverse();
  }

  /**
   * The retention wipe: every subject's data goes. The counter and the wipe
   * floor stay, so no seq is reused and resuming clients learn of the gap.
   */
  /**
   * Whether any value with a seq in (after, upTo] is stored. A scan of the
   * entries (they are keyed by subject first): only a leaf that relinks after
   * the room's object restarted asks (worker/leaf-links.ts).
   */
  storedBetween(after: number, upTo: number): boolean {
    if (upTo <= after) return false;
    return this.#sql.exec('SELECT 1 FROM entries WHERE seq > ? AND seq <= ? LIMIT 1', after, upTo).toArray().length > 0;
  }

  wipe(): void {
    this.#storage.transactionSync(() => {
      for (const table of ['entries', 'subjects', 'client_msgs', 'subscriptions'])
        this.#sql.exec(`DELETE FROM ${table}`);
      this.#counters.wipe();
      this.#setMeta('counter_bytes', 0);
      this.#wipeFloor = this.#seq;
      this.#setMeta('wipe_floor', this.#seq);
    });
    this.#subjects = new Map();
    this.#roomBytes = 0;
    this.#counterBytes = 0;
  }

  // ---- explicit subscriptions ----------------------------------------------
  // A subscription may create a subject: the room checks `admits` first.

  /**
   * The sockets' subscriptions. A fanned-out room's object also holds, under a
   * leaf's name (which has a `#`, which no connection ID has), the subjects
   * that leaf's sockets subscribe to (worker/leaf-subjects.ts): they count as
   * subscriptions for maxSubjects, and are not a socket's.
   */
  subscriptions(): { conn: string; key: string }[] {
    return this.#sql
      .exec<{ conn: string; key: string }>("SELECT conn, key FROM subscriptions WHERE instr(conn, '#') = 0")
      .toArray();
  }
  /** The subjects `conn` subscribes to (a leaf's, at the root). */
  subscribedBy(conn: string): string[] {
    return this.#sql
      .exec<{ key: string }>('SELECT key FROM subscriptions WHERE conn = ?', conn)
      .toArray()
      .map((r) => r.key);
  }
  subscribe(conn: string, key: string): void {
    const added =
      this.#sql.exec('INSERT OR IGNORE INTO subscriptions (conn, key) VALUES (?, ?)', conn, key).rowsWritten > 0;
    if (!added || !this.#subjects) return;
    const s = this.#subjects.get(key);
    if (s) s.subs += 1;
    else this.#subjects.set(key, { entries: 0, bytes: 0, floor: 0, subs: 1 });
  }
  unsubscribe(conn: string, key: string): void {
    const removed = this.#sql.exec('DELETE FROM subscriptions WHERE conn = ? AND key = ?', conn, key).rowsWritten > 0;
    if (removed) this.#unsubscribed(key);
  }
  forgetConnection(conn: string): void {
    for (const { key } of this.#sql.exec<{ key: string }>(
      'DELETE FROM subscriptions WHERE conn = ? RETURNING key',
      conn,
    )) {
      this.#unsubscribed(key);
    }
  }

  // ---- meta values (alarm bookkeeping) -------------------------------------

  meta(name: string): number {
    return this.#meta(name);
  }
  /** A meta value as it was when this object woke: no query (setMeta since is not in it). */
  metaAtWake(name: string): number {
    return this.#metaAtWake.get(name) ?? 0;
  }
  setMeta(name: string, value: number): void {
    this.#setMeta(name, value);
  }

  // ---- internals -----------------------------------------------------------

  /** Every subject, read once per wake: one row per subject with values, and the subscriptions. */
  #all(): Map<string, SubjectState> {
    if (this.#subjects) return this.#subjects;
    const all = new Map<string, SubjectState>();
    let bytes = 0;
    for (const r of this.#sql.exec<{ key: string; floor: number; entries: number; bytes: number }>(
      'SELECT key, floor, entries, bytes FROM subjects',
    )) {
      all.set(r.key, { entries: r.entries, bytes: r.bytes, floor: r.floor, subs: 0 });
      bytes += r.bytes;
    }
    for (const r of this.#sql.exec<{ key: string; n: number }>(
      'SELECT key, count(*) AS n FROM subscriptions GROUP BY key',
    )) {
      const s = all.get(r.key);
      if (s) s.subs = r.n;
      else all.set(r.key, { entries: 0, bytes: 0, floor: 0, subs: r.n });
    }
    this.#roomBytes = bytes;
    return (this.#subjects = all);
  }

  #unsubscribed(key: string): void {
    const s = this.#subjects?.get(key);
    if (!s) return;
    s.subs -= 1;
    if (s.subs <= 0 && s.entries === 0) this.#subjects!.delete(key);
  }

  /**
   * The oldest entries to remove so that a subject of `entries` entries and
   * `bytes` bytes fits maxStreamEntries and maxStreamBytes. `candidates` are
   * its entries oldest first; the newest entry is never taken.
   */
  #cut(entries: number, bytes: number, candidates: () => Iterable<{ seq: number; bytes: number }>): Cut {
    const { maxStreamEntries: maxEntries, maxStreamBytes: maxBytes } = this.#caps;
    const cut: Cut = { count: 0, bytes: 0, upTo: 0 };
    if (entries <= maxEntries && bytes <= maxBytes) return cut;
    for (const c of candidates()) {
      const left = entries - cut.count;
      if (left <= 1 || (left <= maxEntries && bytes - cut.bytes <= maxBytes)) break;
      cut.count += 1;
      cut.bytes += c.bytes;
      cut.upTo = c.seq;
    }
    return cut;
  }

  /** Entries of `key` after seq `after`, oldest first, read `first` rows first and more as needed. */
  *#oldest(key: string, after: number, first: number): Generator<{ seq: number; bytes: number }> {
    for (let limit = Math.min(Math.max(first, 2), TRIM_ROWS); ; limit = Math.min(limit * 2, TRIM_ROWS)) {
      const rows = this.#sql
        .exec<{ seq: number; bytes: number }>(
          'SELECT seq, bytes FROM entries WHERE key = ? AND seq > ? ORDER BY seq LIMIT ?',
          key,
          after,
          limit,
        )
        .toArray();
      yield* rows;
      if (rows.length < limit) return;
      after = rows[rows.length - 1]!.seq;
    }
  }

  /**
   * Runs a write transaction; if it fails, the counter and the counters' bytes
   * are as they were, like storage.
   */
  #commit<T>(fn: () => T): T {
    const seq = this.#seq;
    const reserved = this.#reserved;
    const counterBytes = this.#counterBytes;
    try {
      return this.#storage.transactionSync(fn);
    } catch (err) {
      this.#seq = seq;
      this.#reserved = reserved;
      this.#counterBytes = counterBytes;
      throw err;
    }
  }

  /**
   * Refuses a write that would take the room over maxRoomBytes: `delta` more
   * bytes of entries, and the rows a counted push adds. Near the cap, the
   * counters' growth is counted exactly (what pruning frees included).
   */
  #checkRoom(delta: number, counted: Unseen | undefined): void {
    const maxRoom = this.#caps.maxRoomBytes;
    const held = this.#roomBytes + this.#counterBytes;
    const fits = (more: number) => more <= 0 || held + more <= maxRoom;
    if (counted === undefined ? fits(delta) : fits(delta + this.#counters.growth(counted, false))) return;
    const more = delta + (counted ? this.#counters.growth(counted, true) : 0);
    if (fits(more)) return;
    throw new RejectedPush(
      `The room holds ${held} of ${maxRoom} bytes (maxRoomBytes); this write needs ${more} more`,
      'room_storage_full',
    );
  }

  /** Forgets origins idle for the retention period (counters.ts), in a transaction of its own. */
  #forgetIdleOrigins(): void {
    const freed = this.#storage.transactionSync(() => {
      const delta = this.#counters.forgetIdle();
      if (delta !== 0) this.#setMeta('counter_bytes', this.#counterBytes + delta);
      return delta;
    });
    this.#counterBytes += freed;
  }

  /** Records a counted push in its transaction; the bytes it adds are stored with it. */
  #count(counted: Unseen, seq: number): void {
    this.#counterBytes += this.#counters.record(counted, seq);
    this.#setMeta('counter_bytes', this.#counterBytes);
  }

  #next(): number {
    const seq = ++this.#seq;
    if (seq > this.#reserved) {
      this.#reserved = seq + SEQ_BLOCK - 1;
      this.#setMeta('seq_reserved', this.#reserved);
    }
    return seq;
  }

  #remember(msgKey: string, seq: number): void {
    this.#sql.exec('INSERT OR REPLACE INTO client_msgs (id, seq) VALUES (?, ?)', msgKey, seq);
    if (++this.#msgsSincePrune >= PRUNE_EVERY) {
      this.#msgsSincePrune = 0;
      this.#sql.exec(
        'DELETE FROM client_msgs WHERE seq < (SELECT seq FROM client_msgs ORDER BY seq DESC LIMIT 1 OFFSET ?)',
        DEDUP_WINDOW,
      );
    }
  }

  /**
   * Rooms stored before the storage caps (schema 1) have no entry sizes and a
   * `subjects` row only for compacted subjects. Once, they are counted from
   * the entries themselves.
   */
  #migrate(): void {
    this.#storage.transactionSync(() => {
      const columns = (table: string) => this.#sql.exec(`SELECT * FROM ${table} LIMIT 0`).columnNames;
      if (!columns('entries').includes('bytes')) {
        this.#sql.exec('ALTER TABLE entries ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0');
        this.#sql.exec(`UPDATE entries SET bytes = ${ENTRY_BYTES_SQL}`);
      }
      if (!columns('subjects').includes('entries')) {
        this.#sql.exec('ALTER TABLE subjects ADD COLUMN entries INTEGER NOT NULL DEFAULT 0');
        this.#sql.exec('ALTER TABLE subjects ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0');
        this.#sql.exec(`
          INSERT INTO subjects (key, floor, entries, bytes)
          SELECT key, 0, count(*), total(bytes) FROM entries WHERE true GROUP BY key
          ON CONFLICT (key) DO UPDATE SET entries = excluded.entries, bytes = excluded.bytes`);
        this.#sql.exec('DELETE FROM subjects WHERE entries = 0');
      }
      this.#setMeta('schema', SCHEMA_VERSION);
    });
  }

  #meta(name: string): number {
    return this.#sql.exec<{ value: number }>('SELECT value FROM meta WHERE name = ?', name).toArray()[0]?.value ?? 0;
  }

  #setMeta(name: string, value: number): void {
    this.#sql.exec('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)', name, value);
  }
}

function* prepend<T>(first: T, rest: Iterable<T>): Generator<T> {
  yield first;
  yield* rest;
}
