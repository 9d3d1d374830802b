// @ts-check
/**
 * One hot room (docs/hot-rooms.md) against a freshly started server: N
 * subscribers and one publisher, in a room of one object (leaves = 1) or a
 * fanned-out room of K leaves. The publisher sends relays at a fixed rate;
 * every subscriber must receive every one exactly once, in order.
 *
 * Measured: deliveries per second (from the first publish to the last
 * delivery), publish-to-receipt latency, the time to open the sockets, and
 * the CPU time the room's workerd process spent from the first publish to the
 * last delivery, in total and on its busiest thread (Linux /proc; NaN
 * elsewhere). CPU time, unlike wall time, is little disturbed by other work
 * on a shared machine, so the per-object cost model in docs/hot-rooms.md
 * rests on it. Used by `npm run bench -- --only=hot-room` and by
 * bench/load/hot-room.mjs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mintToken } from '../../../worker/auth/mint.ts';
import { percentile } from '../../lib/stats.mjs';
import { runtimePid } from './memory.mjs';
import { RawSocket } from './raw.mjs';
import { LOAD_VARS, startServer } from './server.mjs';
import { lanes, until } from './wait.mjs';

const SUBJECT = 'feed';
/** Kernel clock ticks per second (USER_HZ), the unit of /proc/<pid>/stat's CPU times; 100 on Linux. */
const TICKS_PER_SECOND = 100;

/**
 * @typedef {object} HotRoomPlan
 * @property {number} subscribers
 * @property {number} publishes
 * @property {number} rate publishes per second
 * @property {number} leaves 1 for a room of one object
 * @property {number} [parallel] handshakes in flight (default 50)
 * @property {number} [timeoutMs] for every wait (default 120,000)
 * @property {number} [idleSampleMs] how long the idle process's CPU is sampled before the publishes
 *   (default 2,000; 0 skips it, and idleCpuPerSecond is NaN)
 */

/** The key the bench's server trusts, only to read a room's counters (GET /room/:id/stats takes an admin token). */
const STATS_KEY = /** @type {const} */ ({
  kid: 'hot-room-bench',
  alg: 'HS256',
  secret: 'hot-room-bench-counters-0123456789abcdef',
});
/** The server's vars: the load limits, and the key for the counters. */
const HOT_ROOM_VARS = { ...LOAD_VARS, AUTH_KEYS: JSON.stringify([STATS_KEY]) };

/**
 * @typedef {{ turns: number, batches: number, sends: number, publishes: number }} LinkCounts
 * What the room's object did for its leaves (docs/hot-rooms.md, Counters): root turns that sent the
 * leaves something, batches made, deliver calls to leaves, and the leaves' forwarding calls up.
 */

/**
 * The room's link counters, or undefined when the server does not trust the bench's key (a hook's own server).
 * @param {string} origin
 * @param {string} socketUrl
 * @returns {Promise<LinkCounts | undefined>}
 */
async function linkCounts(origin, socketUrl) {
  const room = decodeURIComponent(/\/room\/([^/]+)\/connect/.exec(socketUrl)?.[1] ?? '');
  const token = await mintToken({ room, sub: 'hot-room-bench', rights: { admin: true }, ttlSeconds: 600 }, STATS_KEY);
  const res = await fetch(`${origin}/room/${encodeURIComponent(room)}/stats`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) return undefined;
  const { room: root } = /** @type {{ room: LinkCounts }} */ (await res.json());
  return { turns: root.turns, batches: root.batches, sends: root.sends, publishes: root.publishes };
}

/**
 * @param {string} origin
 * @param {number} leaves
 */
async function newRoom(origin, leaves) {
  const res = await fetch(`${origin}/new`, {
    method: 'POST',
    signal: AbortSignal.timeout(10_000),
    ...(leaves > 1 ? { body: JSON.stringify({ leaves }) } : {}),
  });
  if (!res.ok) throw new Error(`POST /new: ${res.status} ${await res.text()}`);
  return /** @type {{ socket_url: string }} */ (await res.json()).socket_url;
}

/**
 * CPU seconds (user + system) of a process, and of each of its threads.
 * @param {number | undefined} pid
 */
