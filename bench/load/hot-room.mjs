// @ts-check
/**
 * One hot room (docs/hot-rooms.md): N subscribers and one publisher, in a room
 * of one object (K = 1) and in a fanned-out room (K = 4 leaves by default),
 * side by side in one run, each against a freshly started server. Every
 * subscriber must receive every publish exactly once, in order; prints
 * deliveries per second and latency percentiles (publish to receipt).
 *
 *   npx node bench/load/hot-room.mjs [--subscribers=2000] [--publishes=200] [--rate=50] [--leaves=4] [--parallel=50]
 *
 * On one machine every object shares one workerd process (and its cores), so
 * the ratio here is not the production ratio: see docs/hot-rooms.md. Exits 1
 * if any delivery check failed.
 */
import { options, start, summary } from './lib/cli.mjs';
import { RawSocket } from './lib/raw.mjs';
import { LOAD_VARS, startServer } from './lib/server.mjs';
import { lanes, until } from './lib/wait.mjs';

const opts = options({ subscribers: 2000, publishes: 200, rate: 50, leaves: 4, parallel: 50 });
const log = start('hot-room');

/**
 * @param {string} origin
 * @param {number} leaves 1 for a room of one object
 */
async function newRoom(origin, leaves) {
  const res = await fetch(`${origin}/new`, {
    method: 'POST',
    ...(leaves > 1 ? { body: JSON.stringify({ leaves }) } : {}),
  });
  if (!res.ok) throw new Error(`POST /new: ${res.status} ${await res.text()}`);
  return /** @type {{ socket_url: string }} */ (await res.json()).socket_url;
}

/** @param {number[]} sorted @param {number} p */
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** @param {number} leaves */
async function run(leaves) {
  const server = await startServer(LOAD_VARS);
  /** @type {RawSocket[]} */
  const sockets = [];
  try {
    const url = await newRoom(server.url, leaves);
    /** @type {number[][]} */
    const seen = [];
    /** @type {number[]} */
    const latencies = [];
    let lastAt = 0;
    const openStart = performance.now();
    await lanes(opts.subscribers, opts.parallel, async (i) => {
      const got = (seen[i] = /** @type {number[]} */ ([]));
      const s = new RawSocket(url, (m) => {
        if (m.type !== 'push' || m.key !== 'feed') return;
        got.push(m.value.i);
        latencies.push(Date.now() - m.value.t);
        lastAt = performance.now();
      });
      sockets.push(s);
      await s.opened;
      s.send({ type: 'hello', protocol: 1 });
      s.send({ type: 'sub', key: 'feed', replay: false });
      await s.ping();
    });
    const openMs = performance.now() - openStart;
    const publisher = new RawSocket(url);
    sockets.push(publisher);
    await publisher.opened;
    publisher.send({ type: 'hello', protocol: 1 });
    await publisher.ping();
    const first = performance.now();
    for (let i = 0; i < opts.publishes; i++) {
      publisher.send({ type: 'push', key: 'feed', value: { i, t: Date.now() }, action: { type: 'relay' } });
      await new Promise((resolve) => setTimeout(resolve, 1000 / opts.rate));
    }
    const expected = opts.subscribers * opts.publishes;
    await until(
      () => latencies.length >= expected,
      120_000,
      () => `${expected} deliveries (got ${latencies.length})`,
    );
    const exact = seen.filter((got) => got.length === opts.publishes && got.every((v, j) => v === j)).length;
    const errors = sockets.reduce((n, s) => n + s.errors.length, 0);
    latencies.sort((a, b) => a - b);
    return {
      leaves,
      openMs,
      exact,
      errors,
      deliveriesPerSecond: expected / ((lastAt - first) / 1000),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? NaN,
    };
  } finally {
    await Promise.all(sockets.map((s) => s.close()));
    await server.stop();
  }
}

let failed = false;
const results = [];
for (const leaves of [1, opts.leaves]) {
  const r = await run(leaves);
  results.push(r);
  if (r.exact !== opts.subscribers || r.errors) failed = true;
  log(
    `K=${r.leaves}: ${r.exact}/${opts.subscribers} exact, ${r.errors} errors, opened in ${(r.openMs / 1000).toFixed(1)} s, ` +
      `${r.deliveriesPerSecond.toFixed(0)} deliveries/s, latency p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms`,
  );
}
const [one, fanned] = results;
if (one && fanned) {
  summary(
    `hot-room ${opts.subscribers} subscribers × ${opts.publishes} publishes at ${opts.rate}/s: ` +
      `K=1 ${one.deliveriesPerSecond.toFixed(0)}/s p99 ${one.p99} ms; K=${fanned.leaves} ${fanned.deliveriesPerSecond.toFixed(0)}/s p99 ${fanned.p99} ms ` +
      `(one machine: not the production ratio)`,
  );
}
process.exit(failed ? 1 : 0);
