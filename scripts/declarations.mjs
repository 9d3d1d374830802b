// TypeScript declarations for a set of entry points, as users get them: tsc's
// declaration emit, with each `.ts` import specifier made `.js` (which
// TypeScript resolves to the `.d.ts` beside it). Used by build-packages.mjs
// (into each package's dist/types) and build-demo.mjs (served under /lib/).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Emits the declarations of `entries` (paths from the repository's root) and
 * everything they reach into `out`, laid out as the sources are
 * (`out/client/index.d.ts`, `out/protocol/limits.d.ts`, …).
 * @param {{ tsconfig: string, types: string[], entries: string[], out: string }} options
 * @returns {Record<string, string>} each file's path under `out` → its text
 */
export function emitDeclarations({ tsconfig, types, entries, out }) {
  const scratch = mkdtempSync(join(tmpdir(), 'edgeroom-dts-'));
  const config = join(scratch, 'tsconfig.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(root, tsconfig),
      compilerOptions: {
        types,
        noEmit: false,
        declaration: true,
        emitDeclarationOnly: true,
        outDir: out,
        rootDir: root,
      },
      include: entries.map((file) => join(root, file)),
    }),
  );
  try {
    execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', config], { cwd: root, stdio: 'inherit' });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  /** @type {Record<string, string>} */
  const files = {};
  for (const file of walk(out)) {
    const text = readFileSync(file, 'utf8').replace(
      /(from\s+['"]|import\(['"])(\.{1,2}\/[^'"]+)\.ts(['"])/g,
      '$1$2.js$3',
    );
    writeFileSync(file, text);
    files[relative(out, file)] = text;
  }
  return files;
}

/** @returns {string[]} every file under `dir` */
export function walk(/** @type {string} */ dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}
