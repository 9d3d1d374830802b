// Typed subjects on the client side: a wrong value fails tsc (typed/check.ts holds
// the cases, each an @ts-expect-error that tsc insists on), and the type-only
// import of the server's schemas brings no zod into the browser bundle.
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('typed subjects in the client', () => {
  it('type-checks the client against the schema map, and fails on wrong values', async () => {
    // tsc exits non-zero on any error, an unused @ts-expect-error included.
    const tsc = await run('npx', ['tsc', '-p', 'test/embed/typed/tsconfig.json']).catch((e: { stdout: string }) => e);
    expect(tsc.stdout).toBe('');
    // The fixture Worker and its workerd tests, with the Worker's settings.
    const fixture = await run('npx', ['tsc', '-p', 'test/embed/tsconfig.json']).catch((e: { stdout: string }) => e);
    expect(fixture.stdout).toBe('');
  });

  it('bundles the typed client for the browser without any of zod', async () => {
    const typed = await build({
      entryPoints: ['test/embed/typed/check.ts'],
      bundle: true,
      write: false,
      metafile: true,
      format: 'esm',
      platform: 'browser',
    });
    const inputs = Object.keys(typed.metafile.inputs);
    expect(inputs.some((path) => path.includes('client/room.ts'))).toBe(true);
    expect(inputs.filter((path) => /zod|fixture\/subjects/.test(path))).toEqual([]);
  });
});
