/**
 * A replay a leaf of a fanned-out room fetches from the room's object
 * (docs/hot-rooms.md), in chunks: one RPC answer may be at most 32 MiB, and a
 * subject's values can take more than that as frames (maxStreamBytes of byte
 * values is about four times as much as JSON number arrays). Each answer holds
 * about REPLAY_CHUNK_BYTES of stored values, and says where the next one
 * starts; the leaf fetches the next once the socket has been sent this one,
 * so neither object holds a whole long replay in memory.
 */
import type { Frame } from './connections.ts';
import type { ReplayQuery } from './room.ts';
import type { Store, StoredEntry } from './store.ts';

/**
 * Stored bytes per chunk. As frames a chunk is at most about four times this
 * (byte values to a JSON socket), plus one value: far below RPC's 32 MiB.
 */
export const REPLAY_CHUNK_BYTES = 1024 * 1024;
/** Rows read from SQLite at a time. */
const PAGE_ROWS = 500;

/** One answer to a leaf's replay query. */
export interface ReplayChunk {
  frames: Frame[];
  /** Whether the replay is a reset: the rest of it says so too. */
  reset: boolean;
  /** More follows: ask again for the values after this seq, with `reset` as here. */
  next?: number;
}

/** A chunk of `entries` (oldest first), as much as fits the budget, and whether some were left. */
export function takeChunk(
  entries: Iterable<StoredEntry>,
  budget = REPLAY_CHUNK_BYTES,
): { taken: StoredEntry[]; more: boolean } {
  const taken: StoredEntry[] = [];
  let bytes = 0;
  for (const e of entries) {
    if (taken.length > 0 && bytes >= budget) return { taken, more: true };
    taken.push(e);
    bytes += typeof e.value === 'string' ? e.value.length : e.value.byteLength;
  }
  return { taken, more: false };
}

/** The stored values of `key` after `after` and up to `upTo`, read a page at a time as long as they are asked for. */
export function* entriesAfter(store: Store, key: string, after: number, upTo: number): Generator<StoredEntry> {
  for (let from = after; ; ) {
    const page = store.entriesPage(key, from, upTo, PAGE_ROWS);
    yield* page;
    if (page.length < PAGE_ROWS) return;
    from = page[page.length - 1]!.seq;
  }
}

/**
 * Fetches the replay `q` from the room's object (`ask`) a chunk at a time, and
 * gives each to the socket's hold (Connection.hold): every chunk but the last
 * with `more`, so the hold stays in front of the frames queued behind it. The
 * next chunk is asked for once the socket was sent this one's last frame.
 */
export function replayInChunks(
  ask: (q: ReplayQuery) => Promise<ReplayChunk>,
  q: ReplayQuery,
  release: (frames: Iterator<Frame>, more?: boolean) => void,
  failed: (err: unknown) => void,
): void {
  ask(q).then((chunk) => {
    if (chunk.next === undefined) return release(chunk.frames.values());
    // The rest: from after this chunk, flagged as this one was, and never `last` again.
    const rest = { ...q, after: chunk.next, last: undefined, reset: chunk.reset };
    release(
      thenCall(chunk.frames, () => replayInChunks(ask, rest, release, failed)),
      true,
    );
  }, failed);
}

/** `frames`, then a call to `done` once the last was taken. */
function* thenCall(frames: Frame[], done: () => void): Generator<Frame> {
  yield* frames;
  done();
}
