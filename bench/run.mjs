/**
 * `npm run bench`: edgeroom, partyserver and a raw `ws` server, side by side
 * in one run on this machine. See lib/args.mjs for options and
 * BENCHMARKS.md for the latest results.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/args.mjs';
import { Progress } from './lib/progress.mjs';
import { runSuite } from './suite.mjs';
import { tables, targetTable, targets } from './report/summary.mjs';
import { textTable } from './report/render.mjs';
import { benchmarksMarkdown } from './report/markdown.mjs';
import { fanoutSvg } from './report/svg.mjs';

const here = (/** @type {string} */ path) => fileURLToPath(new URL(path, import.meta.url));
const argv = process.argv.slice(2);
const options = parseArgs(argv);
const progress = new Progress();

/** @type {any} */
const results = options.from ? JSON.parse(readFileSync(options.from, 'utf8')) : await runSuite(options, argv, progress);

// A table with no rows (the targets, when --only= ran none of their workloads) is left out.
for (const table of [...tables(results), targetTable(targets(results))].filter((t) => t.rows.length))
  console.log(textTable(table));

if (!options.from) {
  mkdirSync(here('./results'), { recursive: true });
  const stamp = results.meta.date.replaceAll(':', '-').replace(/\..*/, '');
  const jsonPath = here(`./results/${options.quick ? 'quick-' : ''}${stamp}.json`);
  writeFileSync(jsonPath, JSON.stringify(results, null, 1));
  console.log(`\nraw results: ${jsonPath}`);
}
if (options.write && results.fanout) {
  writeFileSync(here('../BENCHMARKS.md'), benchmarksMarkdown(results, here('./ANALYSIS.md')));
  writeFileSync(here('./fanout.svg'), fanoutSvg(results));
  console.log('wrote BENCHMARKS.md and bench/fanout.svg');
}
progress.note(`done in ${(performance.now() / 1000).toFixed(0)} s`);
