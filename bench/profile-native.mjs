/**
 * Where a workerd contender's CPU goes under fan-out load, below JavaScript:
 * samples the room's workerd process with Linux `perf` and sorts the samples
 * into layers (JIT-compiled JavaScript, V8, workerd's API bindings, KJ I/O,
 * the kernel, the allocator). Also prints how busy each process was: the
 * room's workerd, wrangler's dev proxy (a second workerd process that every
 * frame passes through) and this load generator.
 *
 *   npx node bench/profile-native.mjs [--target=edgeroom|partyserver] [--action=relay|append]
 *                                     [--hello[=no-roster]] [--subscribers=500] [--seconds=4] [--keep]
 *                                     [--workload=fanout|connect]
 *
 * `--workload=connect` samples connect storms instead (bench/workloads/connect.mjs:
 * `subscribers` sockets opened at once, then closed), one after another until
 * the sampling ends; the closes are sampled too.
 *
 * Needs `perf` (Debian: apt-get install linux-perf). bench/profile.mjs shows
 * the JavaScript side through the V8 inspector instead.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_VARS, EDGEROOM_CONFIG, edgeroomContender } from './contenders/edgeroom.mjs';
import { PARTYSERVER_CONFIG } from './contenders/partyserver.mjs';
import { forwardingRoom, randomRoomName } from './contenders/contender.mjs';
import { setLocalObservability, startWorkerd } from './contenders/workerd.mjs';
import { connectStorm } from './workloads/connect.mjs';
import { openFanout } from './workloads/fanout.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => /^--([a-z]+)(?:=(.*))?$/.exec(a)?.slice(1) ?? [a, '']),
);
const target = args.target ?? 'edgeroom';
const action = args.action === 'append' ? 'append' : 'relay';
const subscribers = Number(args.subscribers ?? 500);
const seconds = Number(args.seconds ?? 4);
const workload = args.workload === 'connect' ? 'connect' : 'fanout';

try {
  execFileSync('perf', ['--version'], { stdio: 'ignore' });
} catch {
  console.error('profile-native: `perf` is not installed (Debian: apt-get install linux-perf)');
  process.exit(2);
}

/**
 * The layer a perf symbol belongs to, in the order they are printed: the first whose test takes the symbol's DSO and name.
 * @type {[string, (dso: string, sym: string) => boolean][]}
 */
const LAYERS = [
  ['JavaScript, JIT-compiled', (dso) => dso.startsWith('[JIT]')],
  ['kernel (sockets, syscalls)', (dso) => dso === '[kernel.kallsyms]'],
  ['V8 (interpreter, builtins, promises, GC)', (_dso, sym) => /^(v8::|Builtins_|Runtime_|cppgc::|heap::)/.test(sym)],
  ['workerd API bindings (WebSocket, jsg)', (_dso, sym) => /^workerd::(api|jsg)::/.test(sym)],
  [
    'KJ / tokio I/O, pipes and promises',
    (_dso, sym) => /^(kj::|kj_|<kj|<tokio|tokio::|workerd\$rust|<kj_hyper|capnp::)/.test(sym),
  ],
  ['allocator', (_dso, sym) => /tcmalloc|malloc|^free|^operator new|^operator delete/.test(sym)],
  ['other', () => true],
];

setLocalObservability(false);
const server =
  target === 'partyserver' ? await startWorkerd(PARTYSERVER_CONFIG) : await startWorkerd(EDGEROOM_CONFIG, BENCH_VARS);
const perfData = join(mkdtempSync(join(tmpdir(), 'edgeroom-perf-')), 'perf.data');
try {
  /** @type {import('./contenders/contender.mjs').Contender} */
  const contender =
    target === 'partyserver'
      ? {
          id: 'partyserver',
          label: 'partyserver',
          action: 'relay',
          openRoom: async () =>
            forwardingRoom(`${server.origin.replace(/^http/, 'ws')}/parties/bench-room/${randomRoomName()}`),
        }
      : edgeroomContender(
          server.origin,
          action,
          'edgeroom',
          args.hello === 'no-roster' ? 'no-roster' : 'hello' in args,
        );
  if (workload === 'connect') await profileConnect(contender);
  else await profileFanout(contender);
  report(perfData);
} finally {
  await server.stop();
  if ('keep' in args) console.log(`\nperf data kept: ${perfData} (perf report -i ${perfData})`);
  else rmSync(perfData, { force: true });
}

/** Samples the room's workerd for `seconds` with perf; resolves when perf has written its data. */
function record(/** @type {number} */ room) {
  const perf = spawn(
    'perf',
    ['record', '-q', '-F', '499', '-g', '-o', perfData, '-p', String(room), '--', 'sleep', String(seconds)],
    { stdio: 'ignore' },
  );
  return new Promise((resolve, reject) => {
    perf.once('exit', resolve);
    perf.once('error', reject);
  });
}

