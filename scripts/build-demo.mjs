// Bundles the client and its helpers for the demo pages into public/lib/
// (ignored by git): /lib/edgeroom.js, /lib/signaling.js and /lib/auth.js (tokens).
// Run by `npm run dev`, by the tests that load the demo pages, and before deploy.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export async function buildDemo() {
  await build({
    absWorkingDir: root,
    entryPoints: { edgeroom: 'client/index.ts', signaling: 'client/signaling.ts', auth: 'client/auth.ts' },
    outdir: 'public/lib',
    bundle: true,
    format: 'esm',
    minify: true,
    sourcemap: true,
    target: 'es2022',
    logLevel: 'warning',
  });
}

if (import.meta.url === `file://${process.argv[1]}`) await buildDemo();
