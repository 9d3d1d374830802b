// `npm run dev`: the service on http://127.0.0.1:8787 (PORT to change it),
// offline and without prompts, with the demo pages' client bundle built first,
// and a development key for private rooms in .dev.vars (scripts/dev-key.mjs).
import { spawn } from 'node:child_process';
import { buildDemo } from './build-demo.mjs';
import { ensureDevKey } from './dev-key.mjs';

const port = process.env.PORT ?? '8787';
await buildDemo();
// Private rooms (p_…) need tokens, so a development key comes with the first run.
if (ensureDevKey())
  console.log('edgeroom: wrote a development key (AUTH_KEYS, kid "dev") to .dev.vars, which git ignores');
console.log(`edgeroom: open http://127.0.0.1:${port}/ for the demo pages`);
console.log('edgeroom: for a private room, npm run token -- --room p_demo --sub alice');
// wrangler starts workerd processes of its own. It runs in a process group of
// its own, so that stopping this script, by Ctrl-C or by its PID, stops them all.
const child = spawn(
  'npx',
  ['wrangler', 'dev', '--port', port, '--ip', '127.0.0.1', '--show-interactive-dev-session=false'],
  {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      // wrangler otherwise tries telemetry, Request.cf data and crash reports over the network.
      WRANGLER_SEND_METRICS: 'false',
      WRANGLER_SEND_ERROR_REPORTS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      // wrangler's local observability logs every WebSocket message a room receives. That
      // made each inbound frame cost about 0.3 ms of the one thread every local room shares,
      // so a single flooding client stalled them all. Set X_LOCAL_OBSERVABILITY=true to keep it.
      X_LOCAL_OBSERVABILITY: process.env.X_LOCAL_OBSERVABILITY ?? 'false',
    },
  },
);
/** Signals the whole group: npx, wrangler and its workerd processes. */
const signalAll = (/** @type {NodeJS.Signals} */ signal) => {
  try {
    process.kill(-(/** @type {number} */ (child.pid)), signal);
  } catch {
    // Already gone.
  }
};
let stopping = false;
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(signal, () => {
    if (stopping) return signalAll('SIGKILL'); // asked twice: no more waiting
    stopping = true;
    signalAll('SIGTERM');
    // A child that ignores it is killed after 5 s; this script exits when the group leader does.
    setTimeout(() => signalAll('SIGKILL'), 5000).unref();
  });
}
child.on('exit', (code) => {
  // Whatever wrangler left behind in its group goes with it.
  signalAll('SIGKILL');
  process.exit(stopping ? 0 : (code ?? 0));
});