export function cpuSeconds(pid) {
  /** @param {string} path */
  const read = (path) => {
    const text = readFileSync(path, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command.
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  };
  if (pid === undefined) return { total: NaN, threads: new Map() };
  try {
    /** @type {Map<string, number>} */
    const threads = new Map();
    for (const tid of readdirSync(`/proc/${pid}/task`)) threads.set(tid, read(`/proc/${pid}/task/${tid}/stat`));
    return { total: read(`/proc/${pid}/stat`), threads };
  } catch {
    return { total: NaN, threads: new Map() };
  }
}

/**
 * CPU spent between two readings: in total, and by the thread that spent most.
 * @param {ReturnType<typeof cpuSeconds>} before
 * @param {ReturnType<typeof cpuSeconds>} after
 */
function cpuSpent(before, after) {
  let busiest = 0;
  for (const [tid, seconds] of after.threads) busiest = Math.max(busiest, seconds - (before.threads.get(tid) ?? 0));
  return { total: after.total - before.total, busiestThread: Number.isFinite(after.total) ? busiest : NaN };
}

/**
 * @typedef {{ url: string, persist: string, inspector?: string, stop(): Promise<void> }} HotRoomServer
 * @typedef {object} HotRoomHooks for bench/profile-hot-room.mjs
 * @property {() => Promise<HotRoomServer>} [start] starts the server (default: startServer with LOAD_VARS)
 * @property {(server: HotRoomServer) => Promise<void>} [beforePublishes] every socket is open
 * @property {() => Promise<void>} [afterDeliveries] the last delivery has arrived
 */

/** @param {HotRoomPlan} plan @param {HotRoomHooks} [hooks] */
export async function hotRoom(
  { subscribers, publishes, rate, leaves, parallel = 50, timeoutMs = 120_000, idleSampleMs = 2000 },
  hooks = {},
) {
  const server = await (hooks.start ?? (() => startServer(HOT_ROOM_VARS)))();
  /** @type {RawSocket[]} */
  const sockets = [];
  try {
    const url = await newRoom(server.url, leaves);
    /** @type {number[][]} */
    const seen = [];
    const latencies = new Float64Array(subscribers * publishes);
    let delivered = 0;
    let lastAt = 0;
    /** Leaves holding a subscriber: a connection ID starts with its leaf's number and a dot. */
    const occupied = new Set();
    const openStart = performance.now();
    await lanes(subscribers, parallel, async (i) => {
      const got = (seen[i] = /** @type {number[]} */ ([]));
      const s = new RawSocket(url, (m) => {
        if (m.type === 'welcome')
          occupied.add(String(m.conn).split('.', 2).length === 2 ? String(m.conn).split('.')[0] : 'root');
        if (m.type !== 'push' || m.key !== SUBJECT) return;
        got.push(m.value.i);
        if (delivered < latencies.length) latencies[delivered] = Date.now() - m.value.t;
        delivered++;
        lastAt = performance.now();
      });
      sockets.push(s);
      await s.opened;
      // A live feed's viewers: members, but not shown the roster, so that what is measured is
      // delivery, not presence (which every member of either room would otherwise get, N² of it).
      s.send({ type: 'hello', protocol: 1, roster: false });
      s.send({ type: 'sub', key: SUBJECT, replay: false });
      await s.ping(timeoutMs);
    });
    const openMs = performance.now() - openStart;
    const publisher = new RawSocket(url);
    sockets.push(publisher);
    await publisher.opened;
    publisher.send({ type: 'hello', protocol: 1 });
    await publisher.ping(timeoutMs);

    const pid = runtimePid(server.persist);
    // What the process spends doing nothing for us (timers, the runtime's own work), to subtract in the model.
    const idleStart = cpuSeconds(pid);
    if (idleSampleMs > 0) await new Promise((resolve) => setTimeout(resolve, idleSampleMs)); // a sampling interval, not a synchronisation
    const idleCpuPerSecond = idleSampleMs > 0 ? (cpuSeconds(pid).total - idleStart.total) / (idleSampleMs / 1000) : NaN;
    await hooks.beforePublishes?.(server);
    const linksBefore = leaves > 1 ? await linkCounts(server.url, url) : undefined;
    const cpuBefore = cpuSeconds(pid);
    const first = performance.now();
    for (let i = 0; i < publishes; i++) {
      publisher.send({ type: 'push', key: SUBJECT, value: { i, t: Date.now() }, action: { type: 'relay' } });
      await new Promise((resolve) => setTimeout(resolve, 1000 / rate)); // the offered rate, not a synchronisation
    }
    const expected = subscribers * publishes;
    await until(
      () => delivered >= expected,
      timeoutMs,
      () => `${expected} deliveries (got ${delivered})`,
    );
    const cpu = cpuSpent(cpuBefore, cpuSeconds(pid));
    const linksAfter = linksBefore && (await linkCounts(server.url, url));
    await hooks.afterDeliveries?.();
    const seconds = (lastAt - first) / 1000;
    // A duplicate would have been sent before the pong that follows it.
    await Promise.all(sockets.map((s) => s.ping(timeoutMs)));
    const exact = seen.filter((got) => got.length === publishes && got.every((v, j) => v === j)).length;
    const errors = sockets.reduce((n, s) => n + s.errors.length + (s.unexpectedClose === undefined ? 0 : 1), 0);
    const sorted = latencies.slice(0, Math.min(delivered, latencies.length)).sort();
    return {
      leaves,
      /** Leaves with at least one subscriber (sockets land on leaves at random), or 1. */
      occupiedLeaves: occupied.size,
      subscribers,
      publishes,
      openMs,
      exact,
      errors,
      seconds,
      deliveriesPerSecond: expected / seconds,
      latency: { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? NaN },
      /** CPU seconds of the room's workerd process from the first publish to the last delivery. */
      cpuSeconds: cpu.total,
      /** The same, on the one thread of that process that spent most. */
      busiestThreadSeconds: cpu.busiestThread,
      /** CPU seconds per second of the same process, idle, with every socket open (sampled before the publishes). */
      idleCpuPerSecond,
      /** CPU microseconds per delivery, every cost (the root's, links', leaves') included. */
      cpuMicrosPerDelivery: (cpu.total / expected) * 1e6,
      /**
       * What the links did from the first publish to the last delivery (K > 1, and the bench's own
       * server): the billed calls between objects are sends + publishes (docs/hot-rooms.md, Cost model).
       */
      links:
        linksBefore && linksAfter
          ? {
              turns: linksAfter.turns - linksBefore.turns,
              batches: linksAfter.batches - linksBefore.batches,
              sends: linksAfter.sends - linksBefore.sends,
              publishes: linksAfter.publishes - linksBefore.publishes,
            }
          : undefined,
    };
  } finally {
    await Promise.all(sockets.map((s) => s.close()));
    await server.stop();
  }
}

/** One line per run, for the load script and the bench's progress. @param {Awaited<ReturnType<typeof hotRoom>>} r */
export function describeHotRoom(r) {
  const f = (/** @type {number} */ n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '?');
  return (
    `K=${r.leaves}${r.leaves > 1 ? ` (${r.occupiedLeaves} with subscribers)` : ''}: ${r.exact}/${r.subscribers} exact, ${r.errors} errors, opened in ${f(r.openMs / 1000, 1)} s, ` +
    `${f(r.deliveriesPerSecond)} deliveries/s, latency p50 ${f(r.latency.p50)} ms, p99 ${f(r.latency.p99)} ms, ` +
    `CPU ${f(r.cpuSeconds, 2)} s (busiest thread ${f(r.busiestThreadSeconds, 2)} s) over ${f(r.seconds, 2)} s, idle ${f(r.idleCpuPerSecond, 3)} CPU s/s, ` +
    `${f(r.cpuMicrosPerDelivery, 1)} µs/delivery` +
    (r.links
      ? `; links: ${r.links.turns} root turns, ${r.links.batches} batches, ${r.links.sends} deliver calls, ` +
        `${r.links.publishes} forwarding calls for ${r.publishes} publishes (${f((r.links.sends + r.links.publishes) / r.seconds)} billed calls/s)`
      : '')
  );
}
