/**
 * The embedding fixture (test/embed/fixture) run by wrangler in workerd, as
 * test/e2e/server.ts runs the project's own Worker.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unstable_startWorker } from 'wrangler';
import '../../e2e/server.ts'; // its settings: no metrics, no error reports, no cf fetch

export async function startFixture(vars: Record<string, string> = { ADDRESS_LIMITS: 'off' }) {
  const persist = mkdtempSync(join(tmpdir(), 'edgeroom-embed-'));
  const worker = await unstable_startWorker({
    config: 'test/embed/fixture/wrangler.toml',
    bindings: Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, { type: 'plain_text', value: v }])),
    dev: { watch: false, server: { hostname: '127.0.0.1', port: 0 }, inspector: false, persist, logLevel: 'warn' },
  });
  const url = (await worker.url).origin;
  return {
    url,
    async stop() {
      await worker.dispose();
      rmSync(persist, { recursive: true, force: true });
    },
  };
}
