// The packages as a user gets them: `npm pack`, installed from the tarballs into
// scratch projects outside the repository, then used there (test/packages/consumer):
// typechecked, bundled for the browser, and run from plain Node against the
// consumer's own Worker, which mounts edgeroom-server, under wrangler.
//
// Fails when a file is missing from a package, an export points nowhere, a type
// does not resolve, or a server dependency reaches the client's install.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unstable_startWorker } from 'wrangler';
import { buildPackage, PACKAGES } from '../../scripts/build-packages.mjs';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const scratch = mkdtempSync(join(tmpdir(), 'edgeroom-packages-'));
const tarballs: Record<keyof typeof PACKAGES, string> = { client: '', server: '' };
// Offline where it can be: everything here is in npm's cache once `npm ci` ran.
const npm = (args: string[], cwd: string) =>
  run('npm', [...args, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd, timeout: 120_000 });

/** The version of a dependency as the repository pins it: the scratch projects take the same. */
const pinned = (name: string): string => {
  const range: string | undefined = rootManifest.dependencies[name] ?? rootManifest.devDependencies[name];
  if (!range) throw new Error(`${name} is not a dependency of the repository`);
  return range;
};

beforeAll(async () => {
  for (const name of ['client', 'server'] as const) {
    await buildPackage(name);
    const { stdout } = await npm(['pack', '--json', '--pack-destination', scratch], PACKAGES[name].dir);
    tarballs[name] = join(scratch, JSON.parse(stdout)[0].filename);
  }
}, 180_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the tarballs', () => {
  it('hold the built entries, their types, the README and the LICENSE, and nothing else', async () => {
    for (const name of ['client', 'server'] as const) {
      const { stdout } = await run('tar', ['-tzf', tarballs[name]]);
      const files = stdout
        .trim()
        .split('\n')
        .map((f) => f.replace(/^package\//, ''));
      expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js']));
      expect(files.filter((f) => !/^(package\.json|README\.md|LICENSE|dist\/.*)$/.test(f))).toEqual([]);
      expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    }
  });

  it("carry the repository's version and its dependency ranges, and the CHANGELOG names that version", () => {
    const changelog = readFileSync(join(root, 'CHANGELOG.md'), 'utf8');
    for (const name of ['client', 'server'] as const) {
      const manifest = JSON.parse(readFileSync(join(PACKAGES[name].dir, 'package.json'), 'utf8'));
      expect(manifest.version).toBe(rootManifest.version);
      for (const [dep, range] of Object.entries(manifest.dependencies ?? {}))
        expect([dep, range]).toEqual([dep, pinned(dep)]);
    }
    expect(changelog).toContain(`## ${rootManifest.version}`);
  });
});

describe('installed in a project of its own', () => {
  it('the client installs alone: no server dependency, not even React', async () => {
    const project = join(scratch, 'client-only');
    mkdirSync(join(project, 'src'), { recursive: true });
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'client-only', private: true, type: 'module' }),
    );
    await npm(['install', tarballs.client], project);
    expect(readdirSync(join(project, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual(['edgeroom']);
    // Its types stand alone too, under Node's own resolution (nodenext) and with our .d.ts checked.
    for (const file of ['src/client-only.ts', 'tsconfig.client-only.json']) {
      cpSync(join(import.meta.dirname, 'consumer', file), join(project, file));
    }
    const tsc = await run(join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.client-only.json'], {
      cwd: project,
    }).then(
      () => '',
      (error) => String(error.stdout),
    );
    expect(tsc).toBe('');
  }, 120_000);

  const project = join(scratch, 'consumer');
  let server: Awaited<ReturnType<typeof unstable_startWorker>> | undefined;
  afterAll(async () => server?.dispose());

  it("installs both packages with the app's own dependencies", async () => {
    cpSync(join(import.meta.dirname, 'consumer'), project, { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await npm(
      [
        'install',
        tarballs.client,
        tarballs.server,
        `hono@${pinned('hono')}`,
        `zod@${pinned('zod')}`,
        `react@${pinned('react')}`,
        `@types/react@${pinned('@types/react')}`,
        `@cloudflare/workers-types@${pinned('@cloudflare/workers-types')}`,
        `ws@${pinned('ws')}`,
      ],
      project,
    );
  }, 180_000);

  it("typechecks browser code that uses every client entry point, typed by the server's subjects", async () => {
    const tsc = join(root, 'node_modules/.bin/tsc');
    // Both with the app's files and with our .d.ts checked (skipLibCheck: false): a type that resolves nowhere fails.
    await expect(run(tsc, ['-p', 'tsconfig.browser.json'], { cwd: project }).then(() => 'ok')).resolves.toBe('ok');
  }, 60_000);

  it('typechecks a Worker that mounts the server', async () => {
    const tsc = join(root, 'node_modules/.bin/tsc');
    await expect(run(tsc, ['-p', 'tsconfig.worker.json'], { cwd: project }).then(() => 'ok')).resolves.toBe('ok');
  }, 60_000);

  it('bundles the browser code with esbuild, without zod, hono or any server code', async () => {
    const result = await build({
      absWorkingDir: project,
      entryPoints: ['src/browser.ts'],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((i) => i.includes('node_modules/edgeroom/dist/'))).not.toEqual([]);
    expect(inputs.filter((i) => /node_modules\/(zod|hono|edgeroom-server|@noble|cborg)\//.test(i))).toEqual([]);
  }, 60_000);

  it("plain Node mints a token and talks to the app's Worker through the installed client", async () => {
    server = await unstable_startWorker({
      config: join(project, 'wrangler.toml'),
      dev: {
        watch: false,
        server: { hostname: '127.0.0.1', port: 0 },
        inspector: false,
        persist: join(project, '.state'),
        logLevel: 'warn',
      },
    });
    const url = (await server.url).origin;
    expect(await (await fetch(`${url}/`)).text()).toBe('the app');
    const secret = JSON.parse(readFileSync(join(project, 'wrangler.toml'), 'utf8').match(/ROOM_KEYS = '(.*)'/)![1]!)[0]
      .secret;
    // On the Node that runs the tests (24), with its own WebSocket, and on the machine's Node 20 if it
    // has one, with the `ws` package's injected: the oldest Node the client supports.
    const nodes = [process.execPath, ...(existsSync('/usr/bin/node') ? ['/usr/bin/node'] : [])];
    const majors: string[] = [];
    for (const node of nodes) {
      const { stdout } = await run(node, ['src/node-client.mjs', `${url}/rt`, secret], {
        cwd: project,
        timeout: 30_000,
      });
      const { node: major, ...result } = JSON.parse(stdout);
      majors.push(major);
      expect(result, `node ${major}`).toEqual({
        seqs: [1, 2, 3, 4, 5], // a new room each run
        refused: 'invalid_value', // the app's schema, through the installed server
        seen: ['m0', 'm1', 'm2', 'm3', 'm4'].map((text, k) => [k + 1, text]),
        clientId: 'ada', // the token's subject, through edgeroom/auth
      });
    }
    expect(majors[0]).toBe(process.versions.node.split('.')[0]);
    if (nodes.length > 1) console.log(`the installed client ran on Node ${majors.join(' and ')}`);
  }, 90_000);
});
