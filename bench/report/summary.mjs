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
    const sizes = Object.keys(fanout).map(Number).sort((a, b) => a - b);
    out.push({
      title: 'Fan-out: deliveries/s, median (min–max)',
      note: `1 publisher, N subscribers in one room, ${results.meta.frameBytes}-byte frames, ${results.meta.plan.fanout.inFlightDeliveries} deliveries in flight (a window of ⌈${results.meta.plan.fanout.inFlightDeliveries}/N⌉ messages), ${results.meta.plan.fanout.measureMs / 1000} s measured after ${results.meta.plan.fanout.warmupMs} ms warm-up.`,
      header: ['contender', ...sizes.map((n) => `N = ${n}`)],
      rows: contenders.map((c) => [c.label, ...sizes.map((n) => medianRange(values(fanout[n]?.[c.id], (r) => r.deliveriesPerSecond), int))]),
    });
    out.push({
      title: 'Fan-out: publish→receive latency under load, ms, p50 / p99 (medians of rounds)',
      header: ['contender', ...sizes.map((n) => `N = ${n}`)],
      rows: contenders.map((c) => [
        c.label,
        ...sizes.map((n) => `${ms(median(fanout[n]?.[c.id], (r) => r.latency.p50))} / ${ms(median(fanout[n]?.[c.id], (r) => r.latency.p99))}`),
      ]),
    });
  }
  if (results.latency) {
    const p = results.meta.plan.latency;
    out.push({
      title: `Latency at a low rate: ${p.subscribers} subscribers, ${p.rate} msg/s, ms, median (min–max)`,
      header: ['contender', 'p50', 'p99', 'max'],
      rows: contenders.map((c) => {
        const rounds = results.latency[c.id];
        return [c.label, ...['p50', 'p99', 'max'].map((k) => medianRange(values(rounds, (r) => r.latency[k]), ms))];
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
          medianRange(values(results.connect[c.id], (r) => r.connectMs), ms),
          medianRange(values(results.connect[c.id], (r) => r.firstBroadcastMs), ms),
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
            ['sub → last entry', medianRange(values(r.rounds, (x) => x.replayMs), ms)],
            ['init frames', medianRange(values(r.rounds, (x) => x.frames), int)],
            ['live p50 before / during', `${ms(median(r.rounds, (x) => x.liveBefore.p50))} / ${ms(median(r.rounds, (x) => x.liveDuring.p50))}`],
            ['live max before / during', `${ms(median(r.rounds, (x) => x.liveBefore.max))} / ${ms(median(r.rounds, (x) => x.liveDuring.max))}`],
          ],
    });
  }
  if (results.resume) {
    const r = results.resume;
    out.push({
      title: `Resume (edgeroom): reconnect after ${int(results.meta.plan.resume.missed)} missed appends, ms, median (min–max)`,
      header: ['metric', 'value'],
      rows: [
        ['reconnect → caught up', medianRange(values(r, (x) => x.caughtUpMs), ms)],
        ['of which the socket open', medianRange(values(r, (x) => x.connectMs), ms)],
      ],
    });
  }
  if (results.sizes) {
    out.push({
      title: 'Client size: esbuild --bundle --minify --format=esm, gzip -9, bytes',
      header: ['client', 'minified', 'min+gzip'],
      rows: Object.values(results.sizes).map((s) => (s.error ? [s.label, s.error, '—'] : [s.label, int(s.minified), int(s.gzipped)])),
    });
  }
  return out;
}

/**
 * @param {string} name
 * @param {number} measured
 * @param {number} limit
 * @param {'>=' | '<=' | '<'} op
 * @param {string} shown
 */
function verdict(name, measured, limit, op, shown) {
  const known = Number.isFinite(measured) && Number.isFinite(limit);
  const pass = !known ? null : op === '>=' ? measured >= limit : op === '<=' ? measured <= limit : measured < limit;
  return { name, shown, pass };
}

/** @param {any} results */
export function targets(results) {
  const out = [];
  const fanout = results.fanout ?? {};
  const rate = (/** @type {string} */ n, /** @type {string} */ id) => median(fanout[n]?.[id], (r) => r.deliveriesPerSecond);
  const ratio = (/** @type {number} */ a, /** @type {number} */ b) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '—');
  for (const n of Object.keys(fanout).sort((a, b) => Number(a) - Number(b))) {
    const relay = rate(n, 'edgeroom-relay');
    const append = rate(n, 'edgeroom-append');
    const party = rate(n, 'partyserver');
    const raw = rate(n, 'raw');
    out.push(verdict(`N=${n}: relay fan-out ≥ partyserver`, relay, party, '>=', `${int(relay)} vs ${int(party)} (${ratio(relay, party)})`));
    out.push(verdict(`N=${n}: relay fan-out ≥ 0.5× raw`, relay, 0.5 * raw, '>=', `${int(relay)} vs ${int(raw)} (${ratio(relay, raw)})`));
    out.push(verdict(`N=${n}: append fan-out ≥ 0.8× partyserver`, append, 0.8 * party, '>=', `${int(append)} vs ${int(party)} (${ratio(append, party)})`));
  }
  if (results.latency) {
    const mine = median(results.latency['edgeroom-relay'], (r) => r.latency.p99);
    const theirs = median(results.latency.partyserver, (r) => r.latency.p99);
    out.push(verdict('low-rate p99 (relay) ≤ partyserver', mine, theirs, '<=', `${ms(mine)} ms vs ${ms(theirs)} ms`));
  }
  if (results.replay) {
    const replay = results.replay.error ? NaN : median(results.replay.rounds, (r) => r.replayMs);
    out.push(verdict(`replay of ${int(results.meta.plan.replay.entries)} entries < ${REPLAY_TARGET_MS} ms`, replay, REPLAY_TARGET_MS, '<', `${ms(replay)} ms`));
  }
  if (results.sizes) {
    const size = results.sizes.edgeroom?.gzipped ?? NaN;
    out.push(verdict(`core client ≤ ${CLIENT_BUDGET_BYTES} B min+gzip`, size, CLIENT_BUDGET_BYTES, '<=', `${int(size)} B`));
  }
  return out;
}

/** @param {ReturnType<typeof targets>} verdicts @returns {Table} */
export function targetTable(verdicts) {
  return {
    title: 'Targets (issue 5), medians of this run',
    header: ['target', 'measured', 'result'],
    rows: verdicts.map((v) => [v.name, v.shown, v.pass === null ? 'n/a' : v.pass ? 'PASS' : 'FAIL']),
  };
}
