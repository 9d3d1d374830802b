// @ts-check
/**
 * `npm run soak`: the long versions of the load checks, one process each, one
 * after another (they would skew each other's figures), then a summary:
 *
 * 1. many-sockets.mjs: 1,000 sockets in one room and 10 rooms × 100, plain and hello+sub;
 * 2. reconnect-storm.mjs: 1,000 clients, with the per-address limits off, then on;
 * 3. presence.mjs and slow-consumer.mjs, when they exist (written apart from these);
 * 4. churn.mjs: 6,000 sockets opened and closed, memory read as they go;
 * 5. soak.mjs: the 10-minute mixed load.
 *
 *   npm run soak [-- --minutes=10] [-- --only=many,storm,presence,slow,churn,soak]
 *
 * Each step prints its own progress; its `summary:` lines are collected for the end.
 * Exits 1 if any step failed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { options } from './lib/cli.mjs';

const opts = options({ minutes: 10, only: 'many,storm,presence,slow,churn,soak' });
const only = new Set(opts.only.split(','));
const here = (/** @type {string} */ file) => fileURLToPath(new URL(file, import.meta.url));

/** @type {[name: string, script: string, args: string[]][]} */
const steps = [
  ['many', 'many-sockets.mjs', ['--sockets=1000', '--rooms=10']],
  ['storm', 'reconnect-storm.mjs', ['--clients=1000', '--address-limits=both']],
  ['presence', 'presence.mjs', []],
  ['slow', 'slow-consumer.mjs', []],
  ['churn', 'churn.mjs', []],
  ['soak', 'soak.mjs', [`--minutes=${opts.minutes}`]],
];

/** @type {string[]} */
const report = [];
let failed = false;
const started = performance.now();
for (const [name, script, args] of steps) {
  if (!only.has(name)) continue;
  if (!existsSync(here(script))) {
    report.push(`${script}: not present, skipped`);
    continue;
  }
  const at = performance.now();
  console.log(`\n=== ${script} ${args.join(' ')}`);
  /** @type {string[]} */
  const summaries = [];
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [here(script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let partial = '';
    child.stdout.on('data', (/** @type {Buffer} */ chunk) => {
      process.stdout.write(chunk);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('summary: ')) summaries.push(line.slice('summary: '.length));
    });
    child.on('close', (exit) => resolve(exit));
  });
  if (code !== 0) failed = true;
  report.push(
    `${script} ${args.join(' ')}: ${code === 0 ? 'passed' : `FAILED (exit ${code})`} in ${((performance.now() - at) / 1000).toFixed(0)} s`,
    ...summaries.map((line) => `  ${line}`),
  );
}
console.log(`\n=== summary (${((performance.now() - started) / 60_000).toFixed(1)} min)\n${report.join('\n')}`);
process.exit(failed ? 1 : 0);
