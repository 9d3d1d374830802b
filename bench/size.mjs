// The client's size as users ship it: bundled, minified ESM, gzip -9.
// Exits non-zero when an entry point is over its budget, so CI can run it:
// the core at most 3 KB (issue 3), the token helper at most 700 bytes.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';

const BUDGETS = { 'client/index.ts': 3072, 'client/auth.ts': 700 };
const entries = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(BUDGETS);
const over = [];
for (const entry of entries) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    write: false,
    logLevel: 'warning',
  });
  const code = result.outputFiles[0].contents;
  const gzipped = gzipSync(code, { level: 9 }).length;
  const budget = BUDGETS[entry];
  console.log(`${entry}: ${code.length} bytes minified, ${gzipped} bytes min+gzip${budget ? ` (budget ${budget})` : ''}`);
  if (gzipped > budget) over.push(entry);
}
if (over.length) {
  console.error(`over its size budget: ${over.join(', ')}`);
  process.exit(1);
}
