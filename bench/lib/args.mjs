/**
 * Command-line options of `npm run bench`:
 *   --quick            smoke run: one round, shorter and smaller workloads; writes no report
 *   --rounds=N         rounds per workload (default 6)
 *   --only=a,b         workloads: fanout, latency, connect, replay, resume, size, hot-room
 *   --observability    run workerd with wrangler's local observability on (default off)
 *   --write / --no-write  write BENCHMARKS.md and bench/fanout.svg (default: on unless --quick)
 *   --from=FILE        measure nothing: render the tables and reports from a saved bench/results/*.json
 */
export const WORKLOADS = ['fanout', 'latency', 'connect', 'replay', 'resume', 'size', 'hot-room'];

/** @param {string[]} argv */
export function parseArgs(argv) {
  const flags = new Map();
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match?.[1]) throw new Error(`unknown argument ${arg}`);
    flags.set(match[1], match[2] ?? true);
  }
  const known = new Set(['quick', 'rounds', 'only', 'observability', 'write', 'no-write', 'from']);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown option --${name}`);
  const quick = flags.has('quick');
  const rounds = flags.has('rounds') ? Number(flags.get('rounds')) : quick ? 1 : 6;
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error('--rounds must be 1..20');
  const only = flags.has('only') ? String(flags.get('only')).split(',') : WORKLOADS;
  for (const name of only) if (!WORKLOADS.includes(name)) throw new Error(`unknown workload ${name}`);
  const write = flags.has('no-write') ? false : flags.has('write') || !quick;
  const from = flags.has('from') ? String(flags.get('from')) : undefined;
  return { quick, rounds, only: new Set(only), observability: flags.has('observability'), write, from };
}

/** Workload sizes; the quick ones only prove the harness works end to end. */
export function plan(/** @type {boolean} */ quick) {
  return {
    fanout: {
      subscribers: quick ? [10, 100] : [10, 100, 500],
      // Deliveries in flight; the message window is this divided by N.
      inFlightDeliveries: 1000,
      warmupMs: 300,
      measureMs: quick ? 1000 : 2000,
    },
    latency: { subscribers: 10, rate: 100, warmupMs: 500, measureMs: quick ? 1500 : 4000 },
    connect: { sockets: quick ? 100 : 500 },
    replay: { entries: 10_000, liveSubscribers: 10, liveRate: 200, baselineMs: quick ? 300 : 1000 },
    resume: { missed: 1000 },
    // One room of one object against a fanned-out one (docs/hot-rooms.md), each on a fresh
    // server per round; the offered load (subscribers × rate) is fixed, so CPU per delivery compares.
    hotRoom: {
      subscribers: quick ? 200 : 2000,
      publishes: quick ? 40 : 200,
      rate: 50,
      leaves: [1, 4],
      // A full-size round opens 2,000 sockets twice (about 20 s here): three rounds are enough for a range.
      maxRounds: 3,
    },
  };
}
