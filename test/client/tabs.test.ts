// One socket per browser, in Node: each connectShared call plays a tab, with
// Node's own BroadcastChannel and Web Locks (the real ones, shared by every
// "tab" of this process, as a browser shares them between the tabs of one
// origin). The leader's real socket is a FakeSocket answered by a small
// in-process server below. In Chromium against the real worker: test/browser/tabs.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_LIMITS } from '../../protocol/limits.ts';
import type { Room, SubjectEvent } from '../../client/index.ts';
import { connectShared, type SharedOptions, type SharedRoom } from '../../client/tabs.ts';
import { FakeSocket } from './fake-socket.ts';

const URL = 'ws://test.invalid/room/tabs/connect';
const PONG = '{"type":"pong","nonce":null}';
const WAIT = { timeout: 3000, interval: 5 };
/** Receipts every 4 kB, so that a test reaches a few. */
const LIMITS = { ...DEFAULT_LIMITS, ackEveryBytes: 4096 };

/** The room as the server keeps it: one log, and the sockets subscribed to each subject. */
class Server {
  seq = 0;
  log: { key: string; value: unknown; seq: number; client?: string }[] = [];
  sockets: AutoSocket[] = [];
  /** Publish IDs seen, for the duplicate answer (the server's dedup). */
  seen = new Map<string, number>();
  /** When false, pushes are stored and broadcast but not acknowledged (an answer lost with a socket). */
  acking = true;
  /** Subjects whose next `sub` is refused (as a room at maxSubscriptions refuses one). */
  refuse = new Set<string>();
  handle(ws: AutoSocket, text: string): void {
    if (ws.halfOpen) return;
    if (text === '{"type":"ping"}') return ws.receiveText(PONG);
    const m = JSON.parse(text);
    switch (m.type) {
      case 'hello':
        ws.hellos.push(m);
        ws.client = `client-of-${m.secret}`;
        return ws.receive({
          type: 'welcome',
          protocol: 1,
          conn: ws.conn,
          client: ws.client,
          seq: this.seq,
          limits: LIMITS,
          peers: [],
        });
      case 'sub': {
        if (this.refuse.delete(m.key))
          return ws.receive({ type: 'error', code: 'too_many_subscriptions', message: 'no', key: m.key });
        ws.subs.add(m.key);
        const data = this.log.filter((e) => e.key === m.key && e.seq > (m.seq ?? 0));
        return ws.receive({ type: 'init', key: m.key, data: m.last ? data.slice(-m.last) : data });
      }
      case 'unsub':
        return void ws.subs.delete(m.key);
      case 'push': {
        if (m.key === 'bad')
          return ws.receive({ type: 'error', code: 'invalid_value', message: 'bad', key: m.key, id: m.id });
        const dup = this.seen.get(m.id);
        if (dup !== undefined) return ws.receive({ type: 'ack', id: m.id, seq: dup, duplicate: true });
        const entry = { key: m.key, value: m.value, seq: ++this.seq, client: ws.client };
        this.log.push(entry);
        this.seen.set(m.id, entry.seq);
        for (const s of this.sockets)
          if (s.readyState === 1 && s.subs.has(m.key)) s.receive({ type: 'push', ...entry });
        if (this.acking) ws.receive({ type: 'ack', id: m.id, seq: entry.seq });
      }
    }
  }
}

let server = new Server();

