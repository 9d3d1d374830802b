// @ts-check
/**
 * The soak: a mixed load on several rooms for a fixed time (lib/soak-room.mjs
 * has what happens in a room and what is checked), with the room process's
 * memory read at the start, at every report (each minute) and at the end.
 * Bounded: `rooms × (members + plainSockets)` sockets, for `durationMs`.
 *
 * The per-socket and per-room rates stay at their defaults (our client paces
 * itself to them); only the per-address limits are off, since every socket
 * comes from 127.0.0.1 and churn reconnects all the time.
 */
import { devtools, heapMiB, objectCounts, storedMiB } from './inspect.mjs';
import { rssMiB, rssParts, runtimePid } from './memory.mjs';
import { SoakRoom, tallies } from './soak-room.mjs';
import { newRoom, startInspectedServer, startServer } from './server.mjs';
import { seeded } from './wait.mjs';

/**
 * @typedef {object} SoakPlan
 * @property {number} durationMs
 * @property {number} [rooms] default 6
 * @property {number} [members] of our clients per room (default 50)
 * @property {number} [plainSockets] DriftDB-style sockets per room (default 3)
 * @property {number} [opsPerSecond] per room (default 20)
 * @property {number} [churnPerSecond] membership changes per room per second (default 1)
 * @property {number} [compactEveryMs] default 60 s
 * @property {number} [reportEveryMs] default 60 s
 * @property {number} [checkTimeoutMs] bound of each wait in the checks at the end (default 30 s)
 * @property {number} [seed]
 * @property {import('./soak-room.mjs').Mix} [mix] what `tick` does (default 'all')
 * @property {boolean} [inspect] also read the isolate's heap through the inspector at each report
 * @property {boolean} [objects] with `inspect`: count the isolate's objects by constructor at the start and
 *   after everyone closed, and name those more numerous (a heap snapshot: it costs the process about 120 MiB
 *   of resident memory, which it keeps, so the resident figures of such a run start higher)
 * @property {(text: string) => void} [log]
 */

/** @param {SoakPlan} plan */
export async function soak(plan) {
  const {
    durationMs,
    rooms: roomCount = 6,
    members = 50,
    plainSockets = 3,
    opsPerSecond = 20,
    churnPerSecond = 1,
    compactEveryMs = 60_000,
    reportEveryMs = 60_000,
    checkTimeoutMs = 30_000,
    log = () => {},
    mix = 'all',
    inspect = false,
    objects = false,
  } = plan;
  const seed = plan.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = seeded(seed);
  const tally = tallies();
  const server = inspect
    ? await startInspectedServer({ ADDRESS_LIMITS: 'off' })
    : await startServer({ ADDRESS_LIMITS: 'off' });
  const inspector = 'inspector' in server ? /** @type {string | undefined} */ (server.inspector) : undefined;
  const cdp = inspect && inspector ? await devtools(inspector) : undefined;
  if (inspect && !cdp) throw new Error('wrangler gave no inspector URL');
  /** The JS heap, committed and live (MiB), when the inspector is on, else NaN. */
  const heap = async () => (cdp ? heapMiB(cdp) : { committed: NaN, live: NaN });
  /** @type {SoakRoom[]} */
  const rooms = [];
  /** @type {ReturnType<typeof setInterval>[]} */
  const timers = [];
  try {
    for (let index = 0; index < roomCount; index++) {
      const { room, socket_url } = await newRoom(server.url);
      const r = new SoakRoom({
        origin: server.url,
        room,
        socketUrl: socket_url,
        index,
        size: members,
        plainSockets,
        random,
        tally,
        mix,
      });
      await r.open();
      rooms.push(r);
    }
    const pid = runtimePid(server.persist);
    const started = performance.now();
    /**
     * What the room process holds now: resident (and its anonymous part), the JS heap, SQLite files.
     * With the inspector, the resident size is read after the full collection, and once before it.
     */
    const reading = async (/** @type {number} */ at) => {
      const beforeGc = cdp ? rssMiB(pid) : NaN;
      const { committed, live } = await heap();
      return {
        at,
        mib: rssMiB(pid),
        beforeGc,
        anon: rssParts(pid).anon,
        committed,
        heap: live,
        stored: storedMiB(server.persist),
      };
    };
    // The isolate's objects by constructor (minified names), to compare with those left after everyone
    // closed. Taken before the first reading: a heap snapshot itself costs the process memory it keeps.
    const objectsAtStart = cdp && objects ? await objectCounts(cdp) : undefined;
    /** @type {{ at: number, mib: number, beforeGc: number, anon: number, committed: number, heap: number, stored: number }[]} */
    const memory = [await reading(0)];
    log(
      `soak: ${roomCount} rooms × (${members} clients + ${plainSockets} plain sockets), ${opsPerSecond} ops/s (${mix}) and ` +
        `${churnPerSecond} churn/s per room, ${compactEveryMs ? `a compaction every ${span(compactEveryMs)}` : 'no compaction'}, ` +
        `${span(durationMs)}, seed ${seed}; room process ${memory[0]?.mib.toFixed(0)} MiB${footprint(memory[0])}`,
    );

    const report = async () => {
      const at = performance.now() - started;
      const m = await reading(at);
      memory.push(m);
      const t = tally;
      log(
        `${span(at)}: room process ${m.mib.toFixed(0)} MiB${footprint(m)}; ` +
          `${t.relays} relays, ${t.appends} appends, ${t.sets} sets, ${t.presence} presence, ${t.dms} dms (${t.dmsIn} in), ` +
          `${t.logAppends} log appends, ${t.compactions} compactions; ${t.joins} joins, ${t.cuts} cuts, ${t.resubs} resubscribes; ` +
          `${t.errors} errors, ${t.unexpectedDrops} unexpected drops`,
      );
    };
    await new Promise((resolve) => {
      for (const r of rooms) {
        if (opsPerSecond > 0) timers.push(setInterval(() => r.tick(), 1000 / opsPerSecond));
        if (churnPerSecond > 0) timers.push(setInterval(() => r.churn(), 1000 / churnPerSecond));
        if (compactEveryMs > 0) timers.push(setInterval(() => r.compact(), compactEveryMs));
      }
      timers.push(setInterval(() => void report().catch((e) => log(`report failed: ${e}`)), reportEveryMs));
      setTimeout(resolve, durationMs); // the soak's length: the load runs until then
    });
    for (const timer of timers.splice(0)) clearInterval(timer);
    const loadEndedAt = performance.now();

    /** @type {string[]} */
    const problems = [];
    for (const r of rooms) problems.push(...(await r.check(checkTimeoutMs)));
    await report();
    const end = memory.at(-1)?.mib ?? NaN;
    for (const r of rooms) await r.close();
    // How much of it the room process gives back once everyone has left. With the inspector, read
    // 2 s after the closes, once the rooms have seen them, so the live heap holds no socket of the soak.
    if (cdp) await new Promise((resolve) => setTimeout(resolve, 2000));
    const closed = await reading(performance.now() - started);
    const afterClose = closed.mib;
    log(`after everyone closed: room process ${closed.mib.toFixed(0)} MiB${footprint(closed)}`);
    memory.push(closed);
    if (cdp && objectsAtStart) {
      const left = await objectCounts(cdp);
      const grown = [...left]
        .filter(([name, n]) => n > (objectsAtStart?.get(name) ?? 0))
        .sort((a, b) => b[1] - (objectsAtStart?.get(b[0]) ?? 0) - (a[1] - (objectsAtStart?.get(a[0]) ?? 0)))
        .slice(0, 12);
      log(
        `objects more numerous after everyone closed than with everyone open at the start: ${grown.length ? grown.map(([name, n]) => `${name} ${objectsAtStart?.get(name) ?? 0} → ${n}`).join(', ') : 'none'}`,
      );
    }
    if (tally.errors) problems.push(`${tally.errors} errors: ${tally.samples.join('; ')}`);
    if (tally.unexpectedDrops) problems.push(`${tally.unexpectedDrops} reconnects nobody caused`);
    return {
      seed,
      durationMs,
      rooms: roomCount,
      sockets: roomCount * (members + plainSockets),
      tally,
      problems,
      memory,
      start: memory[0]?.mib ?? NaN,
      end,
      afterClose,
      checkMs: performance.now() - loadEndedAt,
    };
  } finally {
    cdp?.close();
    for (const timer of timers) clearInterval(timer);
    for (const r of rooms) await r.close().catch(() => {});
    await server.stop();
  }
}

