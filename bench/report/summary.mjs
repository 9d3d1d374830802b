/**
 * Turns raw round results into tables (title, header, rows) and the target
 * verdicts. The console and BENCHMARKS.md render the same tables.
 */
import { spread } from '../lib/stats.mjs';
import { int, medianRange, ms } from './format.mjs';

export const CLIENT_BUDGET_BYTES = 3072;
export const REPLAY_TARGET_MS = 250;

/**
 * @typedef {{ title: string, note?: string, header: string[], rows: string[][] }} Table
 */

/** @param {any[] | undefined} rounds @param {(round: any) => number} pick */
function values(rounds, pick) {
  return (rounds ?? []).filter((round) => !round.error).map(pick);
}

/** @param {any[] | undefined} rounds @param {(round: any) => number} pick */
export function median(rounds, pick) {
  return spread(values(rounds, pick)).median;
}

/** @param {any} results @returns {Table[]} */
export function tables(results) {
  const contenders = /** @type {{ id: string, label: string }[]} */ (results.contenders);
  /** @type {Table[]} */
  const out = [];
  const fanout = results.fanout;
  if (fanout) {
    const sizes = Object.keys(fanout)
      .map(Number)
      .sort((a, b) => a - b);
    const inFanout = fanoutContenders(results);
    out.push({
      title: 'Fan-out: deliveries/s, median (min–max)',
      note: `1 publisher, N subscribers in one room, ${results.meta.frameBytes}-byte frames, ${results.meta.plan.fanout.inFlightDeliveries} deliveries in flight (a window of ⌈${results.meta.plan.fanout.inFlightDeliveries}/N⌉ messages), ${results.meta.plan.fanout.measureMs / 1000} s measured after ${results.meta.plan.fanout.warmupMs} ms warm-up.`,
      header: ['contender', ...sizes.map((n) => `N = ${n}`)],
      rows: inFanout.map((c) => [
        c.label,
        ...sizes.map((n) =>
          medianRange(
            values(fanout[n]?.[c.id], (r) => r.deliveriesPerSecond),
            int,
          ),
        ),
      ]),
    });
    out.push({
      title: 'Fan-out: publish→receive latency under load, ms, p50 / p99 (medians of rounds)',
      header: ['contender', ...sizes.map((n) => `N = ${n}`)],
      rows: inFanout.map((c) => [
        c.label,
        ...sizes.map(
          (n) =>
            `${ms(median(fanout[n]?.[c.id], (r) => r.latency.p50))} / ${ms(median(fanout[n]?.[c.id], (r) => r.latency.p99))}`,
        ),
      ]),
    });
  }
  /** @type {[string, string][]} */
  const lowRate = [
    ['latency', 'contenders one after another'],
    ['latencyTogether', 'one room per server, all driven by the same ticks'],
  ];
  for (const [field, how] of lowRate) {
    if (!results[field]) continue;
    const p = results.meta.plan.latency;
    out.push({
      title: `Latency at a low rate (${how}): ${p.subscribers} subscribers, ${p.rate} msg/s, ms, median (min–max)`,
      header: ['contender', 'p50', 'p99', 'max'],
      rows: contenders
        .filter((c) => results[field][c.id])
        .map((c) => {
          const rounds = results[field][c.id];
          return [
            c.label,
            ...['p50', 'p99', 'max'].map((k) =>
              medianRange(
                values(rounds, (r) => r.latency[k]),
                ms,
              ),
            ),
          ];
        }),
    });
  }
  if (results.connect) {
    const n = results.meta.plan.connect.sockets;
    out.push({
      title: `Connect: ${n} sockets to one room at once, ms, median (min–max)`,
      header: ['contender', `open all ${n}`, 'first broadcast to all'],
      rows: contenders
        .filter((c) => results.connect[c.id])
        .map((c) => [
          c.label,
          medianRange(
            values(results.connect[c.id], (r) => r.connectMs),
            ms,
          ),
          medianRange(
            values(results.connect[c.id], (r) => r.firstBroadcastMs),
            ms,
          ),
        ]),
    });
  }
  if (results.replay) {
    const r = results.replay;
    const p = results.meta.plan.replay;
    out.push({
      title: `Replay (edgeroom): a new subscriber to a ${int(p.entries)}-entry stream, ms, median (min–max)`,
      note: r.error
        ? `failed: ${r.error}`
        : `Filling the stream took ${ms(r.fillMs)} ms. Meanwhile ${p.liveSubscribers} other subscribers receive a live subject at ${p.liveRate} msg/s; "during" counts live messages sent while the replay ran.`,
      header: ['metric', 'value'],
      rows: r.error
        ? []
        : [
            [
              'sub → last entry',
              medianRange(
                values(r.rounds, (x) => x.replayMs),
                ms,
              ),
            ],
            [
              'init frames',
              medianRange(
                values(r.rounds, (x) => x.frames),
                int,
              ),
            ],
            [
              'live p50 before / during',
              `${ms(median(r.rounds, (x) => x.liveBefore.p50))} / ${ms(median(r.rounds, (x) => x.liveDuring.p50))}`,
            ],
            [
              'live max before / during',
              `${ms(median(r.rounds, (x) => x.liveBefore.max))} / ${ms(median(r.rounds, (x) => x.liveDuring.max))}`,
            ],
          ],
    });
  }
  if (results.resume) {
    const r = results.resume;
    out.push({
      title: `Resume (edgeroom): reconnect after ${int(results.meta.plan.resume.missed)} missed appends, ms, median (min–max)`,
      header: ['metric', 'value'],
      rows: [
        [
          'reconnect → caught up',
          medianRange(
            values(r, (x) => x.caughtUpMs),
            ms,
          ),
        ],
        [
          'of which the socket open',
          medianRange(
            values(r, (x) => x.connectMs),
            ms,
          ),
        ],
      ],
    });
  }
  if (results.hotRoom) out.push(hotRoomTable(results));
  if (results.sizes) {
    out.push({
      title: 'Client size: esbuild --bundle --minify --format=esm, gzip -9, bytes',
      header: ['client', 'minified', 'min+gzip'],
      rows: Object.values(results.sizes).map((s) =>
        s.error ? [s.label, s.error, '—'] : [s.label, int(s.minified), int(s.gzipped)],
      ),
    });
  }
  return out;
}