/** A real socket of the leader's: opens on its own and is answered by `server`. */
class AutoSocket extends FakeSocket {
  conn = `conn${FakeSocket.all.length}`;
  client?: string;
  /** Nothing comes back any more, pongs included (a half-open socket never recovers). */
  halfOpen = false;
  hellos: Record<string, unknown>[] = [];
  subs = new Set<string>();
  constructor(url: string, protocols?: string[]) {
    super(url, protocols);
    server.sockets.push(this);
    // A leader's socket offers no early frames, but a tab running alone (no Web Locks) does: the
    // room takes them from the upgrade, before any frame the socket sends (those wait a timer).
    setTimeout(() => {
      if (this.readyState !== 0) return;
      this.open();
      for (const frame of this.early) server.handle(this, frame);
    });
  }
  override send(data: string): void {
    super.send(data);
    setTimeout(() => this.readyState === 1 && server.handle(this, data));
  }
  /** What the socket has received so far, after each frame: the values a receipt may name. */
  totals: number[] = [];
  override receive(message: object): void {
    const data = JSON.stringify(message);
    this.totals.push((this.totals.at(-1) ?? 0) + data.length);
    this.onmessage?.({ data });
  }
  /** The runtime's pong: the room never sees it, so it is not counted. */
  receiveText(data: string): void {
    this.onmessage?.({ data });
  }
}

// The tabs' shared secret lives in localStorage, which Node has only with a flag.
vi.stubGlobal('localStorage', {});
/** Each tab's window, for page lifecycle events (pagehide, freeze, …), which Node has none of. */
const windows = new WeakMap<Room, EventTarget>();

const tabs: Room[] = [];
function openTab(options: SharedOptions = {}): SharedRoom {
  const window = new EventTarget();
  vi.stubGlobal('addEventListener', window.addEventListener.bind(window));
  vi.stubGlobal('removeEventListener', window.removeEventListener.bind(window));
  const room = connectShared(URL, { WebSocket: AutoSocket, minDelay: 20, heartbeat: 60_000, ...options });
  tabs.push(room);
  windows.set(room, window);
  return room;
}

/** Every listener's events for a subject, in order. */
function listen(room: Room, subject: string, options = {}): SubjectEvent[] {
  const events: SubjectEvent[] = [];
  room.subscribe(subject, (event) => events.push(event), options);
  return events;
}
const seqs = (events: SubjectEvent[]) => events.map((e) => (e.type === 'message' ? e.seq : e.type));
const open = (...rooms: Room[]) =>
  vi.waitFor(() => expect(rooms.map((r) => r.status)).toEqual(rooms.map(() => 'open')), WAIT);
const live = () => FakeSocket.all.filter((s) => s.readyState === 1);

afterEach(async () => {
  for (const room of tabs.splice(0)) room.close();
  // The closed tabs' locks are gone, held or asked for, before the next test asks for the same one.
  await vi.waitFor(async () => {
    const { held = [], pending = [] } = await navigator.locks.query();
    expect([...held, ...pending].filter((lock) => lock.name === `edgeroom:${URL}`)).toEqual([]);
  }, WAIT);
  FakeSocket.all = [];
  server = new Server();
  vi.stubGlobal('localStorage', {});
});

