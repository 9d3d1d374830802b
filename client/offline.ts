/**
 * edgeroom/offline: publishes that survive a reload. Opt-in IndexedDB
 * persistence of the core client's outbox (its `outbox` option). A separate
 * entry (served to browsers as `/lib/offline.js`), so the core stays within its
 * size budget; the cache of subjects is another (client/cache.ts).
 * See docs/client.md, "Offline outbox and cache".
 */
import type { RoomError } from './errors.ts';
import { database, type Run, type StoreName, type Work } from './idb.ts';
import { randomId } from './ids.ts';
import { connect, socketUrl } from './index.ts';
import type { RoomAddress } from './url.ts';
import type { Publish, PushFrame, Room, RoomEvents, RoomOptions } from './types.ts';

/**
 * Most publishes one outbox holds, and the widest span of counters it may have
 * unacknowledged: the server tells a resend from a new push only within this many
 * counters below an origin's highest (ORIGIN_WINDOW in protocol/limits.ts; copied,
 * as importing it would bundle every limit).
 */
export const OUTBOX_LIMIT = 1000;

/** What the outbox store holds, under the key [socket URL, origin, n]. */
interface Saved {
  /** Counted (`n`, `origin`): the room drops its resends however busy it is. */
  frame: PushFrame;
  /** When it was published (ms since the epoch): older than the room's retention, it waits for the app. */
  at: number;
}

/** A publish from an earlier page load, older than the room's retention: the server may have forgotten that it applied it. */
export interface ExpiredPublish {
  id: string;
  subject: string;
  value: unknown;
  /** When it was published (ms since the epoch). */
  at: number;
  /** Publish it again, as a new publish (a new ID): it may then be applied twice. */
  resend(): Promise<number>;
  /** Forget it. */
  drop(): void;
}

export interface OfflineEvents extends RoomEvents {
  /** How many publishes wait for an acknowledgement (this page's, and recovered ones): after each change. */
  pending: number;
  /** A publish made by an earlier page load or by a closed tab, resent and now acknowledged (`seq`) or refused (`error`). */
  recovered: { id: string; subject: string; seq?: number; error?: RoomError };
  /** One per outbox record older than `retentionSeconds`, not resent: call `resend()` or `drop()`. */
  expired: ExpiredPublish;
  /** IndexedDB failed (missing, blocked, full: the error says which); the room goes on in memory. */
  storage: unknown;
}

export interface OfflineOptions<R extends Room = Room> extends RoomOptions {
  /**
   * What opens the room, given the core's options with this outbox in them. Default: the
   * core's `connect`. `connectShared` (edgeroom/tabs) shares one socket between the tabs;
   * each tab keeps an outbox, an origin and a counter of its own.
   */
  connect?: (address: RoomAddress, options: RoomOptions) => R;
  /** The room's retention, in seconds (its `retentionSeconds`). Outbox records older than it raise `expired`. Default 86,400. */
  retentionSeconds?: number;
  /** For tests: the IndexedDB to use. Defaults to `globalThis.indexedDB`. */
  indexedDB?: IDBFactory;
}

/** The room `options.connect` made (the core's `Room`, or a `SharedRoom` with its `leader`), and the outbox's own. */
export type OfflineRoom<R extends Room = Room> = Omit<R, 'on'> & OutboxParts;

interface OutboxParts {
  /** Publishes waiting for an acknowledgement, as `pending` reports them. */
  readonly pending: number;
  /** Whether the outbox reaches IndexedDB; false: in memory only, lost with the page. */
  readonly persisted: boolean;
  on<E extends keyof OfflineEvents>(event: E, listener: (value: OfflineEvents[E]) => void): () => void;
}

/**
 * `connect` (or `options.connect`), with its outbox on disk. Resolves once the
 * records of earlier page loads are read, before the socket opens.
 *
 * @example
 * const room = await connectOffline(url);
 * room.on('pending', (n) => (badge.textContent = `${n} unsent`));
 * room.append('todo', { text: 'works offline' });
 * // One socket for all tabs, each with its own outbox:
 * const shared = await connectOffline(url, { connect: connectShared });
 * badge.hidden = !shared.leader;
 */
