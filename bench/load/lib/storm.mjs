// @ts-check
/**
 * Reconnect storm: N of our clients (client/index.ts `connect`, with its own
 * default backoff) in one room, each subscribed to 3 streams, lose their
 * server, which restarts on the same port and state, while 100 values are
 * appended that they must catch up on.
 *
 * "Published while they are away" has to hold for every client, so the order is:
 *
 * 1. every client is open and has the streams' first values;
 * 2. cut: every client's socket is dropped at once (no closing handshake), and
 *    its dials go to a dead port and fail, as they will while the server is down
 *    (lib/gate.mjs); each client notices and starts its backoff;
 * 3. the missed values are appended over HTTP to the old server, which is still
 *    running: no client can be there to see them live;
 * 4. the old server stops (its state kept), the gate opens (dials reach the real
 *    port, where nothing listens yet), and a new server starts on that port and
 *    state directory, as after a deploy;
 * 5. the clients come back on their own backoff timers and resume each stream
 *    from the last seq they saw.
 *
 * Publishing on the new server before the clients return would race their
 * backoff (some return within milliseconds of it listening); publishing on the
 * old one after the cut cannot. Steps 3 and 4 take a few seconds, so the
 * clients are several attempts into their backoff when the server is back, as
 * in a deploy that takes that long.
 *
 * Checked: every client ends with exactly the stored values of each stream
 * (read back over HTTP `get`), in seq order, none missing, none twice, no
 * reset. Measured: per client, the time from the new server listening until
 * it holds every stored value; and every dial over time, for the histogram.
 */
import { connect } from '../../../client/index.ts';
import { percentile } from '../../lib/stats.mjs';
import { dialChart, gate } from './gate.mjs';
import { rssMiB, runtimePid } from './memory.mjs';
import { httpSend, LOAD_VARS, newRoom, readStream, startServer } from './server.mjs';
import { lanes, seeded, until } from './wait.mjs';

const SUBJECTS = ['s0', 's1', 's2'];

/**
 * @typedef {object} StormPlan
 * @property {number} clients
 * @property {number} [preload] values per stream stored before the clients open (default 10)
 * @property {number} [missed] values appended while they are away, round-robin over the streams (default 100)
 * @property {boolean} [addressLimits] restart with the per-address limits on (the connect limiter among them)
 * @property {number} [seed] of the clients' backoff jitter (default: random, printed)
 * @property {number} [parallel] clients opening at a time (default 50)
 * @property {number} [timeoutMs] for every client to catch up after the restart (default 60 s)
 * @property {number} [bucketMs] of the dial histogram (default 250; wider if it would take over 60 lines)
 * @property {(text: string) => void} [log] progress lines
 */

/** @typedef {{ seq: number, value: any }} Row */

