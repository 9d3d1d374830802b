/**
 * Replays as `init` frames. A replay larger than the frame limit is split
 * into several frames in seq order, never sent as one oversize frame. The
 * room sends a long replay one frame per turn (Connection.sendStream), reading
 * it from SQLite a page at a time, so a 10,000-entry replay never holds up the
 * room's other traffic.
 *
 * Stored values are JSON text (or CBOR when they hold byte strings), so a
 * JSON replay splices the stored text into the frame instead of parsing and
 * re-serialising every value: a 10,000-entry replay is string concatenation.
 */
import type { Entry, InitOut } from '../protocol/messages.ts';
import { fromCbor, toCbor, toJson, utf8Length } from './codec.ts';
import type { Frame } from './connections.ts';
import type { Store, StoredEntry, StoredValue } from './store.ts';

/** Replay frames are kept small so that each turn's share of a long replay is short. */
export const REPLAY_FRAME_BYTES = 32 * 1024;
/** Rows read from SQLite per page of a replay. */
const PAGE_ROWS = 500;

export interface ReplayOptions {
  cbor: boolean;
  /** Add the extension fields `more` and `reset` (only for clients that used an extension). */
  extended: boolean;
  reset: boolean;
  /** Frame budget in bytes. A single entry larger than it still goes out, alone. */
  maxBytes: number;
  /** More frames for this subject follow these entries' frames (sets `more` on the last one). */
  more?: boolean;
  /** Replay up to this seq instead of the room's latest (a leaf's position: worker/leaf.ts). */
  upTo?: number;
}

/**
 * The replay of `key` after seq `after`, read a page at a time. It stops at
 * the room's seq when it started: anything newer reaches the socket live,
 * queued behind the replay.
 */
export function* pagedInitFrames(store: Store, key: string, after: number, o: ReplayOptions): Generator<Frame> {
  const upTo = o.upTo ?? store.seq;
  for (let from = after; ; ) {
    const page = store.entriesPage(key, from, upTo, PAGE_ROWS);
    const last = page.length < PAGE_ROWS;
    yield* initFrames(key, page, { ...o, more: !last });
    if (last) return;
    from = page[page.length - 1]!.seq;
  }
}

/** Rows read from SQLite at a time for an HTTP page, which needs only one frame's worth. */
const HTTP_PAGE_ROWS = 100;

/**
 * One page of the replay of `key` after seq `after`, as the JSON text of one
 * `init` of about `maxBytes` at most (a single larger value still goes, alone),
 * for HTTP `get`, which has no socket to send several frames to. It has
 * `more: true` when values follow: the caller asks again from the last seq it
 * got. A reply that fits in one page is exactly DriftDB's.
 */
export function replayPage(store: Store, key: string, after: number, reset: boolean, maxBytes: number): string {
  const frames = jsonFrames(key, entriesFrom(store, key, after, HTTP_PAGE_ROWS), {
    cbor: false,
    extended: true,
    reset,
    maxBytes,
  });
  // Only the first frame is made: it is cut when the next value does not fit, so `more` is exact.
  return frames.next().value as string;
}

/** Retained values of `key` after seq `after`, read `rows` at a time, as long as they are asked for. */
function* entriesFrom(store: Store, key: string, after: number, rows: number): Generator<StoredEntry> {
  const upTo = store.seq;
  for (let from = after; ; ) {
    const page = store.entriesPage(key, from, upTo, rows);
    yield* page;
    if (page.length < rows) return;
    from = page[page.length - 1]!.seq;
  }
}

function decodeStored(value: StoredValue): unknown {
  return typeof value === 'string' ? JSON.parse(value) : fromCbor(value);
}

export function toEntry(e: StoredEntry): Entry {
  const entry: Entry = { value: decodeStored(e.value), seq: e.seq };
  if (e.client !== null) entry.client = e.client;
  return entry;
}

export function* initFrames(key: string, entries: Iterable<StoredEntry>, o: ReplayOptions): Generator<Frame> {
  yield* o.cbor ? cborFrames(key, entries, o) : jsonFrames(key, entries, o);
}

function* jsonFrames(key: string, entries: Iterable<StoredEntry>, o: ReplayOptions): Generator<string> {
  const head = `{"type":"init","key":${JSON.stringify(key)},"data":[`;
  const tail = (more: boolean) =>
    ']' + (o.extended && (more || o.more) ? ',"more":true' : '') + (o.extended && o.reset ? ',"reset":true' : '') + '}';
  const budget = o.maxBytes - utf8Length(head) - 32;
  let items: string[] = [];
  let bytes = 0;
  for (const e of entries) {
    const value = typeof e.value === 'string' ? e.value : toJson(fromCbor(e.value), true);
    const item = `{"value":${value},"seq":${e.seq}${e.client === null ? '' : `,"client":${JSON.stringify(e.client)}`}}`;
    const size = utf8Length(item) + 1;
    if (items.length > 0 && bytes + size > budget) {
      yield head + items.join(',') + tail(true);
      items = [];
      bytes = 0;
    }
    items.push(item);
    bytes += size;
  }
  yield head + items.join(',') + tail(false);
}

function* cborFrames(key: string, entries: Iterable<StoredEntry>, o: ReplayOptions): Generator<Uint8Array> {
  const frame = (data: Entry[], more: boolean): Uint8Array => {
    const msg: InitOut = { type: 'init', key, data };
    if (o.extended && (more || o.more)) msg.more = true;
    if (o.extended && o.reset) msg.reset = true;
    return toCbor(msg);
  };
  const budget = o.maxBytes - utf8Length(key) - 64;
  let data: Entry[] = [];
  let bytes = 0;
  for (const e of entries) {
    // The stored size is close to the CBOR size, and never much smaller.
    const size =
      (typeof e.value === 'string' ? utf8Length(e.value) : e.value.byteLength) + 16 + (e.client?.length ?? 0);
    if (data.length > 0 && bytes + size > budget) {
      yield frame(data, true);
      data = [];
      bytes = 0;
    }
    data.push(toEntry(e));
    bytes += size;
  }
  yield frame(data, false);
}