/**
 * The resident size before the collection, the anonymous part, the JS heap (committed, live) and the stored bytes, when known.
 * @param {{ beforeGc: number, anon: number, committed: number, heap: number, stored: number } | undefined} m
 */
const footprint = (m) =>
  !m
    ? ''
    : ` (anonymous ${m.anon.toFixed(0)}${Number.isFinite(m.beforeGc) ? `; ${m.beforeGc.toFixed(0)} before a full GC` : ''})` +
      `${Number.isFinite(m.heap) ? `, JS heap ${m.committed.toFixed(1)} MiB committed, ${m.heap.toFixed(1)} MiB live` : ''}, SQLite files ${m.stored.toFixed(1)} MiB`;

/** Minutes, or seconds for a short run. @param {number} ms */
const span = (ms) => (ms >= 120_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(0)} s`);

/** @param {Awaited<ReturnType<typeof soak>>} r */
export function describeSoak(r) {
  const t = r.tally;
  return [
    `soak, ${span(r.durationMs)}, ${r.rooms} rooms, ${r.sockets} sockets (seed ${r.seed}): ` +
      `${r.problems.length ? `${r.problems.length} problems` : 'every stream without loss or duplicate, everyone holding what is stored, no error, no unexpected drop'}`,
    `  ${t.relays} relays, ${t.appends} chat appends, ${t.sets} sets, ${t.presence} presence updates, ${t.dms} dms (${t.dmsIn} received, ` +
      `${t.dmsGone} to someone gone), ${t.logAppends} log appends, ${t.compactions} compactions (${t.resets} resets seen); ` +
      `${t.joins} leaves and joins, ${t.cuts} cut sockets, ${t.resubs} resubscribes`,
    `  room process memory: ${r.memory.map((m) => `${span(m.at)} ${m.mib.toFixed(0)}`).join(', ')} MiB; ` +
      `start ${r.start.toFixed(0)} → end ${r.end.toFixed(0)} MiB, ${r.afterClose.toFixed(0)} MiB after everyone closed`,
    ...(r.memory.some((m) => Number.isFinite(m.heap))
      ? [
          `  room process memory before each full GC: ${r.memory.map((m) => m.beforeGc.toFixed(0)).join(', ')} MiB`,
          `  JS heap committed: ${r.memory.map((m) => m.committed.toFixed(1)).join(', ')} MiB`,
          `  JS heap live (after a full GC): ${r.memory.map((m) => m.heap.toFixed(1)).join(', ')} MiB`,
        ]
      : []),
    `  anonymous memory: ${r.memory.map((m) => m.anon.toFixed(0)).join(', ')} MiB`,
    `  SQLite files: ${r.memory.map((m) => m.stored.toFixed(1)).join(', ')} MiB`,
  ].join('\n');
}
