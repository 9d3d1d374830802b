/**
 * Where a fanned-out room's CPU goes: the hot-room run (bench/load/lib/hot-room.mjs)
 * under the V8 sampling profiler, each sample charged to the root (class Room
 * and its LeafLinks), to the leaves (class RoomLeaf and its helpers), or to
 * neither (the runtime, garbage collection, the Worker's router). Every
 * object runs in one isolate here, so the profiler is what tells them apart.
 *
 *   npx node bench/profile-hot-room.mjs [--leaves=4] [--subscribers=400] [--publishes=200] [--rate=50]
 *
 * A sample is charged to the innermost frame on its stack that lies inside
 * one of those classes in the bundle workerd runs, so shared code (Connection,
 * the codec, JSON) counts for the object that called it. The profiler slows
 * workerd a little; use the split, not the absolute times.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { options, start } from './load/lib/cli.mjs';
import { describeHotRoom, hotRoom } from './load/lib/hot-room.mjs';
import { devtools } from './load/lib/inspect.mjs';
import { LOAD_VARS, startInspectedServer } from './load/lib/server.mjs';

/** Classes whose code runs on the root, and on a leaf (worker/room.ts, leaf-links.ts; leaf*.ts, tail-cache.ts). */
const SIDES = /** @type {const} */ ({
  root: ['Room', 'LeafLinks'],
  leaf: ['RoomLeaf', 'LeafDirect', 'LeafHello', 'LeafOutbox', 'TailCache'],
});

// The same config, not minified, so the bundle keeps its class names (written beside wrangler.toml,
// whose relative paths it shares, and removed at the end).
const PLAIN_CONFIG = 'wrangler.profile-hot-room.toml';
writeFileSync(PLAIN_CONFIG, readFileSync('wrangler.toml', 'utf8').replace(/^minify = true$/m, 'minify = false'));
process.on('exit', () => rmSync(PLAIN_CONFIG, { force: true }));

const opts = options({ leaves: 4, subscribers: 400, publishes: 200, rate: 50 });
const log = start('profile-hot-room');

/** @type {Awaited<ReturnType<typeof devtools>> | undefined} */
let cdp;
/** @type {any} */
let profile;
let bundle = '';
/** The script workerd runs, as the profile names it. */
const BUNDLE_URL = 'index.js';

/**
 * The bundle wrangler built for this server, while it runs: the one under
 * .wrangler/tmp/ that is not minified (other servers on this machine minify).
 */
function findBundle() {
  const tmp = '.wrangler/tmp';
  for (const dir of readdirSync(tmp).filter((d) => d.startsWith('dev-'))) {
    const path = join(tmp, dir, BUNDLE_URL);
    if (!existsSync(path)) continue;
    const text = readFileSync(path, 'utf8');
    if (/^var RoomLeaf\d* = class\b/m.test(text)) return text;
  }
  throw new Error('found no unminified bundle under .wrangler/tmp');
}
const result = await hotRoom(opts, {
  start: () => startInspectedServer(LOAD_VARS, PLAIN_CONFIG),
  async beforePublishes(server) {
    if (!server.inspector) throw new Error('wrangler gave no inspector URL');
    cdp = await devtools(server.inspector);
    process.on('exit', () => cdp?.close());
    await cdp.call('Profiler.enable');
    await cdp.call('Profiler.setSamplingInterval', { interval: 200 });
    await cdp.call('Profiler.start');
  },
  async afterDeliveries() {
    if (!cdp) return;
    profile = (await cdp.call('Profiler.stop')).profile;
    bundle = findBundle();
  },
});
log(describeHotRoom(result));
if (!cdp || !profile) throw new Error('no profile');

const lines = bundle.split('\n');
/**
 * Line ranges of each class in the bundle: esbuild writes `var Name = class … {` at
 * the start of a line and closes it with `};` at the start of a line.
 * @type {{ side: 'root' | 'leaf', from: number, to: number, name: string }[]}
 */
const ranges = [];
for (const [side, names] of Object.entries(SIDES)) {
  for (const name of names) {
    const from = lines.findIndex((l) => new RegExp(`^var ${name}\\d* = class\\b`).test(l));
    if (from < 0) continue;
    const to = lines.findIndex((l, i) => i > from && /^};/.test(l));
    ranges.push({ side: /** @type {'root' | 'leaf'} */ (side), from, to: to < 0 ? lines.length : to, name });
  }
}
log(
  `classes found in the bundle: ${ranges.map((r) => `${r.name} (${r.side}, lines ${r.from + 1}–${r.to + 1})`).join(', ')}`,
);
const missing = Object.values(SIDES)
  .flat()
  .filter((n) => !ranges.some((r) => r.name === n));
if (missing.length) log(`not found (their time counts for whoever called them): ${missing.join(', ')}`);

/** @type {Map<number, any>} */
const byId = new Map(profile.nodes.map((/** @type {any} */ n) => [n.id, n]));
/** @type {Map<number, number>} */
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
/** @param {any} node @returns {'root' | 'leaf' | undefined} */
const sideOf = (node) => {
  const f = node.callFrame;
  return ranges.find((r) => f.url === BUNDLE_URL && f.lineNumber >= r.from && f.lineNumber <= r.to)?.side;
};
/** Self time of the samples charged to neither side, by function. @type {Map<string, number>} */
const otherTop = new Map();
/** Microseconds of samples, by where they were charged. */
const spent = { root: 0, leaf: 0, idle: 0, gc: 0, other: 0 };
profile.samples.forEach((/** @type {number} */ id, /** @type {number} */ k) => {
  const us = profile.timeDeltas[k] ?? 0;
  const name = byId.get(id)?.callFrame.functionName;
  if (name === '(idle)') return void (spent.idle += us);
  if (name === '(garbage collector)') return void (spent.gc += us);
  for (let at = /** @type {number | undefined} */ (id); at !== undefined; at = parent.get(at)) {
    const side = sideOf(byId.get(at));
    if (side) return void (spent[side] += us);
  }
  spent.other += us;
  const f = byId.get(id)?.callFrame;
  const label = `${f?.functionName || '(anonymous)'} ${f?.url ?? ''}:${(f?.lineNumber ?? 0) + 1}`;
  otherTop.set(label, (otherTop.get(label) ?? 0) + us);
});
const busy = spent.root + spent.leaf + spent.gc + spent.other;
const deliveries = result.subscribers * result.publishes;
const row = (/** @type {'root' | 'leaf' | 'gc' | 'other'} */ k) =>
  `${k} ${(spent[k] / 1e6).toFixed(2)} s (${((100 * spent[k]) / busy).toFixed(0)}% of busy, ${(spent[k] / opts.publishes).toFixed(0)} µs per publish, ${(spent[k] / deliveries).toFixed(2)} µs per delivery)`;
log(
  `busy samples: ${/** @type {const} */ (['root', 'leaf', 'gc', 'other']).map(row).join('; ')}; idle ${(spent.idle / 1e6).toFixed(2)} s`,
);
log(
  `most of "other": ${[...otherTop]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([label, us]) => `${label} ${((100 * us) / busy).toFixed(1)}%`)
    .join(', ')}`,
);
process.exit(0);