/**
 * The hot room (edgeroom only): one row per K, side by side.
 * @param {any} results
 * @returns {Table}
 */
function hotRoomTable(results) {
  const p = results.meta.plan.hotRoom;
  const ks = Object.keys(results.hotRoom)
    .map(Number)
    .sort((a, b) => a - b);
  const cpu = (/** @type {number} */ n) => (Number.isFinite(n) ? n.toFixed(1) : '—');
  const s = (/** @type {number} */ n) => (Number.isFinite(n) ? (n / 1000).toFixed(1) : '—');
  return {
    title: `Hot room (edgeroom): one room, ${int(p.subscribers)} subscribers, one object (K = 1) against K leaves, median (min–max)`,
    note:
      `${p.publishes} relays at ${p.rate}/s (an offered ${int(p.subscribers * p.rate)} deliveries/s); each round runs every K on a fresh server. ` +
      "Deliveries/s from the first publish to the last delivery; CPU is the room process's (workerd) user + system time over the same span, per delivery, every object included. " +
      'Every object shares one workerd process on this machine, so this ratio is not the production one: see bench/ANALYSIS.md, Hot rooms.',
    header: ['room', 'deliveries/s', 'p50 ms', 'p99 ms', 'CPU µs/delivery', 'open sockets, s'],
    rows: ks.map((k) => {
      const rounds = results.hotRoom[k];
      return [
        k === 1 ? 'one object (K = 1)' : `K = ${k} leaves + root`,
        medianRange(
          values(rounds, (r) => r.deliveriesPerSecond),
          int,
        ),
        medianRange(
          values(rounds, (r) => r.latency.p50),
          ms,
        ),
        medianRange(
          values(rounds, (r) => r.latency.p99),
          ms,
        ),
        medianRange(
          values(rounds, (r) => r.cpuMicrosPerDelivery),
          cpu,
        ),
        medianRange(
          values(rounds, (r) => r.openMs),
          s,
        ),
      ];
    }),
  };
}

