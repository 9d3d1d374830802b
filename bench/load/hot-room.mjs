// @ts-check
/**
 * One hot room (docs/hot-rooms.md): N subscribers and one publisher, in a room
 * of one object (K = 1) and in a fanned-out room (K = 4 leaves by default),
 * side by side in one run, each against a freshly started server. Every
 * subscriber must receive every publish exactly once, in order; prints
 * deliveries per second, latency percentiles (publish to receipt) and the CPU
 * time of the room's workerd process (lib/hot-room.mjs, shared with
 * `npm run bench -- --only=hot-room`).
 *
 *   npx node bench/load/hot-room.mjs [--subscribers=2000] [--publishes=200] [--rate=50] [--leaves=4] [--parallel=50]
 *
 * `--leaves=1,4,8` runs each listed K in turn (K = 1 is always first).
 * On one machine every object shares one workerd process (and its cores), so
 * the ratio here is not the production ratio: see docs/hot-rooms.md. Exits 1
 * if any delivery check failed.
 */
import { options, start, summary } from './lib/cli.mjs';
import { describeHotRoom, hotRoom } from './lib/hot-room.mjs';

const opts = options({ subscribers: 2000, publishes: 200, rate: 50, leaves: '4', parallel: 50 });
const log = start('hot-room');
const ks = [...new Set([1, ...String(opts.leaves).split(',').map(Number)])];
if (!ks.every((k) => Number.isInteger(k) && k >= 1)) throw new Error('--leaves takes whole numbers, comma-separated');

let failed = false;
const results = [];
for (const leaves of ks) {
  const r = await hotRoom({ ...opts, leaves });
  results.push(r);
  if (r.exact !== opts.subscribers || r.errors) failed = true;
  log(describeHotRoom(r));
}
summary(
  `hot-room ${opts.subscribers} subscribers × ${opts.publishes} publishes at ${opts.rate}/s: ` +
    results
      .map(
        (r) =>
          `K=${r.leaves} ${r.deliveriesPerSecond.toFixed(0)}/s p99 ${r.latency.p99} ms ${r.cpuMicrosPerDelivery.toFixed(1)} µs CPU/delivery`,
      )
      .join('; ') +
    ' (one machine: not the production ratio)',
);
process.exit(failed ? 1 : 0);
