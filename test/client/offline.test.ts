/**
 * edgeroom/offline against fake-indexeddb (a full in-memory IndexedDB), Node's
 * own Web Locks, and the fake socket playing the server. A "tab" is a
 * sessionStorage of its own; a "reload" is a new connectOffline on the same
 * database and the same sessionStorage after close().
 */
import 'fake-indexeddb/auto';
import { forceCloseDatabase, IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RoomError } from '../../client/index.ts';
import { DEFAULT_LIMITS, ORIGIN_WINDOW } from '../../protocol/limits.ts';
import { withCache } from '../../client/cache.ts';
import {
  connectOffline,
  OUTBOX_LIMIT,
  type ExpiredPublish,
  type OfflineEvents,
  type OfflineOptions,
  type OfflineRoom,
} from '../../client/offline.ts';
import { FakeSocket, latest, SECRET } from './fake-socket.ts';

const URL = 'ws://test.invalid/room/r/connect';

/** sessionStorage as a browser tab has it: strings by key, kept across the tab's reloads. */
class TabStorage {
  #items = new Map<string, string>();
  /** Refuses writes, as a full storage does. */
  full = false;
  getItem = (key: string) => this.#items.get(key) ?? null;
  setItem = (key: string, value: string) => {
    if (this.full) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    this.#items.set(key, String(value));
  };
  removeItem = (key: string) => void this.#items.delete(key);
  /** A duplicated tab starts with a copy of its original's. */
  copy(): TabStorage {
    const copy = new TabStorage();
    for (const [key, value] of this.#items) copy.setItem(key, value);
    return copy;
  }
}

const rooms: OfflineRoom[] = [];
let factory: IDBFactory;
/** The test's own reads, beside the code's connections. */
let openOwn: () => Promise<IDBDatabase>;
/** Every connection the code under test opened, for forcing closes. */
let connections: IDBDatabase[];

beforeEach(() => {
  FakeSocket.all = [];
  factory = new IDBFactory();
  connections = [];
  const open = factory.open.bind(factory);
  openOwn = () =>
    new Promise((resolve, reject) => {
      const request = open('edgeroom-v1', 1);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  factory.open = (...args: Parameters<IDBFactory['open']>) => {
    const request = open(...args);
    request.addEventListener('success', () => connections.push(request.result));
    return request;
  };
});
afterEach(() => {
  for (const room of rooms.splice(0)) room.close();
  vi.restoreAllMocks();
  Reflect.deleteProperty(globalThis, 'sessionStorage');
});

/** Opens the room as a page of `tab` would, on this test's database. */
async function open(tab: TabStorage, options: OfflineOptions = {}): Promise<OfflineRoom> {
  Object.defineProperty(globalThis, 'sessionStorage', { value: tab, configurable: true });
  const room = await connectOffline(URL, {
    WebSocket: FakeSocket,
    secret: SECRET,
    random: () => 0.5,
    indexedDB: factory,
    ...options,
  });
  rooms.push(room);
  return room;
}

/** Closes a page: what it did not send stays on disk. Its publishes reject with `closed`. */
function closePage(room: OfflineRoom, published: Promise<unknown>[] = []): void {
  for (const promise of published) promise.catch(() => {});
  room.close();
}

type Saved = { frame: { [field: string]: unknown }; at: number };

/** What the outbox store holds, read through a connection of the test's own. */
async function stored(): Promise<Saved[]> {
  const db = await openOwn();
  try {
    return await readAll(db);
  } finally {
    db.close();
  }
}

/** Starts its transaction at once: it sees every write whose transaction was made before it. */
const readAll = (db: IDBDatabase): Promise<Saved[]> =>
  new Promise((resolve, reject) => {
    const request = db.transaction('outbox').objectStore('outbox').getAll();
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

const next = <E extends keyof OfflineEvents>(room: OfflineRoom, event: E): Promise<OfflineEvents[E]> =>
  new Promise((resolve) => {
    const off = room.on(event, (value) => {
      off();
      resolve(value);
    });
  });

const pushes = () => latest().frames('push');
const ack = (frame: Record<string, unknown>, seq: number, duplicate?: boolean) =>
  latest().receive({ type: 'ack', id: frame.id, seq, ...(duplicate ? { duplicate } : {}) });

describe('the offline outbox', () => {
  it("copies the room's limits it must respect", async () => {
    expect(OUTBOX_LIMIT).toBe(ORIGIN_WINDOW);
    // The default of `retentionSeconds`: a record one second younger is resent, one older is not.
    const tab = new TabStorage();
    const before = await open(tab);
    const published = [before.append('s', 'young'), before.append('s', 'old')];
    await vi.waitFor(async () => expect(await stored()).toHaveLength(2), { timeout: 5000 });
    closePage(before, published);
    await age(['young'], DEFAULT_LIMITS.retentionSeconds * 1000 - 1000);
    await age(['old'], DEFAULT_LIMITS.retentionSeconds * 1000 + 1000);
    const after = await open(tab);
    const expired = next(after, 'expired');
    expect(after.pending).toBe(1);
    expect((await expired).value).toBe('old');
  });

  it('writes each publish to disk before its frame is sent (write-ahead), counted and in order', async () => {
    const room = await open(new TabStorage());
    latest().accept();
    // IndexedDB runs transactions on one store in the order they were made: a read
    // started as the frame goes out sees the record only if its write was issued first.
    const reader = await openOwn();
    const seen: Promise<unknown[]>[] = [];
    const send = latest().send.bind(latest());
    latest().send = (data: string) => {
      if (data.includes('"push"')) seen.push(readAll(reader).then((records) => records.map((r) => r.frame.value)));
      send(data);
    };
    const published = [room.append('s', 1), room.append('s', 2), room.append('s', 3)];
    expect(await Promise.all(seen)).toEqual([[1], [1, 2], [1, 2, 3]]);
    reader.close();
    const frames = pushes();
    expect(frames.map((f) => [f.value, f.n])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(new Set(frames.map((f) => f.origin)).size).toBe(1);
    expect(frames[0]!.origin).toMatch(/^[0-9a-z]{24}$/);
    expect(frames[0]!.origin).not.toBe(SECRET);
    closePage(room, published);
  });

  it('deletes a record on its ack, and on a duplicate ack', async () => {
    const room = await open(new TabStorage());
    latest().accept();
    const counts: number[] = [];
    room.on('pending', (n) => counts.push(n));
    const first = room.append('s', 'a');
    const second = room.append('s', 'b');
    const [a, b] = pushes();
    ack(a!, 7);
    ack(b!, 5, true);
    expect(await Promise.all([first, second])).toEqual([7, 5]);
    expect(room.pending).toBe(0);
    expect(counts).toEqual([1, 2, 1, 0]);
    await vi.waitFor(async () => expect(await stored()).toEqual([]), { timeout: 5000 });
  });

  it('after a reload, resends the outbox in order with the same id, n and origin, then continues the count', async () => {
    const tab = new TabStorage();
    const before = await open(tab);
    const published = [before.append('s', 1), before.set('k', 2), before.append('s', 3)];
    expect(latest().sent).toEqual([]); // offline: never sent
    await vi.waitFor(async () => expect(await stored()).toHaveLength(3), { timeout: 5000 });
    closePage(before, published);

    const after = await open(tab);
    expect(after.pending).toBe(3);
    latest().accept();
    const resent = pushes();
    expect(resent.map((f) => [f.key, f.value, f.action, f.n])).toEqual([
      ['s', 1, { type: 'append' }, 1],
      ['k', 2, { type: 'replace' }, 2],
      ['s', 3, { type: 'append' }, 3],
    ]);
    const saved = await stored();
    expect(resent.map((f) => f.id)).toEqual(saved.map((r) => r.frame.id));
    expect(resent.map((f) => f.origin)).toEqual(saved.map((r) => r.frame.origin));

    const recovered: OfflineEvents['recovered'][] = [];
    after.on('recovered', (event) => recovered.push(event));
    resent.forEach((frame, i) => ack(frame, 10 + i, i === 0));
    expect(recovered).toEqual(resent.map((f, i) => ({ id: f.id, subject: f.key, seq: 10 + i })));
    await vi.waitFor(async () => expect(await stored()).toEqual([]), { timeout: 5000 });

    // The outbox is empty; the counter still never goes back.
    const fresh = after.append('s', 4);
    expect(pushes().at(-1)).toMatchObject({ value: 4, n: 4, origin: resent[0]!.origin });
    ack(pushes().at(-1)!, 13);
    expect(await fresh).toBe(13);
  });

  it('never reuses a counter of its origin when sessionStorage refuses to keep the newest one', async () => {
    const tab = new TabStorage();
    const before = await open(tab);
    latest().accept();
    const published = [before.append('s', 1)];
    tab.full = true;
    published.push(before.append('s', 2), before.append('s', 3));
    pushes().forEach((frame, i) => ack(frame, i + 1));
    await Promise.all(published);
    const [old] = pushes();
    closePage(before);

    tab.full = false;
    const after = await open(tab);
    latest().accept();
    const fresh = after.append('s', 4);
    fresh.catch(() => {});
    const [frame] = pushes();
    // A new origin (from 1 again), or the old one past 3: never (origin, 2) or (origin, 3) again.
    expect(frame!.origin === old!.origin ? frame!.n : 'new origin').toBe('new origin');
  });

  it('reports a recovered publish that the server refuses, and forgets it', async () => {
    const tab = new TabStorage();
    const before = await open(tab);
    const published = [before.append('s', 'x')];
    await vi.waitFor(async () => expect(await stored()).toHaveLength(1), { timeout: 5000 });
    closePage(before, published);
    const after = await open(tab);
    latest().accept();
    const [frame] = pushes();
    const told = next(after, 'recovered');
    latest().receive({ type: 'error', code: 'invalid_value', message: 'refused', id: frame!.id });
    const error = new RoomError('invalid_value', 'refused', frame!.id as string);
    expect(await told).toEqual({ id: frame!.id, subject: 's', error });
    await vi.waitFor(async () => expect(await stored()).toEqual([]), { timeout: 5000 });
  });

  it(`refuses a publish with queue_full beyond ${OUTBOX_LIMIT} unacknowledged, and takes one again after an ack`, async () => {
    const room = await open(new TabStorage(), { queueLimit: 5000 });
    const accepted = Array.from({ length: OUTBOX_LIMIT }, (_, i) => room.append('s', i));
    for (const promise of accepted) promise.catch(() => {});
    await expect(room.append('s', 'over')).rejects.toEqual(new RoomError('queue_full'));
    latest().accept(); // sends the first burst; the rest follow at the room's publish rate
    const [first, second] = pushes();
    // Acknowledged out of order: the oldest still waits, so the counters it spans stay the limit.
    ack(second!, 2);
    expect(room.pending).toBe(OUTBOX_LIMIT - 1);
    await expect(room.append('s', 'still over')).rejects.toEqual(new RoomError('queue_full'));
    ack(first!, 1);
    const more = room.append('s', 'fits');
    more.catch(() => {});
    expect(room.pending).toBe(OUTBOX_LIMIT - 1);
    await vi.waitFor(async () => expect((await stored()).at(-1)?.frame).toMatchObject({ value: 'fits', n: 1001 }), {
      timeout: 5000,
    });
  });

  it("recovers a closed tab's outbox under that tab's origin, and leaves a live tab's alone", async () => {
    const tabA = new TabStorage();
    const a = await open(tabA);
    const published = [a.append('s', 'from a 1'), a.append('s', 'from a 2')];
    await vi.waitFor(async () => expect(await stored()).toHaveLength(2), { timeout: 5000 });
    const saved = await stored();

    // A is alive: B sends nothing of A's. A duplicate of A (a copy of its sessionStorage) neither.
    const b = await open(new TabStorage());
    expect(b.pending).toBe(0);
    const duplicate = await open(tabA.copy());
    expect(duplicate.pending).toBe(0);
    latest().accept();
    const own = duplicate.append('s', 'from the duplicate');
    own.catch(() => {});
    expect(pushes()[0]!.origin).not.toBe(saved[0]!.frame.origin);

    // A closes while offline: the next tab to open the room sends A's records, as A would have.
    closePage(a, published);
    const c = await open(new TabStorage());
    expect(c.pending).toBe(2);
    latest().accept();
    expect(pushes()).toEqual(saved.map((r) => r.frame));
    const recovered = next(c, 'recovered');
    ack(pushes()[0]!, 3, true);
    expect(await recovered).toEqual({ id: saved[0]!.frame.id, subject: 's', seq: 3 });
  });

  it('without Web Locks, resends its own earlier load under its origin, mints under a new one, and leaves other tabs alone', async () => {
    vi.stubGlobal('navigator', {});
    try {
      const other = await open(new TabStorage());
      const theirs = [other.append('s', 'other tab')];
      const tab = new TabStorage();
      const before = await open(tab);
      const mine = [before.append('s', 'earlier load')];
      await vi.waitFor(async () => expect(await stored()).toHaveLength(2), { timeout: 5000 });
      const earlier = (await stored()).find((r) => r.frame.value === 'earlier load')!.frame;
      closePage(other, theirs);
      closePage(before, mine);

      const after = await open(tab);
      expect(after.pending).toBe(1); // not the other tab's: it cannot tell a closed tab from a live one
      latest().accept();
      const fresh = after.append('s', 'this load');
      fresh.catch(() => {});
      const [resent, minted] = pushes();
      expect(resent).toEqual(earlier);
      expect(minted).toMatchObject({ value: 'this load', n: 1 });
      expect(minted!.origin).not.toBe(earlier.origin);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('gives the app records older than the retention instead of resending them: resend() or drop()', async () => {
    const tab = new TabStorage();
    const before = await open(tab);
    const published = [before.append('s', 'old 1'), before.set('k', 'old 2'), before.append('s', 'recent')];
    await vi.waitFor(async () => expect(await stored()).toHaveLength(3), { timeout: 5000 });
    closePage(before, published);
    // Two of them a day and a minute old.
    await age(['old 1', 'old 2'], 86_460_000);

    const expired: ExpiredPublish[] = [];
    const after = await open(tab);
    after.on('expired', (record) => expired.push(record));
    await vi.waitFor(() => expect(expired).toHaveLength(2), { timeout: 5000 });
    expect(expired.map(({ subject, value }) => [subject, value])).toEqual([
      ['s', 'old 1'],
      ['k', 'old 2'],
    ]);
    expect(after.pending).toBe(1);
    latest().accept();
    expect(pushes().map((f) => f.value)).toEqual(['recent']);

    const [first, second] = expired;
    second!.drop();
    const again = first!.resend();
    const resent = pushes().at(-1)!;
    expect(resent).toMatchObject({ key: 's', value: 'old 1', action: { type: 'append' }, n: 4 });
    expect(resent.id).not.toBe(first!.id);
    ack(resent, 20);
    expect(await again).toBe(20);
    await vi.waitFor(async () => expect((await stored()).map((r) => r.frame.value)).toEqual(['recent']), {
      timeout: 5000,
    });
  });
});

describe('storage failures', () => {
  it('opens again after the browser closes the connection (Safari in the background)', async () => {
    const room = await open(new TabStorage());
    latest().accept();
    forceCloseDatabase(connections.at(-1) as never); // fires `close`, as Safari's does
    const published = room.append('s', 'after a forced close');
    await vi.waitFor(async () => expect((await stored()).map((r) => r.frame.value)).toEqual(['after a forced close']), {
      timeout: 5000,
    });
    expect(connections.length).toBe(2);
    published.catch(() => {});
  });

  it('retries once on InvalidStateError from a connection closed without an event', async () => {
    const room = await open(new TabStorage());
    const problems: unknown[] = [];
    room.on('storage', (error) => problems.push(error));
    latest().accept();
    connections.at(-1)!.close(); // the next transaction on it throws InvalidStateError
    const published = room.append('s', 'retried');
    await vi.waitFor(async () => expect((await stored()).map((r) => r.frame.value)).toEqual(['retried']), {
      timeout: 5000,
    });
    expect(problems).toEqual([]);
    published.catch(() => {});
  });

  it('reports a full quota, and the publish still goes out and is acknowledged', async () => {
    const room = await open(new TabStorage());
    latest().accept();
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementationOnce(() => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    });
    const told = next(room, 'storage');
    const published = room.append('s', 'in memory');
    expect(((await told) as DOMException).name).toBe('QuotaExceededError');
    ack(pushes()[0]!, 1);
    expect(await published).toBe(1);
    expect(room.persisted).toBe(true);
  });

  it('without IndexedDB (private mode), works in memory and says so', async () => {
    const global = globalThis.indexedDB;
    Reflect.deleteProperty(globalThis, 'indexedDB');
    try {
      const memory = await open(new TabStorage(), { indexedDB: undefined });
      const told = next(memory, 'storage');
      expect(memory.persisted).toBe(false);
      expect(String(await told)).toBe('Error: IndexedDB is unavailable');
      latest().accept();
      const published = memory.append('s', 'kept in memory');
      expect(memory.pending).toBe(1);
      ack(pushes()[0]!, 1);
      expect(await published).toBe(1);
    } finally {
      Object.defineProperty(globalThis, 'indexedDB', { value: global, configurable: true, writable: true });
    }
  });
});

describe('the cache', () => {
  it('renders cached values at once after a reload and asks only for what came after them', async () => {
    const tab = new TabStorage();
    const before = await withCache(await open(tab), URL, { indexedDB: factory });
    const seen: unknown[] = [];
    before.subscribe('chat', (event) => event.type === 'message' && seen.push(event.value), { last: 50 });
    latest().accept(3);
    latest().receive({
      type: 'init',
      key: 'chat',
      data: [
        { seq: 2, value: 'a' },
        { seq: 3, value: 'b' },
      ],
    });
    latest().receive({ type: 'push', key: 'chat', value: 'c', seq: 4 });
    expect(seen).toEqual(['a', 'b', 'c']);
    await vi.waitFor(async () => expect(await cachedSeq('chat')).toBe(4), { timeout: 5000 });
    closePage(before as OfflineRoom);

    const after = await withCache(await open(tab), URL, { indexedDB: factory });
    const rendered: unknown[] = [];
    after.subscribe('chat', (event) => rendered.push(event.type === 'message' ? event.value : event.type), {
      last: 50,
    });
    expect(rendered).toEqual(['a', 'b', 'c']); // before any socket opened
    latest().accept(5);
    expect(latest().frames('sub')).toEqual([{ type: 'sub', key: 'chat', seq: 4 }]);
    latest().receive({ type: 'init', key: 'chat', data: [{ seq: 5, value: 'd' }] });
    expect(rendered).toEqual(['a', 'b', 'c', 'd']);
  });

  it('replaces the cached subject on a reset', async () => {
    const tab = new TabStorage();
    const before = await withCache(await open(tab), URL, { indexedDB: factory });
    before.subscribe('chat', () => {});
    latest().accept(2);
    latest().receive({
      type: 'init',
      key: 'chat',
      data: [
        { seq: 1, value: 'a' },
        { seq: 2, value: 'b' },
      ],
    });
    await vi.waitFor(async () => expect(await cachedSeq('chat')).toBe(2), { timeout: 5000 });
    closePage(before as OfflineRoom);

    const after = await withCache(await open(tab), URL, { indexedDB: factory });
    const rendered: unknown[] = [];
    after.subscribe('chat', (event) => rendered.push(event.type === 'message' ? event.value : event.type));
    latest().accept(9);
    latest().receive({ type: 'init', key: 'chat', reset: true, data: [{ seq: 9, value: 'z' }] });
    expect(rendered).toEqual(['a', 'b', 'reset', 'z']);
    await vi.waitFor(async () => expect(await cached('chat')).toEqual([{ value: 'z', seq: 9, own: false }]), {
      timeout: 5000,
    });
  });

  it('keeps at most `limit` values per subject, the newest', async () => {
    const room = await withCache(await open(new TabStorage()), URL, { indexedDB: factory, limit: 2 });
    room.subscribe('s', () => {});
    latest().accept(3);
    latest().receive({ type: 'init', key: 's', data: [1, 2, 3].map((seq) => ({ seq, value: seq })) });
    await vi.waitFor(async () => expect((await cached('s'))?.map((v) => v.value)).toEqual([2, 3]), { timeout: 5000 });
  });
});

/** Makes the outbox records holding these values `ms` older. */
async function age(values: unknown[], ms: number): Promise<void> {
  const db = await openOwn();
  await new Promise<void>((resolve, reject) => {
    const tx = db.transaction('outbox', 'readwrite');
    const store = tx.objectStore('outbox');
    const cursor = store.openCursor();
    cursor.onsuccess = () => {
      const at = cursor.result;
      if (!at) return;
      const record = at.value as { frame: { value: unknown }; at: number };
      if (values.includes(record.frame.value)) at.update({ ...record, at: record.at - ms });
      at.continue();
    };
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

async function cached(subject: string): Promise<{ value: unknown; seq: number; own: boolean }[] | undefined> {
  const db = await openOwn();
  const entry = await new Promise<{ values: { value: unknown; seq: number; own: boolean }[] } | undefined>(
    (resolve, reject) => {
      const request = db.transaction('cache').objectStore('cache').get([URL, subject]);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    },
  );
  db.close();
  return entry?.values.map(({ value, seq, own }) => ({ value, seq, own }));
}

async function cachedSeq(subject: string): Promise<number | undefined> {
  return (await cached(subject))?.at(-1)?.seq;
}