/**
 * The contenders with fan-out results at some N, in the order listed. Some
 * (edgeroom relay (hello, no roster)) run in the connect workload only.
 * @param {any} results
 * @returns {{ id: string, label: string }[]}
 */
export function fanoutContenders(results) {
  const byN = Object.values(results.fanout ?? {});
  const contenders = /** @type {{ id: string, label: string }[]} */ (results.contenders);
  return contenders.filter((c) => byN.some((byId) => byId?.[c.id]));
}

/**
 * Per-round ratios mine/theirs. Contenders in one round run back to back,
 * so a ratio within a round is far less exposed to the machine's bursts of
 * load than a ratio of medians taken over the whole run.
 * @param {any[] | undefined} mine
 * @param {any[] | undefined} theirs
 * @param {(round: any) => number} pick
 */
function roundRatios(mine, theirs, pick) {
  const ratios = [];
  for (let k = 0; k < Math.min(mine?.length ?? 0, theirs?.length ?? 0); k++) {
    const a = mine?.[k];
    const b = theirs?.[k];
    if (a && b && !a.error && !b.error) ratios.push(pick(a) / pick(b));
  }
  return ratios;
}

const times = (/** @type {number} */ n) => `${n.toFixed(2)}×`;

/**
 * A target on the median per-round ratio of edgeroom to a reference.
 * @param {string} name
 * @param {any[] | undefined} mine
 * @param {any[] | undefined} theirs
 * @param {(round: any) => number} pick
 * @param {(n: number) => string} format
 * @param {'>=' | '<='} op
 * @param {number} limit
 */
function ratioTarget(name, mine, theirs, pick, format, op, limit) {
  const ratios = roundRatios(mine, theirs, pick);
  const { median: ratio, min, max, n } = spread(ratios);
  const pass = Number.isFinite(ratio) ? (op === '>=' ? ratio >= limit : ratio <= limit) : null;
  // More decimals where two would round a miss onto the limit (0.996× is not 1.00×).
  let decimals = 2;
  while (decimals < 6 && ratio !== limit && ratio.toFixed(decimals) === limit.toFixed(decimals)) decimals++;
  const shown = Number.isFinite(ratio) ? `${ratio.toFixed(decimals)}×` : '—';
  const range = n > 1 ? `${shown} (${times(min)}–${times(max)})` : n === 1 ? shown : '—';
  return { name, edgeroom: format(median(mine, pick)), reference: format(median(theirs, pick)), ratio: range, pass };
}

/**
 * An absolute target.
 * @param {string} name
 * @param {number} measured
 * @param {(measured: number) => boolean} meets
 * @param {string} shown
 */
function absoluteTarget(name, measured, meets, shown) {
  return { name, edgeroom: shown, reference: '', ratio: '', pass: Number.isFinite(measured) ? meets(measured) : null };
}