describe('one socket per browser', { timeout: 10_000 }, () => {
  it('three tabs share one real socket and one client ID; one of them leads', async () => {
    const [a, b, c] = [openTab(), openTab(), openTab()];
    await open(a, b, c);
    expect(FakeSocket.all).toHaveLength(1);
    const [real] = FakeSocket.all as AutoSocket[];
    // Each tab said hello through it, with the one shared secret.
    expect(real!.hellos).toHaveLength(3);
    expect(new Set(real!.hellos.map((h) => h.secret)).size).toBe(1);
    expect(new Set([a.clientId, b.clientId, c.clientId]).size).toBe(1);
    expect(new Set([a.conn, b.conn, c.conn])).toEqual(new Set([real!.conn]));
    expect([a, b, c].filter((room) => room.leader)).toHaveLength(1);
  });

  it('every tab gets exactly the subjects it subscribed to, once each', async () => {
    const [a, b, c] = [openTab(), openTab(), openTab()];
    await open(a, b, c);
    const ax = listen(a, 'x');
    const bx = listen(b, 'x');
    const by = listen(b, 'y');
    const cy = listen(c, 'y');
    const cy2 = listen(c, 'y'); // a second listener in one tab: its own replay, once too
    await vi.waitFor(() => expect((FakeSocket.all[0] as AutoSocket).subs).toEqual(new Set(['x', 'y'])), WAIT);
    // Publishes from all three tabs, each acknowledged to its own tab with its own seq.
    const seqsOf = await Promise.all([a.append('x', 1), b.append('y', 2), c.append('x', 3), c.append('y', 4)]);
    expect(seqsOf).toEqual([1, 2, 3, 4]);
    await vi.waitFor(() => expect([ax, bx, by, cy, cy2].map((e) => e.length)).toEqual([2, 2, 2, 2, 2]), WAIT);
    expect([ax, bx, by, cy, cy2].map(seqs)).toEqual([
      [1, 3],
      [1, 3],
      [2, 4],
      [2, 4],
      [2, 4],
    ]);
    // Own publishes are marked as the browser's own, whichever tab made them.
    expect(ax.every((e) => e.type === 'message' && e.own)).toBe(true);
  });

  it('an unsub reaches the server only with the last tab subscribed to the subject', async () => {
    const [a, b] = [openTab(), openTab()];
    await open(a, b);
    const offA = a.subscribe('x', () => {});
    const offB = b.subscribe('x', () => {});
    const real = FakeSocket.all[0] as AutoSocket;
    await vi.waitFor(() => expect(real.frames('sub')).toHaveLength(2), WAIT);
    offA();
    const marker = a.append('m', 0); // the unsub would go out before this push
    await marker;
    expect(real.frames('unsub')).toEqual([]);
    offB();
    await vi.waitFor(() => expect(real.frames('unsub')).toEqual([{ type: 'unsub', key: 'x' }]), WAIT);
  });

  it("the tabs' receipts stay home; the leader sends its own for the real socket's bytes", async () => {
    const a = openTab();
    const b = openTab();
    await open(a, b);
    const events = listen(b, 'big');
    const value = 'v'.repeat(1500);
    for (let i = 0; i < 6; i++) await a.append('big', value); // 9 kB, two receipts' worth
    await vi.waitFor(() => expect(events).toHaveLength(6), WAIT);
    const real = FakeSocket.all[0] as AutoSocket;
    const receipts = real.frames('ack');
    expect(receipts.length).toBeGreaterThanOrEqual(2);
    // Each names what the real socket had received (as the server counts what it sent), at least
    // ackEveryBytes more than the one before: never a tab's count, which the server would refuse.
    let before = 0;
    for (const { received } of receipts) {
      expect(real.totals).toContain(received);
      expect(received as number).toBeGreaterThanOrEqual(before + LIMITS.ackEveryBytes);
      before = received as number;
    }
  });

  it('when the leader closes, another tab dials with the same client ID; nothing is lost or repeated', async () => {
    const [a, b, c] = [openTab(), openTab(), openTab()];
    await open(a, b, c);
    const leader = [a, b, c].find((room) => room.leader)!;
    const [f1, f2] = [a, b, c].filter((room) => room !== leader) as [SharedRoom, SharedRoom];
    const e1 = listen(f1, 'chat');
    const e2 = listen(f2, 'chat');
    await f1.append('chat', 'before');
    await vi.waitFor(() => expect([e1.length, e2.length]).toEqual([1, 1]), WAIT);
    const clientId = f1.clientId;
    // A publish the server stores but whose ack is lost with the leader's socket.
    server.acking = false;
    const pending = f2.append('chat', 'during');
    await vi.waitFor(() => expect(server.log).toHaveLength(2), WAIT);
    server.acking = true;
    leader.close();
    await vi.waitFor(() => expect(live()).toHaveLength(1), WAIT);
    expect(FakeSocket.all).toHaveLength(2);
    await open(f1, f2);
    expect([f1, f2].filter((room) => room.leader)).toHaveLength(1);
    expect([f1.clientId, f2.clientId]).toEqual([clientId, clientId]);
    // Resent with its ID: answered as a duplicate, with the seq it was stored at.
    await expect(pending).resolves.toBe(2);
    await f1.append('chat', 'after');
    await vi.waitFor(() => expect([e1.length, e2.length]).toEqual([3, 3]), WAIT);
    expect([seqs(e1), seqs(e2)]).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
    expect(server.log).toHaveLength(3);
  });

  it('without Web Locks, each tab runs alone with its own socket', async () => {
    Object.defineProperty(navigator, 'locks', { value: undefined, configurable: true });
    try {
      const [a, b] = [openTab(), openTab()];
      await open(a, b);
      expect(FakeSocket.all).toHaveLength(2);
      expect([a.leader, b.leader]).toEqual([true, true]);
    } finally {
      delete (navigator as { locks?: unknown }).locks;
    }
  });

  it('answers go only to the tab that asked: a pong, a refused subscription, a refused publish', async () => {
    // Only `a` pings after its socket opened: every 50 ms.
    const [a, b] = [openTab({ heartbeat: 50 }), openTab()];
    await open(a, b);
    const errors: Record<string, string[]> = { a: [], b: [] };
    a.on('error', (error) => errors.a!.push(error.code));
    b.on('error', (error) => errors.b!.push(error.code));
    const latencies: Record<string, number> = { a: 0, b: 0 };
    a.on('latency', () => latencies.a!++);
    b.on('latency', () => latencies.b!++);
    await vi.waitFor(() => expect(latencies.a).toBeGreaterThanOrEqual(3), WAIT);
    await b.append('limited', 'v');
    server.refuse.add('limited');
    a.subscribe('limited', () => {});
    await vi.waitFor(() => expect(errors.a).toEqual(['too_many_subscriptions']), WAIT);
    await expect(b.append('bad', 1)).rejects.toMatchObject({ code: 'invalid_value' });
    // The next subscription to that subject, taken, gets its replay (in the tab that asked for it).
    const events = listen(b, 'limited');
    await vi.waitFor(() => expect(seqs(events)).toEqual([1]), WAIT);
    expect(errors).toEqual({ a: ['too_many_subscriptions'], b: [] });
    expect(latencies.b).toBe(0);
  });

  it('a tab that gives up on a silent socket makes the leader give up the real one too', async () => {
    // Pings every 400 ms: long enough that a busy machine's event loop never looks like a silent socket.
    const [a, b] = [openTab({ heartbeat: 400 }), openTab({ heartbeat: 400 })];
    await open(a, b);
    expect(FakeSocket.all).toHaveLength(1);
    (FakeSocket.all[0] as AutoSocket).halfOpen = true;
    await vi.waitFor(() => expect(FakeSocket.all.length).toBeGreaterThan(1), { ...WAIT, timeout: 6000 });
    expect(FakeSocket.all[0]!.closedByClient).toBe(true);
    await open(a, b);
    expect(live()).toHaveLength(1);
  });

  it('a leader whose page is frozen steps down, and another tab leads', async () => {
    const [a, b] = [openTab(), openTab()];
    await open(a, b);
    const leader = a.leader ? a : b;
    const other = leader === a ? b : a;
    const events = listen(other, 'log');
    windows.get(leader)!.dispatchEvent(new Event('freeze'));
    await vi.waitFor(() => expect(FakeSocket.all.length).toBe(2), WAIT);
    expect(FakeSocket.all[0]!.closedByClient).toBe(true);
    await open(a, b);
    expect([leader.leader, other.leader]).toEqual([false, true]);
    // Its frames now go through the new leader (in a browser, once the page runs again).
    await leader.append('log', 'after');
    await vi.waitFor(() => expect(seqs(events)).toEqual([1]), WAIT);
    // Shown again (Node has no document: never hidden), it queues for the lock behind the new leader.
    windows.get(leader)!.dispatchEvent(new Event('visibilitychange'));
    other.close();
    await vi.waitFor(() => expect(leader.leader).toBe(true), WAIT);
    await open(leader);
  });

  it('a tab closed as soon as it opened (React strict mode) never leads: the next one does', async () => {
    const gone = openTab();
    gone.close();
    const next = openTab();
    await open(next);
    expect(next.leader).toBe(true);
    expect(gone.leader).toBe(false);
  });
});
