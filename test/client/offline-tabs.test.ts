/**
 * The offline outbox over the shared socket: `connectOffline(url, { connect: connectShared })`.
 * Each call plays a tab of one browser: Node's BroadcastChannel and Web Locks are shared by
 * the whole process, as by the tabs of one origin; fake-indexeddb is the profile's one
 * database; each tab has a sessionStorage of its own. The leader's real socket is answered
 * by a small server below that drops counted resends by (origin, n), as the room does.
 * In Chromium against the real worker: test/browser/offline-tabs.test.ts.
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_LIMITS } from '../../protocol/limits.ts';
import { connectOffline, type OfflineRoom } from '../../client/offline.ts';
import { connectShared, type SharedRoom } from '../../client/tabs.ts';
import { FakeSocket } from './fake-socket.ts';

const URL = 'ws://test.invalid/room/offline-tabs/connect';
const WAIT = { timeout: 5000, interval: 5 };

/** A push the server stored: what, by whom (origin, n), at which seq. */
interface Entry {
  value: unknown;
  origin: string;
  n: number;
  seq: number;
}

/** The room, as far as counted pushes go. `down`: the network is cut (no socket opens or stays open). */
class Server {
  log: Entry[] = [];
  down = false;
  /** When false, pushes are stored but not acknowledged (answers lost with the socket). */
  acking = true;
  handle(ws: AutoSocket, text: string): void {
    const m = JSON.parse(text);
    if (m.type === 'hello')
      return ws.receive({
        type: 'welcome',
        protocol: 1,
        conn: ws.conn,
        client: `client-of-${m.secret}`,
        seq: this.log.length,
        limits: DEFAULT_LIMITS,
        peers: [],
      });
    if (m.type !== 'push') return;
    const stored = this.log.find((e) => e.origin === m.origin && e.n === m.n);
    if (stored) return ws.receive({ type: 'ack', id: m.id, seq: stored.seq, duplicate: true });
    const entry = { value: m.value, origin: m.origin, n: m.n, seq: this.log.length + 1 };
    this.log.push(entry);
    if (this.acking) ws.receive({ type: 'ack', id: m.id, seq: entry.seq });
  }
  /** Cuts the network: every open socket drops, and none opens until `restore()`. */
  cut(): void {
    this.down = true;
    for (const socket of FakeSocket.all) if (socket.readyState === 1) socket.drop(1006);
  }
  restore(): void {
    this.down = false;
  }
}

let server = new Server();

/** A leader's real socket: opens on its own unless the network is cut, and is answered by `server`. */
class AutoSocket extends FakeSocket {
  conn = `conn${FakeSocket.all.length}`;
  constructor(url: string) {
    super(url);
    setTimeout(() => {
      if (this.readyState === 0) server.down ? this.drop(1006) : this.open();
    });
  }
  override send(data: string): void {
    super.send(data);
    setTimeout(() => this.readyState === 1 && !server.down && server.handle(this, data));
  }
}

/** sessionStorage as a browser tab has it: kept across the tab's reloads, not shared with other tabs. */
class TabStorage {
  #items = new Map<string, string>();
  getItem = (key: string) => this.#items.get(key) ?? null;
  setItem = (key: string, value: string) => void this.#items.set(key, String(value));
  removeItem = (key: string) => void this.#items.delete(key);
}

// The tabs' shared secret lives in localStorage, which Node has only with a flag.
vi.stubGlobal('localStorage', {});
/** The profile's IndexedDB, shared by its tabs. */
let factory = new IDBFactory();
const pages: OfflineRoom<SharedRoom>[] = [];

/** Opens the room as a page of `tab` would: its own window (for page lifecycle events) and sessionStorage. */
async function openPage(tab: TabStorage): Promise<OfflineRoom<SharedRoom>> {
  const window = new EventTarget();
  vi.stubGlobal('addEventListener', window.addEventListener.bind(window));
  vi.stubGlobal('removeEventListener', window.removeEventListener.bind(window));
  vi.stubGlobal('sessionStorage', tab);
  const page = await connectOffline(URL, {
    connect: connectShared,
    WebSocket: AutoSocket,
    indexedDB: factory,
    minDelay: 20,
    maxDelay: 100,
    heartbeat: 60_000,
  });
  pages.push(page);
  return page;
}

/** Closes a page (a reload's first half): its unsent publishes stay on disk, their promises reject. */
async function closePage(page: OfflineRoom<SharedRoom>, tab: TabStorage, published: Promise<unknown>[]) {
  for (const promise of published) promise.catch(() => {});
  page.close();
  pages.splice(pages.indexOf(page), 1);
  // As a browser does when a page unloads, the lock on its origin goes before the next load asks for it.
  const [origin] = JSON.parse(tab.getItem(`edgeroom.outbox.${URL}`)!) as [string];
  await vi.waitFor(async () => {
    const { held = [] } = await navigator.locks.query();
    expect(held.map((lock) => lock.name)).not.toContain(`edgeroom-outbox:${origin}`);
  }, WAIT);
}

const live = () => FakeSocket.all.filter((s) => s.readyState === 1);
const open = (...rooms: OfflineRoom<SharedRoom>[]) =>
  vi.waitFor(() => expect(rooms.map((r) => r.status)).toEqual(rooms.map(() => 'open')), WAIT);