export async function connectOffline<R extends Room = Room>(
  address: RoomAddress,
  options: OfflineOptions<R> = {},
): Promise<OfflineRoom<R>> {
  const url = socketUrl(address);
  const { retentionSeconds = 86_400, indexedDB = globalThis.indexedDB } = options;
  // The events of this entry; the rest are the core's.
  const handlers: Record<string, Set<(value: unknown) => void>> = {
    pending: new Set(),
    recovered: new Set(),
    expired: new Set(),
    storage: new Set(),
  };
  const emit = (event: string, value: unknown): void => handlers[event]!.forEach((handler) => handler(value));
  // Nothing has been returned to listen yet: what the start found is told a task later.
  const later = (event: string, value: unknown) => setTimeout(emit, 0, event, value);
  let run: Run | undefined = indexedDB && database(indexedDB);
  /** A write; a failure (a full quota) is told, and the room goes on in memory. */
  const store = (name: StoreName, work: Work<unknown>): void =>
    void run?.(name, 'readwrite', work).catch((error) => emit('storage', error));
  const forget = (frame: PushFrame) => store('outbox', (s) => s.delete([url, frame.origin!, frame.n!]));

  // This room's records: keys [url] < [url, …] < [url, []] (an array sorts after every string and number).
  let saved: Saved[] | undefined;
  let failure: unknown = new Error('IndexedDB is unavailable');
  try {
    saved = await run?.('outbox', 'readonly', (s) => s.getAll(IDBKeyRange.bound([url], [url, []])));
  } catch (error) {
    run = undefined;
    failure = error;
  }
  if (!run) later('storage', failure);

  // This tab's origin and counter, kept across its reloads. A duplicated tab copies
  // them; the Web Lock each live tab holds on its origin tells it to take a new one.
  const key = `edgeroom.outbox.${url}`;
  let session: Storage | undefined;
  try {
    session = globalThis.sessionStorage;
  } catch {
    // sandboxed iframes and blocked storage: a new origin each load
  }
  let [origin, n = 0] = JSON.parse(session?.getItem(key) ?? '[]') as [string?, number?];
  const locks = globalThis.navigator?.locks;
  const held: Record<string, Promise<boolean>> = {};
  const releases: (() => void)[] = [];
  /** Takes an origin's lock if no live tab holds it, and keeps it until `close()` (or the page's end). */
  const claim = (name: string) =>
    (held[name] ??= new Promise<boolean>((resolve) =>
      locks.request(`edgeroom-outbox:${name}`, { ifAvailable: true }, (lock) => {
        resolve(!!lock);
        return lock && new Promise<void>((release) => releases.push(release));
      }),
    ));
  // Without Web Locks a duplicated tab cannot be told from a reload: a new origin
  // each load, so that two tabs never mint the same counter. The old one's records are still ours to resend.
  const previous = origin;
  if (!locks || !origin || !(await claim(origin))) {
    origin = randomId();
    n = 0;
    locks && (await claim(origin));
  }

  const outbox = new (class extends Map<string, Publish> {
    set(id: string, publish: Publish) {
      const frame = publish.frame;
      if (!frame.n) {
        frame.n = ++n;
        frame.origin = origin;
        try {
          session?.setItem(key, JSON.stringify([origin, n]));
        } catch {
          // Full: the next load must not continue from an older n (the room would take its
          // new pushes for duplicates). Without the key it takes a new origin.
          session?.removeItem(key);
        }
        // Before the core sends it (issued in this task): after a crash, a frame that
        // may have reached the server is on disk to be resent under the same n.
        store('outbox', (s) => s.put({ frame, at: Date.now() } satisfies Saved, [url, origin, n]));
      }
      super.set(id, publish);
      emit('pending', super.size);
      return this;
    }
    delete(id: string) {
      const publish = this.get(id);
      publish && forget(publish.frame);
      const deleted = super.delete(id);
      deleted && emit('pending', super.size);
      return deleted;
    }
    get count() {
      return super.size;
    }
    /** What the core compares with its `queueLimit`: the span of counters unacknowledged, if wider than the count. */
    get size() {
      let low = n + 1;
      for (const { frame } of this.values()) if (frame.origin === origin) low = Math.min(low, frame.n!);
      return Math.max(super.size, n + 1 - low);
    }
  })();

  for (const record of saved ?? []) {
    const { frame, at } = record;
    const { key: subject, value, action } = frame;
    const id = frame.id!;
    // Ours if no live tab holds its origin's lock (this one took it: the origin of this tab
    // or of a closed one). Without Web Locks, only those of this tab's previous load.
    if (!(locks ? await claim(frame.origin!) : frame.origin === previous)) continue;
    if (frame.origin === origin) n = Math.max(n, frame.n!);
    if (at < Date.now() - retentionSeconds * 1000) {
      later('expired', {
        id,
        subject,
        value,
        at,
        resend() {
          forget(frame);
          return action.type === 'compact'
            ? room.compact(subject, action.seq, value)
            : room[({ relay: 'publish', replace: 'set' } as const)[action.type as 'relay'] ?? action.type](
                subject,
                value,
              );
        },
        drop: () => forget(frame),
      } satisfies ExpiredPublish);
    } else {
      outbox.set(id, {
        frame,
        resolve: (seq) => emit('recovered', { id, subject, seq }),
        reject: (error) => error.code === 'closed' || emit('recovered', { id, subject, error }),
      });
    }
  }

  const room: Room = (options.connect ?? connect)(address, {
    ...options,
    outbox,
    queueLimit: Math.min(options.queueLimit ?? OUTBOX_LIMIT, OUTBOX_LIMIT),
  });

  // The core room's getters and methods, through the prototype; these four of our own.
  return Object.setPrototypeOf(
    {
      get pending() {
        return outbox.count;
      },
      get persisted() {
        return !!run;
      },
      on(event: string, handler: (value: unknown) => void) {
        const set = handlers[event];
        if (!set) return room.on(event as 'status', handler);
        set.add(handler);
        return () => void set.delete(handler);
      },
      close() {
        // What it did not send stays on disk, for the next page load or another tab (the locks go).
        room.close();
        for (const release of releases) release();
      },
    },
    room,
  );
}
