// `wrangler deploy --dry-run` bundles the fixture (edgeroom embedded) and the
// project itself as a deploy would, offline: every request wrangler might make
// goes to a proxy on a closed port, so one that it needed would fail the run.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackage } from '../../../scripts/build-packages.mjs';

const run = promisify(execFile);
const dirs: string[] = [];
// The README's example imports edgeroom-server as npm installs it: the built package, in a
// directory of its own (test/packages rebuilds packages/server, maybe at the same time).
const serverPackage = mkdtempSync(join(tmpdir(), 'edgeroom-server-package-'));
dirs.push(serverPackage);
beforeAll(async () => {
  await buildPackage('server', { into: serverPackage });
  // Its own dependencies (hono, zod, …), as npm would have installed them beside it.
  symlinkSync(join(process.cwd(), 'node_modules'), join(serverPackage, 'node_modules'));
}, 60_000);
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function dryRun(config: string): Promise<{ out: string; log: string }> {
  const out = mkdtempSync(join(tmpdir(), 'edgeroom-dry-run-'));
  dirs.push(out);
  const dead = 'http://127.0.0.1:9';
  const { stdout, stderr } = await run(
    'npx',
    ['wrangler', 'deploy', '--dry-run', '--outdir', out, '--config', config],
    {
      env: {
        ...process.env,
        HTTPS_PROXY: dead,
        HTTP_PROXY: dead,
        https_proxy: dead,
        http_proxy: dead,
        WRANGLER_SEND_METRICS: 'false',
        WRANGLER_SEND_ERROR_REPORTS: 'false',
        CLOUDFLARE_API_TOKEN: '',
        CI: '1',
      },
      timeout: 80_000,
    },
  );
  return { out, log: stdout + stderr };
}

/** The README's "Mount it in your own Worker" example, as its three files, in a project of its own. */
function readmeExample(): string {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('## Mount it in your own Worker'), readme.indexOf('**Typed subjects.**'));
  const blocks = [...section.matchAll(/```(ts|toml)\n([\s\S]*?)```/g)].map((m) => m[2]!);
  expect(blocks).toHaveLength(3);
  const [subjects, index, toml] = blocks as [string, string, string];
  const dir = mkdtempSync(join(tmpdir(), 'edgeroom-readme-'));
  dirs.push(dir);
  // Its node_modules: edgeroom-server as built in packages/server, and the repository's packages (hono, zod).
  mkdirSync(join(dir, 'node_modules'));
  for (const name of readdirSync(join(process.cwd(), 'node_modules'))) {
    symlinkSync(join(process.cwd(), 'node_modules', name), join(dir, 'node_modules', name));
  }
  symlinkSync(serverPackage, join(dir, 'node_modules', 'edgeroom-server'));
  writeFileSync(join(dir, 'subjects.ts'), subjects);
  writeFileSync(join(dir, 'index.ts'), index);
  writeFileSync(
    join(dir, 'wrangler.toml'),
    `name = "readme-example"\nmain = "index.ts"\ncompatibility_date = "2026-10-01"\n${toml}`,
  );
  return join(dir, 'wrangler.toml');
}

describe('wrangler deploy --dry-run, offline', () => {
  it("bundles the README's example of edgeroom in another Worker", async () => {
    const { out, log } = await dryRun(readmeExample());
    expect(log).toMatch(/env\.CHAT_ROOMS \(ChatRoom\)/);
    expect(readFileSync(join(out, 'index.js'), 'utf8')).toMatch(/export\s*\{[^}]*ChatRoom/);
  });

  it("type-checks the README's example with the Worker's settings", async () => {
    const config = readmeExample();
    const dir = join(config, '..');
    const repo = process.cwd();
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(repo, 'tsconfig.json'),
        compilerOptions: { types: [join(repo, 'worker-configuration.d.ts')] },
        include: ['index.ts', 'subjects.ts'],
      }),
    );
    const tsc = await run('npx', ['tsc', '-p', join(dir, 'tsconfig.json')]).catch((e: { stdout: string }) => e);
    expect(tsc.stdout).toBe('');
  });

  it('bundles the fixture Worker with edgeroom in it', async () => {
    const { out, log } = await dryRun('test/embed/fixture/wrangler.toml');
    expect(log).toContain('--dry-run: exiting now');
    expect(log).toMatch(/env\.CHAT_ROOMS \(ChatRoom\)/);
    const script = readFileSync(join(out, 'index.js'), 'utf8');
    expect(script).toMatch(/export\s*\{[^}]*ChatRoom/);
  });

  it("bundles the project's own Worker", async () => {
    const { out, log } = await dryRun('wrangler.toml');
    expect(log).toContain('--dry-run: exiting now');
    expect(log).toMatch(/env\.ROOMS \(Room\)/);
    expect(readFileSync(join(out, 'index.js'), 'utf8')).toMatch(/export\s*\{[^}]*Room/);
  });
});
