// The core client's size as users ship it: bundled, minified ESM, gzip -9.
// Exits non-zero over the budget (issue 3: at most 3 KB), so CI can run it.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';

const BUDGET = 3072;
const entries = process.argv.slice(2).length ? process.argv.slice(2) : ['client/index.ts'];
let over = false;
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
  console.log(`${entry}: ${code.length} bytes minified, ${gzipped} bytes min+gzip (budget ${BUDGET})`);
  if (entry === 'client/index.ts' && gzipped > BUDGET) over = true;
}
if (over) {
  console.error('client/index.ts is over its size budget');
  process.exit(1);
}
