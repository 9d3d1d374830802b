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
  port: number;
  /** The state directory; pass it to a new server to simulate a restart or deploy. */
  persist: string;
  /** Stops workerd. The state directory is removed unless `keepState`. */
  stop(options?: { keepState?: boolean }): Promise<void>;
}

export interface ServerOptions {
  /** Listen on this port (0: any free one). */
  port?: number;
  /** Reuse this state directory (from an earlier server's `persist`). */
  persist?: string;
}

process.env.WRANGLER_SEND_METRICS = 'false';
process.env.WRANGLER_SEND_ERROR_REPORTS = 'false';
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
// As `npm run dev` runs it (scripts/dev.mjs): without wrangler's per-message event log.
process.env.X_LOCAL_OBSERVABILITY ??= 'false';

/**
 * Wrangler vars that raise the rate limits far above what a test sends, and turn the per-address
 * limits off: for tests of something else (resume, crashes) whose bursts would otherwise be refused.
 */
export const LIMITS_OUT_OF_THE_WAY: Record<string, string> = {
  PUBLISHES_PER_SECOND: '100000',
  PUBLISH_BURST: '100000',
  FRAMES_PER_SECOND: '100000',
  FRAME_BURST: '100000',
  ROOM_PUBLISHES_PER_SECOND: '100000',
  ROOM_DELIVERIES_PER_SECOND: '1000000',
  ADDRESS_LIMITS: 'off',
};

export async function startServer(vars: Record<string, string> = {}, options: ServerOptions = {}): Promise<TestServer> {
  const persist = options.persist ?? mkdtempSync(join(tmpdir(), 'edgeroom-e2e-'));
  const worker = await unstable_startWorker({
    config: 'wrangler.toml',
    bindings: Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, { type: 'plain_text', value: v }])),
    dev: {
      // A rebuild of public/lib would otherwise reload the worker and drop every socket mid-test.
      watch: false,
      server: { hostname: '127.0.0.1', port: options.port ?? 0 },
      inspector: false,
      persist: persist,
      logLevel: 'warn',
    },
  });
  const ready = await worker.url;
  return {
    url: ready.origin,
    port: Number(ready.port),
    persist,
    async stop({ keepState = false } = {}) {
      await worker.dispose();
      if (!keepState) rmSync(persist, { recursive: true, force: true });
    },
  };
}
