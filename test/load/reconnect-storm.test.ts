/**
 * Reconnect storm, the fast version of bench/load/reconnect-storm.mjs (same
 * code, bench/load/lib/storm.mjs, which says how "published while they are
 * away" is made to hold): 100 of our clients, each subscribed to 3 streams,
 * are cut off; 100 values are appended; the server restarts on the same port
 * and state; the clients come back on their own backoff. Every client must end
 * with exactly the stored values of each stream (read back over HTTP), none
 * missing, none twice, no reset. The catch-up times and the histogram of dials
 * are printed. STORM_SEED=<n> replays the clients' jitter.
 */
import { expect, it } from 'vitest';
import { describeStorm, reconnectStorm } from '../../bench/load/lib/storm.mjs';

it('100 clients cut off while 100 values are appended, then a restart: every client ends with exactly the stored values', async () => {
  const r = await reconnectStorm({
    clients: 100,
    missed: 100,
    seed: process.env.STORM_SEED ? Number(process.env.STORM_SEED) : undefined,
    timeoutMs: 30_000,
    log: (text) => console.log(text),
  });
  console.log(describeStorm(r));
  expect(r.problems).toEqual([]);
  expect(r.exact).toBe(100);
});
