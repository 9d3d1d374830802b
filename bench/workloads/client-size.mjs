/**
 * Client size, the way users ship it: esbuild --bundle --minify --format=esm,
 * then gzip level 9 (the same recipe as bench/size.mjs). Each package is
 * bundled through `export * from`, so every public export is kept.
 */
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export const CLIENTS = [
  { id: 'edgeroom', label: 'edgeroom core client (client/index.ts)', from: './client/index.ts', external: [] },
  { id: 'partysocket', label: 'partysocket', from: 'partysocket', external: [] },
  { id: 'driftdb', label: 'driftdb@1.0.12 (with cbor-web)', from: 'driftdb', external: [] },
  { id: 'driftdb-no-cbor', label: 'driftdb@1.0.12 (without cbor-web)', from: 'driftdb', external: ['cbor-web'] },
];

/** @param {{ from: string, external: string[] }} client */
async function measure({ from, external }) {
  const result = await build({
    stdin: { contents: `export * from ${JSON.stringify(from)};`, resolveDir: root, loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    write: false,
    external,
    logLevel: 'error',
  });
  const code = /** @type {{ contents: Uint8Array }} */ (result.outputFiles[0]).contents;
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length };
}

export async function clientSizes() {
  /** @type {Record<string, { label: string, minified: number, gzipped: number } | { label: string, error: string }>} */
  const sizes = {};
  for (const client of CLIENTS) {
    try {
      sizes[client.id] = { label: client.label, ...(await measure(client)) };
    } catch (error) {
      sizes[client.id] = {
        label: client.label,
        error: error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error),
      };
    }
  }
  return sizes;
}
