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
import { rssMiB, runtimePid } from './memory.mjs';
import { SoakRoom, tallies } from './soak-room.mjs';
import { newRoom, startServer } from './server.mjs';
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
 * @property {(text: string) => void} [log]
 */

/** @param {SoakPlan} plan */
export async function soak(plan) {
  const {
    durationMs, rooms: roomCount = 6, members = 50, plainSockets = 3, opsPerSecond = 20, churnPerSecond = 1,
    compactEveryMs = 60_000, reportEveryMs = 60_000, checkTimeoutMs = 30_000, log = () => {},
  } = plan;
  const seed = plan.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = seeded(seed);
  const tally = tallies();
  const server = await startServer({ ADDRESS_LIMITS: 'off' });
  /** @type {SoakRoom[]} */
  const rooms = [];
  /** @type {ReturnType<typeof setInterval>[]} */
  const timers = [];
  try {
    for (let index = 0; index < roomCount; index++) {
      const { room, socket_url } = await newRoom(server.url);
      const r = new SoakRoom({ origin: server.url, room, socketUrl: socket_url, index, size: members, plainSockets, random, tally });
      await r.open();
      rooms.push(r);
    }
    const pid = runtimePid(server.persist);
    const started = performance.now();
    const memory = [{ at: 0, mib: rssMiB(pid) }];
    log(`soak: ${roomCount} rooms × (${members} clients + ${plainSockets} plain sockets), ${opsPerSecond} ops/s and ` +
      `${churnPerSecond} churn/s per room, ${span(durationMs)}, seed ${seed}; room process ${memory[0]?.mib.toFixed(0)} MiB`);

    const report = () => {
      const mib = rssMiB(pid);
      memory.push({ at: performance.now() - started, mib });
      const t = tally;
      log(`${span(performance.now() - started)}: room process ${mib.toFixed(0)} MiB; ` +
        `${t.relays} relays, ${t.appends} appends, ${t.sets} sets, ${t.presence} presence, ${t.dms} dms (${t.dmsIn} in), ` +
        `${t.logAppends} log appends, ${t.compactions} compactions; ${t.joins} joins, ${t.cuts} cuts, ${t.resubs} resubscribes; ` +
        `${t.errors} errors, ${t.unexpectedDrops} unexpected drops`);
    };
    await new Promise((resolve) => {
      for (const r of rooms) {
        timers.push(setInterval(() => r.tick(), 1000 / opsPerSecond));
        timers.push(setInterval(() => r.churn(), 1000 / churnPerSecond));
        timers.push(setInterval(() => r.compact(), compactEveryMs));
      }
      timers.push(setInterval(report, reportEveryMs));
      setTimeout(resolve, durationMs); // the soak's length: the load runs until then
    });
    for (const timer of timers.splice(0)) clearInterval(timer);
    const loadEndedAt = performance.now();

    /** @type {string[]} */
    const problems = [];
    for (const r of rooms) problems.push(...(await r.check(checkTimeoutMs)));
    report();
    const end = memory.at(-1)?.mib ?? NaN;
    for (const r of rooms) await r.close();
    // How much of it the room process gives back once everyone has left (read once, after the closes).
    const afterClose = rssMiB(pid);
    if (tally.errors) problems.push(`${tally.errors} errors: ${tally.samples.join('; ')}`);
    if (tally.unexpectedDrops) problems.push(`${tally.unexpectedDrops} reconnects nobody caused`);
    return {
      seed, durationMs, rooms: roomCount, sockets: roomCount * (members + plainSockets), tally, problems, memory,
      start: memory[0]?.mib ?? NaN, end, afterClose, checkMs: performance.now() - loadEndedAt,
    };
  } finally {
    for (const timer of timers) clearInterval(timer);
    for (const r of rooms) await r.close().catch(() => {});
    await server.stop();
  }
}

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
  ].join('\n');
}