/** The counted pushes that reached the real sockets, resends included. */
const sentPushes = () =>
  FakeSocket.all.flatMap((s) => s.frames('push')) as { value: unknown; origin: string; n: number }[];

afterEach(async () => {
  for (const page of pages.splice(0)) page.close();
  await vi.waitFor(async () => {
    const { held = [], pending = [] } = await navigator.locks.query();
    expect([...held, ...pending]).toEqual([]);
  }, WAIT);
  FakeSocket.all = [];
  server = new Server();
  factory = new IDBFactory();
  vi.stubGlobal('localStorage', {});
});

describe('the offline outbox over one socket per browser', { timeout: 20_000 }, () => {
  it('two tabs share one socket; each counts its pushes under an origin of its own, and gets its own acks', async () => {
    const a = await openPage(new TabStorage());
    const b = await openPage(new TabStorage());
    await open(a, b);
    expect(FakeSocket.all).toHaveLength(1);
    // The room is connectShared's: it says which tab leads.
    expect([a.leader, b.leader].filter(Boolean)).toHaveLength(1);
    const seqs = await Promise.all([a.append('log', 'a1'), b.append('log', 'b1'), a.append('log', 'a2')]);
    expect(seqs).toEqual([1, 2, 3]);
    expect([a.pending, b.pending]).toEqual([0, 0]);
    const [a1, b1, a2] = server.log;
    // Each tab counts from 1 under its own origin: the two counters never meet.
    expect([a1!.n, b1!.n, a2!.n]).toEqual([1, 1, 2]);
    expect(a1!.origin).toBe(a2!.origin);
    expect(b1!.origin).not.toBe(a1!.origin);
  });

  it('appends made in both tabs while offline, one tab reloaded: each stored once, in its tab order, over one socket', async () => {
    const tabA = new TabStorage();
    let a = await openPage(tabA);
    const b = await openPage(new TabStorage());
    await open(a, b);
    await a.append('log', 'a0'); // the origins are in use before the network goes
    await b.append('log', 'b0');
    server.cut();
    await vi.waitFor(() => expect([a.status, b.status]).not.toContain('open'), WAIT);
    const beforeReload = [a.append('log', 'a1'), a.append('log', 'a2')];
    const fromB = [b.append('log', 'b1'), b.append('log', 'b2')];
    await vi.waitFor(() => expect([a.pending, b.pending]).toEqual([2, 2]), WAIT);
    // Reloaded while offline: its two appends wait on disk, and the new page adds one.
    await closePage(a, tabA, beforeReload);
    a = await openPage(tabA);
    expect(a.pending).toBe(2);
    const afterReload = a.append('log', 'a3');
    server.restore();
    await expect(Promise.all([...fromB, afterReload])).resolves.toHaveLength(3);
    await vi.waitFor(() => expect([a.pending, b.pending]).toEqual([0, 0]), WAIT);
    const values = server.log.map((e) => e.value);
    expect(values.filter((v) => String(v).startsWith('a'))).toEqual(['a0', 'a1', 'a2', 'a3']);
    expect(values.filter((v) => String(v).startsWith('b'))).toEqual(['b0', 'b1', 'b2']);
    // The reloaded tab kept its origin (sessionStorage) and continued its count.
    const origins = new Set(server.log.filter((e) => String(e.value).startsWith('a')).map((e) => e.origin));
    expect(origins.size).toBe(1);
    expect(server.log.filter((e) => String(e.value).startsWith('a')).map((e) => e.n)).toEqual([1, 2, 3, 4]);
    // One socket after the restore, whichever tab leads now.
    expect(live()).toHaveLength(1);
    // Only one socket carried what was appended offline: counted by what it carried, not by when it
    // was made, since a dial started during the cut may be the one that opens after the restore.
    const offline = (s: FakeSocket) =>
      (s.frames('push') as { value: unknown }[]).some((f) => f.value !== 'a0' && f.value !== 'b0');
    expect(FakeSocket.all.filter(offline)).toHaveLength(1);
  });

  it('when the leader goes, the other tab resends its unacknowledged pushes: the room drops them by (origin, n)', async () => {
    const a = await openPage(new TabStorage());
    const b = await openPage(new TabStorage());
    await open(a, b);
    const leader = a.leader ? a : b;
    const other = leader === a ? b : a;
    // Stored, but the acks are lost with the leader's socket.
    server.acking = false;
    const pending = [other.append('log', 'x1'), other.append('log', 'x2')];
    await vi.waitFor(() => expect(server.log).toHaveLength(2), WAIT);
    server.acking = true;
    leader.close();
    pages.splice(pages.indexOf(leader), 1);
    await expect(Promise.all(pending)).resolves.toEqual([1, 2]);
    expect(other.leader).toBe(true);
    expect(server.log.map((e) => e.value)).toEqual(['x1', 'x2']);
    // Both were sent twice, with the same (origin, n): once over each leader's socket.
    expect(sentPushes().map((f) => [f.value, f.n])).toEqual([
      ['x1', 1],
      ['x2', 2],
      ['x1', 1],
      ['x2', 2],
    ]);
    expect(new Set(sentPushes().map((f) => f.origin)).size).toBe(1);
  });
});