/** @param {any} results */
export function targets(results) {
  const out = [];
  const fanout = results.fanout ?? {};
  const rate = (/** @type {any} */ r) => r.deliveriesPerSecond;
  for (const n of Object.keys(fanout).sort((a, b) => Number(a) - Number(b))) {
    const of = (/** @type {string} */ id) => fanout[n]?.[id];
    out.push(
      ratioTarget(
        `N=${n}: relay fan-out ≥ 1× partyserver`,
        of('edgeroom-relay'),
        of('partyserver'),
        rate,
        int,
        '>=',
        1,
      ),
    );
    out.push(ratioTarget(`N=${n}: relay fan-out ≥ 0.5× raw`, of('edgeroom-relay'), of('raw'), rate, int, '>=', 0.5));
    if (of('edgeroom-relay-hello')) {
      out.push(
        ratioTarget(
          `N=${n}: relay (hello) ≥ 1× partyserver`,
          of('edgeroom-relay-hello'),
          of('partyserver'),
          rate,
          int,
          '>=',
          1,
        ),
      );
      out.push(
        ratioTarget(`N=${n}: relay (hello) ≥ 0.5× raw`, of('edgeroom-relay-hello'), of('raw'), rate, int, '>=', 0.5),
      );
    }
    out.push(
      ratioTarget(
        `N=${n}: append fan-out ≥ 0.8× partyserver`,
        of('edgeroom-append'),
        of('partyserver'),
        rate,
        int,
        '>=',
        0.8,
      ),
    );
  }
  if (results.latency) {
    const p99 = (/** @type {any} */ r) => r.latency.p99;
    out.push(
      ratioTarget(
        'low-rate p99 (relay) ≤ 1× partyserver, ms',
        results.latency['edgeroom-relay'],
        results.latency.partyserver,
        p99,
        ms,
        '<=',
        1,
      ),
    );
  }
  if (results.latencyTogether) {
    const p99 = (/** @type {any} */ r) => r.latency.p99;
    out.push(
      ratioTarget(
        'same, measured at the same time',
        results.latencyTogether['edgeroom-relay'],
        results.latencyTogether.partyserver,
        p99,
        ms,
        '<=',
        1,
      ),
    );
  }
  if (results.connect) {
    // Issue 11: a deploy reconnects every client at once, so connecting must be no slower than partyserver.
    const n = results.meta.plan.connect.sockets;
    const open = (/** @type {any} */ r) => r.connectMs;
    const first = (/** @type {any} */ r) => r.firstBroadcastMs;
    /** @type {[string, string][]} */
    const kinds = [
      ['edgeroom-relay', 'DriftDB-style'],
      ['edgeroom-relay-hello', 'hello + sub'],
      ['edgeroom-relay-hello-no-roster', 'hello + sub, no roster'],
    ];
    for (const [id, what] of kinds) {
      if (!results.connect[id]) continue;
      out.push(
        ratioTarget(
          `connect ${n} (${what}) ≤ 1× partyserver, ms`,
          results.connect[id],
          results.connect.partyserver,
          open,
          ms,
          '<=',
          1,
        ),
      );
      out.push(
        ratioTarget(
          `first broadcast to ${n} (${what}) ≤ 1× partyserver, ms`,
          results.connect[id],
          results.connect.partyserver,
          first,
          ms,
          '<=',
          1,
        ),
      );
    }
  }
  if (results.replay) {
    const replay = results.replay.error ? NaN : median(results.replay.rounds, (r) => r.replayMs);
    out.push(
      absoluteTarget(
        `replay of ${int(results.meta.plan.replay.entries)} entries < ${REPLAY_TARGET_MS} ms`,
        replay,
        (v) => v < REPLAY_TARGET_MS,
        `${ms(replay)} ms`,
      ),
    );
  }
  if (results.sizes) {
    const size = results.sizes.edgeroom?.gzipped ?? NaN;
    out.push(
      absoluteTarget(
        `core client ≤ ${CLIENT_BUDGET_BYTES} B min+gzip`,
        size,
        (v) => v <= CLIENT_BUDGET_BYTES,
        `${int(size)} B`,
      ),
    );
  }
  return out;
}

/** @param {ReturnType<typeof targets>} verdicts @returns {Table} */
export function targetTable(verdicts) {
  return {
    title: 'Targets (issues 5 and 11)',
    note: 'edgeroom and reference: medians over rounds. Ratio: edgeroom ÷ reference within each round (contenders run back to back), median (min–max) over rounds; the verdict uses that median.',
    header: ['target', 'edgeroom', 'reference', 'ratio per round', 'result'],
    rows: verdicts.map((v) => [
      v.name,
      v.edgeroom,
      v.reference,
      v.ratio,
      v.pass === null ? 'n/a' : v.pass ? 'PASS' : 'FAIL',
    ]),
  };
}