/** @param {import('./contenders/contender.mjs').Contender} contender */
async function profileConnect(contender) {
  const sizes = { sockets: subscribers };
  await connectStorm(contender, sizes); // JIT warm-up, and a room for telling the processes apart
  const { room, proxy } = workerdProcesses(new URL(server.origin).port);
  const before = { room: cpuTicks(room), proxy: cpuTicks(proxy), load: cpuTicks(process.pid) };
  const started = performance.now();
  let recording = true;
  const perfDone = record(room).finally(() => (recording = false));
  /** @type {number[]} */
  const connectMs = [];
  while (recording) connectMs.push((await connectStorm(contender, sizes)).connectMs);
  await perfDone;
  const elapsed = (performance.now() - started) / 1000;
  const busy = (/** @type {number} */ pid, /** @type {number} */ t0) =>
    `${Math.round(((cpuTicks(pid) - t0) / ticksPerSecond() / elapsed) * 100)}%`;
  console.log(
    `${contender.label}: ${connectMs.length} storms of ${subscribers} sockets, opened in ${connectMs.map((ms) => ms.toFixed(0)).join(', ')} ms`,
  );
  console.log(
    `busy, % of one core: room workerd ${busy(room, before.room)}, dev proxy workerd ${busy(proxy, before.proxy)}, load generator ${busy(process.pid, before.load)}`,
  );
}

/** @param {import('./contenders/contender.mjs').Contender} contender */
async function profileFanout(contender) {
  const window = Math.ceil(1000 / subscribers);
  const session = await openFanout(contender, { subscribers });
  try {
    const { room, proxy } = workerdProcesses(new URL(server.origin).port);
    await session.measure({ window, warmupMs: 0, measureMs: 1000 }); // JIT warm-up
    const before = { room: cpuTicks(room), proxy: cpuTicks(proxy), load: cpuTicks(process.pid) };
    const started = performance.now();
    const perfDone = record(room);
    const result = await session.measure({ window, warmupMs: 0, measureMs: seconds * 1000 });
    const elapsed = (performance.now() - started) / 1000;
    const busy = (/** @type {number} */ pid, /** @type {number} */ t0) =>
      `${Math.round(((cpuTicks(pid) - t0) / ticksPerSecond() / elapsed) * 100)}%`;
    console.log(
      `${contender.label}, N = ${subscribers}: ${Math.round(result.deliveriesPerSecond).toLocaleString('en-US')} deliveries/s`,
    );
    console.log(
      `busy, % of one core: room workerd ${busy(room, before.room)}, dev proxy workerd ${busy(proxy, before.proxy)}, load generator ${busy(process.pid, before.load)}`,
    );
    await perfDone;
  } finally {
    await session.close();
  }
}

/**
 * The room's workerd and wrangler's proxy. The proxy is the process that
 * listens on the public port; the room's is the other workerd started after it.
 */
function workerdProcesses(/** @type {string} */ publicPort) {
  const portHex = Number(publicPort).toString(16).toUpperCase().padStart(4, '0');
  const listening = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find((f) => f[1]?.endsWith(`:${portHex}`) && f[3] === '0A');
  const inode = listening?.[9];
  let room = 0;
  let proxy = 0;
  for (const pid of readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .sort((a, b) => a - b)) {
    let cmd;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmd.includes('workerd\0serve')) continue;
    if (
      inode &&
      readdirSync(`/proc/${pid}/fd`).some((fd) => safeReadlink(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`)
    )
      proxy = pid;
    else room = pid;
  }
  if (!room || !proxy) throw new Error(`could not find both workerd processes (room ${room}, proxy ${proxy})`);
  return { room, proxy };
}

function safeReadlink(/** @type {string} */ path) {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

function cpuTicks(/** @type {number} */ pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function ticksPerSecond() {
  return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
}

function report(/** @type {string} */ data) {
  const text = execFileSync(
    'perf',
    ['report', '-i', data, '--no-children', '--sort', 'dso,sym', '-g', 'none', '--stdio'],
    {
      maxBuffer: 64 << 20,
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  ).toString();
  /** @type {Map<string, number>} */
  const byLayer = new Map(LAYERS.map(([name]) => [name, 0]));
  /** @type {[number, string, string][]} */
  const rows = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([\d.]+)%\s+(\[JIT\] tid \d+|\S+)\s+\[[.k]\]\s+(.*)$/.exec(line);
    if (!m) continue;
    const [pct, dso, sym] = [Number(m[1]), /** @type {string} */ (m[2]), /** @type {string} */ (m[3]).trim()];
    rows.push([pct, dso, sym]);
    const [layer] = LAYERS.find(([, test]) => test(dso, sym)) ?? ['other']; // 'other' takes every symbol anyway
    byLayer.set(layer, (byLayer.get(layer) ?? 0) + pct);
  }
  console.log('\nroom workerd, share of samples by layer:');
  for (const [name, pct] of byLayer) console.log(`  ${pct.toFixed(1).padStart(5)}%  ${name}`);
  console.log('\ntop symbols (self):');
  for (const [pct, dso, sym] of rows.slice(0, 15))
    console.log(`  ${pct.toFixed(2).padStart(5)}%  ${sym.slice(0, 110)}  (${dso})`);
}
