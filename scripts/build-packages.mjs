// Builds the two npm packages into packages/<name>/dist (ignored by git):
//
//   packages/client  "edgeroom":        the browser client: core, /react, /signaling, /rpc, /offline, /cache, /auth, /tabs.
//                                       No dependencies; React is an optional peer.
//   packages/server  "edgeroom-server": createEdgeroom and the room class, to mount in a
//                                       Worker, and /token for the operator's backend.
//
// JavaScript: esbuild, one ES module per entry. The client's entries share their
// common code through chunks (so /react and /signaling use the same core as the
// app's own `import 'edgeroom'`), and are left unminified: the app's bundler
// minifies, and a readable stack trace helps whoever debugs. The server leaves
// its dependencies (hono, zod, …) and `cloudflare:workers` to the host's bundler.
//
// Types: tsc's declarations (declarations.mjs), laid out as the sources are
// (dist/types/client/…, dist/types/protocol/…).
//
//   npx node scripts/build-packages.mjs [client|server]
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDemo } from './build-demo.mjs';
import { emitDeclarations, walk } from './declarations.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

export const PACKAGES = {
  client: {
    dir: join(root, 'packages/client'),
    entries: {
      index: 'client/index.ts',
      react: 'client/react.ts',
      signaling: 'client/signaling.ts',
      rpc: 'client/rpc.ts',
      offline: 'client/offline.ts',
      cache: 'client/cache.ts',
      auth: 'client/auth.ts',
      tabs: 'client/tabs.ts',
    },
    tsconfig: 'client/tsconfig.json',
    types: [],
    esbuild: { platform: 'neutral', splitting: true, external: ['react'], minify: false },
  },
  server: {
    dir: join(root, 'packages/server'),
    entries: { index: 'worker/server.ts', token: 'worker/auth/mint.ts' },
    tsconfig: 'tsconfig.json',
    // The runtime's types and the project's Env, without the test plugin's.
    types: [join(root, 'worker-configuration.d.ts')],
    // `packages: 'external'`: hono, zod, @noble/hashes and cborg are the package's dependencies.
    esbuild: { platform: 'neutral', splitting: true, packages: 'external', external: ['cloudflare:*'], minify: false },
  },
};

/**
 * Builds a package into its directory, or into `into`: a copy of the package as
 * npm would install it (manifest, README, LICENSE, dist), for a test that must
 * not race another one rebuilding packages/<name>.
 * @param {keyof typeof PACKAGES} name
 * @param {{ into?: string }} [options]
 */
export async function buildPackage(name, { into } = {}) {
  const pkg = PACKAGES[name];
  const dir = into ?? pkg.dir;
  if (into) {
    mkdirSync(into, { recursive: true });
    for (const file of ['package.json', 'README.md']) copyFileSync(join(pkg.dir, file), join(into, file));
  }
  const dist = join(dir, 'dist');
  rmSync(dist, { recursive: true, force: true });
  if (name === 'server') await buildDemo(); // the server serves /lib/* (the client) from it
  await build({
    absWorkingDir: root,
    entryPoints: pkg.entries,
    outdir: dist,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    chunkNames: 'chunks/[name]-[hash]',
    logLevel: 'warning',
    legalComments: 'none',
    ...pkg.esbuild,
  });
  emitDeclarations({
    tsconfig: pkg.tsconfig,
    types: pkg.types,
    entries: Object.values(pkg.entries),
    out: join(dist, 'types'),
  });
  if (name === 'server') declareEnv(join(dist, 'types'));
  copyFileSync(join(root, 'LICENSE'), join(dir, 'LICENSE'));
  checkManifest(dir);
}

/**
 * The server's types name the Worker's `Env`, which in this repository is the
 * one `wrangler types` generates from our wrangler.toml. In the app's project it
 * is the app's own, if it has one: declared empty here, it merges with theirs.
 */
function declareEnv(/** @type {string} */ types) {
  writeFileSync(
    join(types, 'env.d.ts'),
    [
      "// The Worker's Env: empty here, it merges with the app's own (`wrangler types`) when it has one.",
      'declare global {',
      '  interface Env {}',
      '}',
      'export {};',
      '',
    ].join('\n'),
  );
  const entry = join(types, 'worker/server.d.ts');
  writeFileSync(entry, `/// <reference path="../env.d.ts" />\n${readFileSync(entry, 'utf8')}`);
}

/** Every `exports` target in the package's manifest exists: an export that points nowhere fails the build. */
function checkManifest(/** @type {string} */ dir) {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  /** @type {string[]} */
  const targets = [];
  const collect = (/** @type {unknown} */ value) => {
    if (typeof value === 'string') targets.push(value);
    else if (value && typeof value === 'object') Object.values(value).forEach(collect);
  };
  collect(manifest.exports);
  const missing = targets.filter((target) => !exists(join(dir, target)));
  if (missing.length) throw new Error(`${manifest.name}: exports point nowhere: ${missing.join(', ')}`);
}

const exists = (/** @type {string} */ path) => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const which = process.argv[2] ? [process.argv[2]] : Object.keys(PACKAGES);
  for (const name of which) {
    if (!(name in PACKAGES)) throw new Error(`unknown package ${name}: ${Object.keys(PACKAGES).join(' or ')}`);
    const started = Date.now();
    await buildPackage(/** @type {keyof typeof PACKAGES} */ (name));
    const dist = join(PACKAGES[/** @type {keyof typeof PACKAGES} */ (name)].dir, 'dist');
    console.log(`built ${relative(root, dist)} (${walk(dist).length} files) in ${Date.now() - started} ms`);
  }
}
