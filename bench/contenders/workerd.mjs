/**
 * Starts a worker in workerd through wrangler's `unstable_startWorker`, the
 * same machinery `wrangler dev` (and so `npm run dev`) uses, on a free
 * loopback port with its own throwaway state directory.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Offline and prompt-free (see the platform notes). Local observability is a
// process-wide switch in wrangler (X_LOCAL_OBSERVABILITY, default on); the
// bench sets it explicitly before the first worker starts, so both workerd
// contenders always run with the same value.
process.env.WRANGLER_SEND_METRICS = 'false';
process.env.WRANGLER_SEND_ERROR_REPORTS = 'false';
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';

/** @param {boolean} on */
export function setLocalObservability(on) {
  process.env.X_LOCAL_OBSERVABILITY = on ? 'true' : 'false';
}

/** @param {string} configPath */
export function compatibilityDate(configPath) {
  const match = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(configPath, 'utf8'));
  if (!match?.[1]) throw new Error(`no compatibility_date in ${configPath}`);
  return match[1];
}

/**
 * @param {string} configPath
 * @param {Record<string, string>} [vars] wrangler vars over the config's
 * @returns {Promise<{ origin: string, persist: string, stop(): Promise<void> }>}
 */
export async function startWorkerd(configPath, vars = {}) {
  if (process.env.X_LOCAL_OBSERVABILITY === undefined) throw new Error('call setLocalObservability() first');
  const { unstable_startWorker } = await import('wrangler');
  const persist = mkdtempSync(join(tmpdir(), 'edgeroom-bench-'));
  const worker = await unstable_startWorker({
    config: configPath,
    bindings: Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, { type: 'plain_text', value: v }])),
    dev: {
      server: { hostname: '127.0.0.1', port: 0 },
      inspector: false,
      persist,
      logLevel: 'warn',
      watch: false,
    },
  });
  const url = await worker.url;
  return {
    origin: url.origin,
    // Its state directory: the room's workerd is the one with SQLite files open under it (bench/load/lib/memory.mjs).
    persist,
    async stop() {
      await worker.dispose();
      rmSync(persist, { recursive: true, force: true });
    },
  };
}
