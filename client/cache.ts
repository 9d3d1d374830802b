/**
 * edgeroom/cache: subjects rendered from disk at once after a reload, then
 * resumed from their cached checkpoints, so that the room replays only what
 * changed. Works on any room (`connect`'s or `connectOffline`'s). A separate
 * entry (served to browsers as `/lib/cache.js`), in the outbox's database.
 * See docs/client.md, "Offline outbox and cache".
 */
import { database, type Run } from './idb.ts';
import type { Listener, Room, SubscribeOptions } from './types.ts';
import { socketUrl, type RoomAddress } from './url.ts';

/** Values kept per subject, by default: the newest ones. */
export const CACHE_LIMIT = 100;

/** What the cache store holds, under the key [socket URL, subject]. */
interface Cached {
  subject: string;
  /** The checkpoint: the seq of the newest value delivered. */
  seq?: number;
  values: { value: unknown; seq: number; client?: string; own: boolean }[];
}

export interface CacheOptions {
  /** Values kept per subject (the newest). Default 100. */
  limit?: number;
  /** IndexedDB failed (missing, blocked, full); the room goes on without the cache. */
  onError?: (error: unknown) => void;
  /** For tests: the IndexedDB to use. Defaults to `globalThis.indexedDB`. */
  indexedDB?: IDBFactory;
}

/**
 * The room, with a `subscribe` that first delivers the subject's cached values
 * (synchronously, before any socket opened) and then subscribes from the
 * newest one's seq. Without a cached value, or with your own `seq`, it
 * subscribes as asked. A `reset` (the room cannot replay from there) empties
 * the subject's cache; the values that follow fill it again.
 *
 * @example
 * const room = await withCache(connect(url), url);
 * room.subscribe('todo', render, { last: 50 }); // the cached values at once, then what changed
 */
export async function withCache<R extends Pick<Room, 'subscribe'>>(
  room: R,
  address: RoomAddress,
  { limit = CACHE_LIMIT, onError, indexedDB = globalThis.indexedDB as IDBFactory | undefined }: CacheOptions = {},
): Promise<R> {
  const url = socketUrl(address);
  const run: Run | undefined = indexedDB && database(indexedDB);
  let cached: Cached[] = [];
  try {
    if (!run) throw new Error('IndexedDB is unavailable');
    cached = await run('cache', 'readonly', (s) => s.getAll(IDBKeyRange.bound([url], [url, []])));
  } catch (error) {
    onError?.(error);
  }
  const subjects = new Map(cached.map((entry) => [entry.subject, entry]));
  const dirty = new Set<Cached>();
  // Written together, a moment after a burst: one transaction, not one per value.
  const save = () =>
    void run!('cache', 'readwrite', (s) => {
      for (const entry of dirty) s.put(entry, [url, entry.subject]);
      dirty.clear();
      return undefined;
    }).catch(onError);

  return Object.create(room, {
    subscribe: {
      value: (subject: string, listener: Listener, options: SubscribeOptions = {}) => {
        const entry = options.seq === undefined ? subjects.get(subject) : undefined;
        const kept: Cached = entry ?? { subject, values: [] };
        subjects.set(subject, kept);
        for (const message of entry?.values ?? []) listener({ type: 'message', subject, ...message });
        return room.subscribe(
          subject,
          (event) => {
            if (event.type === 'reset') kept.values = [];
            if (event.type === 'message') {
              const { value, seq, client, own } = event;
              kept.values = [...kept.values, { value, seq, client, own }].slice(-limit);
              kept.seq = seq;
            }
            run && !dirty.size && setTimeout(save, 50);
            dirty.add(kept);
            listener(event);
          },
          entry?.seq !== undefined ? { seq: entry.seq } : options,
        );
      },
    },
  });
}