/** @param {StormPlan} plan */
export async function reconnectStorm(plan) {
  const {
    clients: count,
    preload = 10,
    missed = 100,
    addressLimits = false,
    parallel = 50,
    timeoutMs = 60_000,
    bucketMs = 250,
    log = () => {},
  } = plan;
  const seed = plan.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = seeded(seed);
  log(
    `reconnect storm: ${count} clients × ${SUBJECTS.length} streams, ${missed} values missed, seed ${seed}` +
      `${addressLimits ? ', restarted with the per-address limits on' : ''}`,
  );
  /** @type {string[]} */
  const problems = [];
  let server = await startServer(LOAD_VARS);
  const g = gate();
  /** @type {{ room: import('../../../client/index.ts').Room, rows: Row[][], other: string[], errors: string[], caughtAt: number, backAt: number }[]} */
  let clients = [];
  try {
    const { room, socket_url } = await newRoom(server.url);
    let n = 0;
    /** Appends value n to stream n % 3 over HTTP, with an ID so a retry could not store it twice. */
    const append = async (/** @type {string} */ origin) => {
      const i = n++;
      const s = i % SUBJECTS.length;
      const ack = await httpSend(
        origin,
        room,
        { type: 'push', key: SUBJECTS[s], value: { s, i }, action: { type: 'append' }, id: `v${i}` },
        'storm',
      );
      if (ack?.type !== 'ack') throw new Error(`append answered ${JSON.stringify(ack)}`);
    };
    await lanes(preload * SUBJECTS.length, 10, () => append(server.url));

    // Each client records its streams; once `target` is set, the moment it holds all of them.
    /** @type {number[] | undefined} */
    let target;
    const opened = performance.now();
    clients = await lanes(count, parallel, async (i) => {
      const c = {
        room: connect(socket_url, { WebSocket: g.forClient(i), random }),
        rows: SUBJECTS.map(() => /** @type {Row[]} */ ([])),
        /** @type {string[]} */ other: [],
        /** @type {string[]} */ errors: [],
        caughtAt: 0,
        backAt: 0,
      };
      c.room.on('error', (error) => c.errors.push(String(error)));
      c.room.on('status', (status) => {
        if (status === 'open' && target && !c.backAt) c.backAt = performance.now();
      });
      SUBJECTS.forEach((subject, k) =>
        c.room.subscribe(subject, (event) => {
          if (event.type !== 'message') return void c.other.push(`${event.type} on ${subject}`);
          c.rows[k]?.push({ seq: event.seq, value: event.value });
          if (target && !c.caughtAt && c.rows.every((rows, k) => rows.length >= (target?.[k] ?? 0)))
            c.caughtAt = performance.now();
        }),
      );
      await until(() => c.rows.every((rows) => rows.length >= preload), 120_000, `client ${i} to open and replay`);
      if (i % 250 === 249) log(`${i + 1} clients open`);
      return c;
    });
    const openMs = performance.now() - opened;
    log(`${count} clients open and replayed in ${(openMs / 1000).toFixed(1)} s`);

    // 2. The cut.
    const cutAt = performance.now();
    g.cut();
    await until(() => clients.every((c) => c.room.status === 'reconnecting'), 10_000, 'every client to notice the cut');
    // 3. Published while they are away, on the old server.
    await lanes(missed, 10, () => append(server.url));
    const missedPerSubject = SUBJECTS.map(
      (_, s) =>
        Array.from({ length: missed }, (_, i) => i).filter(
          (i) => (preload * SUBJECTS.length + i) % SUBJECTS.length === s,
        ).length,
    );
    target = missedPerSubject.map((m) => preload + m);
    const publishedAt = performance.now();
    const back = clients.filter((c) => c.room.status === 'open').length;
    if (back) problems.push(`${back} clients were open while the missed values were published`);
    // 4. The restart.
    const { port, persist } = server;
    await server.stop({ keepState: true });
    const stoppedAt = performance.now();
    g.restore();
    server = await startServer(addressLimits ? { ...LOAD_VARS, ADDRESS_LIMITS: 'on' } : LOAD_VARS, { port, persist });
    const backAt = performance.now();
    log(
      `server back ${((backAt - cutAt) / 1000).toFixed(1)} s after the cut ` +
        `(missed values published in ${(publishedAt - cutAt).toFixed(0)} ms, old server stopped at ${((stoppedAt - cutAt) / 1000).toFixed(1)} s)`,
    );
    // 5. The storm.
    const progress = setInterval(() => log(`${clients.filter((c) => c.caughtAt).length} of ${count} caught up`), 5000);
    // A client that never catches up is reported below with what it holds, rather than thrown here.
    await until(
      () => clients.every((c) => c.caughtAt),
      timeoutMs,
      () => `every client to catch up (${clients.filter((c) => c.caughtAt).length} of ${count})`,
    )
      .catch((error) => problems.push(String(error)))
      .finally(() => clearInterval(progress));
    const doneAt = performance.now();
    const rss = rssMiB(runtimePid(server.persist));

    // Every client holds exactly what is stored.
    const stored = await Promise.all(SUBJECTS.map((subject) => readStream(server.url, room, subject)));
    stored.forEach((rows, k) => {
      if (rows.length !== target?.[k])
        problems.push(`stream ${SUBJECTS[k]} holds ${rows.length} values, not ${target?.[k]}`);
      const names = new Set(rows.map((r) => r.value.i));
      if (names.size !== rows.length) problems.push(`stream ${SUBJECTS[k]} holds a value twice`);
    });
    const want = stored.map((rows) => JSON.stringify(rows));
    let exact = 0;
    clients.forEach((c, i) => {
      const bad = [
        ...c.rows.flatMap((rows, k) =>
          JSON.stringify(rows) === want[k]
            ? []
            : [`${SUBJECTS[k]}: ${rows.length} values (${stored[k]?.length} stored)`],
        ),
        ...c.other,
        ...c.errors,
      ];
      if (!bad.length) exact++;
      else if (problems.length < 10) problems.push(`client ${i}: ${bad.join('; ')}`);
    });

    // Figures.
    const catchUp = clients.map((c) => c.caughtAt - backAt).sort((a, b) => a - b);
    const reopened = clients.map((c) => c.backAt - backAt).sort((a, b) => a - b);
    const after = g.dials.filter((d) => d.at >= cutAt);
    const perClient = clients.map(() => 0);
    for (const d of after) perClient[d.tag] = (perClient[d.tag] ?? 0) + 1;
    perClient.sort((a, b) => a - b);
    // Buckets wide enough for about 60 lines: a storm held back by the connect limiter lasts minutes.
    const span = Math.max(0, ...after.map((d) => d.at - cutAt));
    const bucket = [1, 2, 4, 10, 20, 40].map((k) => k * bucketMs).find((b) => span / b <= 60) ?? 100 * bucketMs;
    const chart = dialChart(after, cutAt, bucket, [
      { at: publishedAt, label: `${missed} values published (old server)` },
      { at: stoppedAt, label: 'old server stopped' },
      { at: backAt, label: 'new server listening' },
      { at: doneAt, label: 'every client caught up' },
    ]);
    return {
      seed,
      clients: count,
      missed,
      addressLimits,
      exact,
      problems,
      openMs,
      serverBackMs: backAt - cutAt,
      /** From the new server listening: every client caught up; per client p50, p99. */
      allCaughtUpMs: doneAt - backAt,
      catchUpP50: percentile(catchUp, 0.5),
      catchUpP99: percentile(catchUp, 0.99),
      reopenP50: percentile(reopened, 0.5),
      reopenP99: percentile(reopened, 0.99),
      dials: after.length,
      dialsOpened: after.filter((d) => d.outcome === 'open').length,
      dialsRefused: after.filter((d) => d.outcome === 'refused').length,
      dialsPerClient: { p50: percentile(perClient, 0.5), p99: percentile(perClient, 0.99), max: perClient.at(-1) ?? 0 },
      rssAfter: rss,
      chart,
      bucketMs: bucket,
    };
  } finally {
    for (const c of clients) c.room.close();
    await server.stop();
  }
}

