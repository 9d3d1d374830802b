// @ts-check
/**
 * Reconnect storm: 1,000 of our clients, each on 3 streams, lose their server,
 * which restarts on the same port and state while 100 values are appended; how
 * long until every client has caught up, and how our client's jittered backoff
 * spreads its reconnects (lib/storm.mjs says how "while they are away" is made to hold).
 *
 *   npx node bench/load/reconnect-storm.mjs [--clients=1000] [--missed=100] [--seed=N] [--address-limits=off|on|both]
 *
 * The per-address limits are off for the main figure: every client here comes from one
 * address, and the connect limiter (120 per 10 s) would hold 1,000 of them back for over a
 * minute. `--address-limits=on` restarts with them on and shows what that does; `both`
 * runs both. Exits 1 if any client does not end with exactly the stored values.
 */
import { describeStorm, reconnectStorm } from './lib/storm.mjs';
import { options, start, summary } from './lib/cli.mjs';

const opts = options({ clients: 1000, missed: 100, seed: -1, 'address-limits': 'off' });
const log = start('reconnect-storm');
const modes = { off: [false], on: [true], both: [false, true] }[opts['address-limits']];
if (!modes) throw new Error('--address-limits takes off, on or both');
let failed = false;
for (const addressLimits of modes) {
  try {
    const r = await reconnectStorm({
      clients: opts.clients,
      missed: opts.missed,
      addressLimits,
      log,
      seed: opts.seed >= 0 ? opts.seed : undefined,
      // The connect limiter lets 12 a second through after a burst of 40, and a refused client waits 5 s or more.
      timeoutMs: addressLimits ? 60_000 + opts.clients * 250 : 60_000,
    });
    log(describeStorm(r));
    for (const p of r.problems) log(`  problem: ${p}`);
    if (r.problems.length || r.exact !== r.clients) failed = true;
    summary(
      `reconnect-storm ${r.clients} clients, address limits ${addressLimits ? 'on' : 'off'}: ${r.exact}/${r.clients} exact, ` +
        `${r.problems.length} problems; all caught up ${(r.allCaughtUpMs / 1000).toFixed(2)} s after the restart ` +
        `(p50 ${(r.catchUpP50 / 1000).toFixed(2)} s, p99 ${(r.catchUpP99 / 1000).toFixed(2)} s), ${r.dials} dials (${r.dialsRefused} refused)`,
    );
  } catch (error) {
    failed = true;
    log(`FAILED: ${error instanceof Error ? error.stack : error}`);
    summary(`reconnect-storm address limits ${addressLimits ? 'on' : 'off'}: FAILED ${error}`);
  }
}
process.exit(failed ? 1 : 0);
