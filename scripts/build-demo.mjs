// Builds the demo pages into worker/demo/files.generated.ts (ignored by git),
// which the Worker serves itself (worker/demo.ts): the pages and scripts of
// public/demo/, and the client bundled for them as /lib/edgeroom.js,
// /lib/signaling.js, /lib/rpc.js (calls between peers), /lib/offline.js and
// /lib/cache.js (outbox and cache on disk), /lib/auth.js (tokens), /lib/tabs.js
// (one socket per browser, with a core of its own) and /lib/react.js (React
// bindings, without React), with source maps, and their types under /lib/types/.
//
// Why not Workers static assets: with an [assets] directory every request,
// every socket upgrade included, first passes through the assets router
// (another Worker) before reaching ours. Locally that made opening 500 sockets
// take 1.3-1.5x as long (README, "Why the Worker serves the demo pages").
//
// wrangler runs this before every build ([build] in wrangler.toml: dev,
// deploy, and the tests' servers); vitest.config.ts and `npm run typecheck`
// run it too. It writes only when the output changes, so servers already
// running never see their bundle's input move under them.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emitDeclarations, walk } from './declarations.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
export const GENERATED = join(root, 'worker/demo/files.generated.ts');
/** The packages' version: the client modules are also served at /lib/<version>/, cached for good. */
const VERSION = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;

/** Path → body, for every file the demo serves. */
async function demoFiles() {
  /** @type {Record<string, string>} */
  const files = {};
  const demo = join(root, 'public/demo');
  for (const name of readdirSync(demo).sort()) files[`/demo/${name}`] = readFileSync(join(demo, name), 'utf8');
  /** Bundles `entryPoints` into /lib/<name>.js, with source maps, leaving `external` to the page. */
  const bundle = async (/** @type {Record<string, string>} */ entryPoints, /** @type {string[]} */ external = []) => {
    const result = await build({
      absWorkingDir: root,
      entryPoints,
      external,
      outdir: 'lib',
      write: false,
      bundle: true,
      format: 'esm',
      minify: true,
      sourcemap: true,
      target: 'es2022',
      logLevel: 'warning',
    });
    for (const out of result.outputFiles) files[`/lib/${out.path.split('/').pop()}`] = out.text;
  };
  await bundle({
    edgeroom: 'client/index.ts',
    signaling: 'client/signaling.ts',
    rpc: 'client/rpc.ts',
    offline: 'client/offline.ts',
    cache: 'client/cache.ts',
    auth: 'client/auth.ts',
    tabs: 'client/tabs.ts', // with a core of its own inside: it calls connect
  });
  // The React bindings with the core inside, React left to the page (an import map: public/demo/react.html).
  // React itself stays out of the Worker: ~140 KB minified for one demo page.
  await bundle({ react: 'client/react.ts' }, ['react']);
  for (const [path, text] of Object.entries(clientDeclarations())) files[`/lib/types/${path}`] = text;
  return files;
}

/** The client modules' types, served for runtimes that read `X-TypeScript-Types` (worker/demo.ts). */
const CLIENT_ENTRIES = [
  'client/index.ts',
  'client/signaling.ts',
  'client/rpc.ts',
  'client/offline.ts',
  'client/cache.ts',
  'client/auth.ts',
  'client/react.ts',
  'client/tabs.ts',
];

/**
 * Declarations of the client entries. tsc takes a second or so, and wrangler
 * runs this script before every server a test starts, so they are kept in
 * node_modules/.cache under a hash of everything they are made from.
 */
function clientDeclarations() {
  // The entries too: a new entry point changes what is emitted before it changes any file in client/.
  const hash = createHash('sha256').update(CLIENT_ENTRIES.join());
  for (const dir of ['client', 'protocol']) {
    for (const name of readdirSync(join(root, dir)).sort()) {
      if (name.endsWith('.ts') || name.endsWith('.json')) hash.update(name).update(readFileSync(join(root, dir, name)));
    }
  }
  const cache = join(root, 'node_modules/.cache/edgeroom', `lib-types-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(cache))
    return Object.fromEntries(walk(cache).map((file) => [relative(cache, file), readFileSync(file, 'utf8')]));
  const building = `${cache}.${process.pid}.tmp`;
  const files = emitDeclarations({
    tsconfig: 'client/tsconfig.json',
    types: [],
    entries: CLIENT_ENTRIES,
    out: building,
  });
  try {
    renameSync(building, cache);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another build got there first, with the same files
  }
  return files;
}

export async function buildDemo() {
  const files = await demoFiles();
  const entries = Object.entries(files).map(([path, body]) => {
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
    return `  ${JSON.stringify(path)}: { etag: ${JSON.stringify(etag)}, body: ${JSON.stringify(body)} },`;
  });
  const source = [
    '// Generated by scripts/build-demo.mjs from public/demo/ and client/: do not edit.',
    `export const LIB_VERSION = ${JSON.stringify(VERSION)};`,
    'export const DEMO_FILES: Record<string, { etag: string; body: string }> = {',
    ...entries,
    '};',
    '',
  ].join('\n');
  let current = '';
  try {
    current = readFileSync(GENERATED, 'utf8');
  } catch {
    // Not built yet.
  }
  if (current === source) return;
  mkdirSync(join(root, 'worker/demo'), { recursive: true });
  // Several test servers may build at once: each renames a whole file into place.
  const temporary = `${GENERATED}.${process.pid}.tmp`;
  writeFileSync(temporary, source);
  renameSync(temporary, GENERATED);
}

if (import.meta.url === `file://${process.argv[1]}`) await buildDemo();