/** @param {Awaited<ReturnType<typeof reconnectStorm>>} r */
export function describeStorm(r) {
  const s = (/** @type {number} */ ms) => `${(ms / 1000).toFixed(2)} s`;
  return [
    `reconnect storm, ${r.clients} clients × ${SUBJECTS.length} streams, ${r.missed} values appended while away` +
      `${r.addressLimits ? ', per-address limits ON after the restart' : ', per-address limits off'} (seed ${r.seed}):`,
    `  ${r.exact} of ${r.clients} clients hold exactly the stored values${r.problems.length ? `; ${r.problems.length} problems` : ', nothing missing, nothing twice, no reset'}`,
    `  opened in ${s(r.openMs)}; server back ${s(r.serverBackMs)} after the cut; from then, every client caught up after ${s(r.allCaughtUpMs)} ` +
      `(per client p50 ${s(r.catchUpP50)}, p99 ${s(r.catchUpP99)}; open again p50 ${s(r.reopenP50)}, p99 ${s(r.reopenP99)})`,
    `  ${r.dials} dials after the cut (${r.dialsOpened} opened${r.dialsRefused ? `, ${r.dialsRefused} refused with 4290` : ''}); ` +
      `per client p50 ${r.dialsPerClient.p50}, p99 ${r.dialsPerClient.p99}, max ${r.dialsPerClient.max}; room process ${r.rssAfter.toFixed(0)} MiB after`,
    `  dials per ${r.bucketMs} ms from the cut (# opened, x refused by the connect limiter, . failed: nothing listening):`,
    r.chart.replace(/^/gm, '  '),
  ].join('\n');
}
