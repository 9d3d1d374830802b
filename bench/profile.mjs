/**
 * CPU profile of a workerd contender under fan-out load, through the V8
 * inspector that wrangler exposes. Prints the functions with the most self
 * time and the most inclusive time, and saves the .cpuprofile (open it in
 * Chrome DevTools) under bench/results/.
 *
 *   node bench/profile.mjs [--target=edgeroom|partyserver] [--action=relay|append]
 *                          [--subscribers=10] [--seconds=5] [--workload=fanout|connect] [--hello[=no-roster]]
 *
 * Run it with `npx node …` so Node 24 is used. The inspector slows workerd a
 * little; use it to find where time goes, not for throughput figures.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_VARS, EDGEROOM_CONFIG, edgeroomContender } from './contenders/edgeroom.mjs';
import { PARTYSERVER_CONFIG } from './contenders/partyserver.mjs';
import { forwardingRoom, randomRoomName } from './contenders/contender.mjs';
import { setLocalObservability } from './contenders/workerd.mjs';
import { fanout } from './workloads/fanout.mjs';
import { connectStorm } from './workloads/connect.mjs';
import { devtools } from './load/lib/inspect.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => /^--([a-z]+)(?:=(.*))?$/.exec(a)?.slice(1) ?? [a, '']),
);
const target = args.target ?? 'edgeroom';
const action = args.action === 'append' ? 'append' : 'relay';
const subscribers = Number(args.subscribers ?? 10);
const seconds = Number(args.seconds ?? 5);
const workload = args.workload === 'connect' ? 'connect' : 'fanout';
setLocalObservability(false);

const { unstable_startWorker } = await import('wrangler');
const persist = mkdtempSync(join(tmpdir(), 'edgeroom-profile-'));
const worker = await unstable_startWorker({
  config: target === 'partyserver' ? PARTYSERVER_CONFIG : EDGEROOM_CONFIG,
  bindings:
    target === 'partyserver'
      ? {}
      : Object.fromEntries(Object.entries(BENCH_VARS).map(([k, v]) => [k, { type: 'plain_text', value: v }])),
  dev: {
    server: { hostname: '127.0.0.1', port: 0 },
    inspector: { hostname: '127.0.0.1', port: 0 },
    persist,
    logLevel: 'warn',
    watch: false,
  },
});

try {
  const origin = (await worker.url).origin;
  const inspector = await worker.inspectorUrl;
  if (!inspector) throw new Error('wrangler gave no inspector URL');
  /** @type {import('./contenders/contender.mjs').Contender} */
  const contender =
    target === 'partyserver'
      ? {
          id: 'partyserver',
          label: 'partyserver',
          action: 'relay',
          openRoom: async () =>
            forwardingRoom(`${origin.replace(/^http/, 'ws')}/parties/bench-room/${randomRoomName()}`),
        }
      : edgeroomContender(origin, action, 'edgeroom', args.hello === 'no-roster' ? 'no-roster' : 'hello' in args);
  // Warm up the JIT before sampling.
  await fanout(contender, { subscribers, window: Math.ceil(1000 / subscribers), warmupMs: 0, measureMs: 1000 });

  const cdp = await devtools(`ws://${inspector.host}/ws`);
  await cdp.call('Profiler.enable');
  await cdp.call('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.call('Profiler.start');
  if (workload === 'connect') {
    const result = await connectStorm(contender, { sockets: subscribers });
    console.log(
      `${contender.label}: ${subscribers} sockets open in ${result.connectMs.toFixed(0)} ms under the profiler`,
    );
  } else {
    const result = await fanout(contender, {
      subscribers,
      window: Math.ceil(1000 / subscribers),
      warmupMs: 0,
      measureMs: seconds * 1000,
    });
    console.log(
      `${contender.label}, N = ${subscribers}: ${Math.round(result.deliveriesPerSecond)} deliveries/s under the profiler`,
    );
  }
  const { profile } = /** @type {{ profile: CpuProfile }} */ (await cdp.call('Profiler.stop'));
  cdp.close();

  report(profile);
  const out = fileURLToPath(
    new URL(
      `./results/profile-${workload}-${contender.id}-n${subscribers}-${Date.now()}.cpuprofile.json`,
      import.meta.url,
    ),
  );
  mkdirSync(fileURLToPath(new URL('./results', import.meta.url)), { recursive: true });
  writeFileSync(out, JSON.stringify(profile));
  console.log(`\nprofile: ${out}`);
} finally {
  await worker.dispose();
  rmSync(persist, { recursive: true, force: true });
}

/**
 * @typedef {{ id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }} ProfileNode
 * @typedef {{ nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }} CpuProfile
 */

/** @param {CpuProfile} profile */
function report(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  /** @type {Map<number, number>} */
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  /** @type {Map<number, number>} */
  const selfUs = new Map();
  profile.samples.forEach((node, k) => selfUs.set(node, (selfUs.get(node) ?? 0) + (profile.timeDeltas[k] ?? 0)));
  const total = profile.endTime - profile.startTime;
  const name = (/** @type {ProfileNode} */ n) => {
    const f = n.callFrame;
    const file = f.url ? f.url.split('/').slice(-2).join('/') : '';
    return `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
  };
  /** @type {Map<string, number>} */
  const self = new Map();
  /** @type {Map<string, number>} */
  const inclusive = new Map();
  for (const [nodeId, us] of selfUs) {
    const node = /** @type {ProfileNode} */ (byId.get(nodeId));
    self.set(name(node), (self.get(name(node)) ?? 0) + us);
    const seen = new Set();
    for (let at = /** @type {number | undefined} */ (nodeId); at !== undefined; at = parent.get(at)) {
      const label = name(/** @type {ProfileNode} */ (byId.get(at)));
      if (seen.has(label)) continue;
      seen.add(label);
      inclusive.set(label, (inclusive.get(label) ?? 0) + us);
    }
  }
  const top = (/** @type {Map<string, number>} */ m, /** @type {string} */ title) => {
    console.log(`\n${title} (% of ${(total / 1e6).toFixed(1)} s wall time)`);
    for (const [label, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, 25))
      console.log(`${((100 * us) / total).toFixed(1).padStart(6)}%  ${label}`);
  };
  top(self, 'self time');
  top(inclusive, 'inclusive time');
}
