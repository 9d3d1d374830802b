/**
 * Starts the real worker in workerd through wrangler, on a free loopback
 * port, with its own empty state directory, the way `npm run dev` runs it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unstable_startWorker } from 'wrangler';

export interface TestServer {
  /** e.g. http://127.0.0.1:43123 */
  url: string;
  stop(): Promise<void>;
}

process.env.WRANGLER_SEND_METRICS = 'false';
process.env.WRANGLER_SEND_ERROR_REPORTS = 'false';
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';

export async function startServer(vars: Record<string, string> = {}): Promise<TestServer> {
  const persist = mkdtempSync(join(tmpdir(), 'edgeroom-e2e-'));
  const worker = await unstable_startWorker({
    config: 'wrangler.toml',
    bindings: Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, { type: 'plain_text', value: v }])),
    dev: {
      server: { hostname: '127.0.0.1', port: 0 },
      inspector: false,
      persist: persist,
      logLevel: 'warn',
    },
  });
  const ready = await worker.url;
  const url = ready.origin;
  return {
    url,
    async stop() {
      await worker.dispose();
      rmSync(persist, { recursive: true, force: true });
    },
  };
}
