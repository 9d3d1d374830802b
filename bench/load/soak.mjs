// @ts-check
/**
 * The soak: a mixed load for 10 minutes (lib/soak.mjs, lib/soak-room.mjs): 6 rooms of 50 of
 * our clients and 3 plain sockets; relays, appends, key/value sets, presence updates and dms;
 * members leaving and joining, cut off and resuming, resubscribing; a compaction every minute.
 * Reports the room process's memory every minute, then checks every stream for loss and
 * duplicates and that everyone holds what is stored.
 *
 *   npx node bench/load/soak.mjs [--minutes=10] [--rooms=6] [--members=50] [--ops=20] [--churn=1] [--seed=N]
 *                                [--mix=all|relays|appends|none] [--compact=60] [--report=60] [--inspect=1 [--objects=1]]
 *
 * --mix: what each op is (the mixed load, or one kind only); --compact: seconds between compactions
 * (0: none); --report: seconds between memory reports. Every report gives the room process's resident
 * memory, its anonymous part, and the size of the rooms' SQLite files on disk. --inspect=1: also the
 * worker isolate's JavaScript heap through wrangler's inspector, as committed and as live after a full
 * GC (it slows workerd a little); --objects=1: also a heap snapshot at the start and after everyone
 * closed, naming the objects that grew in number (the snapshot costs the process about 120 MiB of
 * resident memory, which it keeps).
 *
 * Exits 1 on any problem.
 */
import { describeSoak, soak } from './lib/soak.mjs';
import { options, start, summary } from './lib/cli.mjs';

const opts = options({
  minutes: 10,
  rooms: 6,
  members: 50,
  ops: 20,
  churn: 1,
  seed: -1,
  mix: 'all',
  compact: 60,
  report: 60,
  inspect: 0,
  objects: 0,
});
if (!['all', 'relays', 'appends', 'none'].includes(opts.mix))
  throw new Error('--mix takes all, relays, appends or none');
const thirds = (opts.minutes * 60_000) / 3;
const log = start('soak');
try {
  const r = await soak({
    durationMs: opts.minutes * 60_000,
    rooms: opts.rooms,
    members: opts.members,
    opsPerSecond: opts.ops,
    churnPerSecond: opts.churn,
    seed: opts.seed >= 0 ? opts.seed : undefined,
    mix: /** @type {import('./lib/soak-room.mjs').Mix} */ (opts.mix),
    inspect: opts.inspect > 0,
    objects: opts.objects > 0,
    compactEveryMs: Math.min(opts.compact * 1000, thirds),
    reportEveryMs: Math.min(opts.report * 1000, thirds),
    log,
  });
  log(describeSoak(r));
  for (const p of r.problems) log(`  problem: ${p}`);
  summary(
    `soak ${opts.minutes} min, ${r.sockets} sockets: ${r.problems.length} problems; memory start ${r.start.toFixed(0)} → end ` +
      `${r.end.toFixed(0)} MiB (${r.afterClose.toFixed(0)} after closing); ${r.tally.appends} appends, ${r.tally.joins} joins, ${r.tally.cuts} cuts`,
  );
  process.exit(r.problems.length ? 1 : 0);
} catch (error) {
  log(`FAILED: ${error instanceof Error ? error.stack : error}`);
  summary(`soak: FAILED ${error}`);
  process.exit(1);
}
