// @ts-check
/**
 * Many sockets: 1,000 sockets in one room, and 10 rooms × 100, plain
 * (DriftDB-style) and hello+sub, each against a freshly started server so its
 * memory figures start clean. Every socket must receive every broadcast exactly
 * once, in order; prints the room process's memory per 1,000 sockets.
 *
 *   npx node bench/load/many-sockets.mjs [--sockets=1000] [--rooms=10] [--broadcasts=20] [--parallel=50]
 *
 * Exits 1 if any delivery check failed. Limits: LOAD_VARS (lib/server.mjs).
 */
import { describeMany, manySockets } from './lib/many.mjs';
import { options, start, summary } from './lib/cli.mjs';
import { LOAD_VARS, startServer } from './lib/server.mjs';

const opts = options({ sockets: 1000, rooms: 10, broadcasts: 20, parallel: 50 });
const log = start('many-sockets');
let failed = false;
/** @type {Record<string, number>} */
const perThousand = {};
for (const [rooms, hello] of /** @type {const} */ ([
  [1, false],
  [1, true],
  [opts.rooms, false],
  [opts.rooms, true],
])) {
  const server = await startServer(LOAD_VARS);
  try {
    const r = await manySockets(server, {
      rooms,
      perRoom: Math.floor(opts.sockets / rooms),
      hello,
      broadcasts: opts.broadcasts,
      parallel: opts.parallel,
      log,
    });
    log(describeMany(r));
    for (const p of r.problems) log(`  problem: ${p}`);
    if (r.problems.length || r.exact !== r.sockets) failed = true;
    if (rooms === 1) perThousand[r.kind] = r.perThousand;
    summary(
      `many-sockets ${r.label}: ${r.exact}/${r.sockets} exact, ${r.problems.length} problems, ` +
        `${r.perThousand.toFixed(0)} MiB per 1,000 (${r.rss.before.toFixed(0)} → ${r.rss.open.toFixed(0)} → closed ${r.rss.closed.toFixed(0)} MiB), ` +
        `open ${(r.openMs / 1000).toFixed(1)} s, delivered ${r.deliverMs.toFixed(0)} ms`,
    );
  } catch (error) {
    failed = true;
    log(`FAILED: ${error instanceof Error ? error.stack : error}`);
    summary(`many-sockets ${rooms} room(s) ${hello ? 'hello' : 'plain'}: FAILED ${error}`);
  } finally {
    await server.stop();
  }
}
log(
  `memory per 1,000 sockets in one room: plain ${perThousand.plain?.toFixed(0) ?? '?'} MiB, hello+sub ${perThousand['hello+sub']?.toFixed(0) ?? '?'} MiB`,
);
process.exit(failed ? 1 : 0);
