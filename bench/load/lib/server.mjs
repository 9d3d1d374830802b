// @ts-check
/**
 * The real worker for the load scripts and test/load: test/e2e/server.ts's
 * startServer (wrangler's unstable_startWorker, as `npm run dev` runs it, with
 * its own state directory and loopback port, local observability off), so the
 * bench and the tests start it one way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIMITS_OUT_OF_THE_WAY, startServer } from '../../../test/e2e/server.ts';

export { startServer };

// wrangler reads wrangler.toml from the working directory (`npx node bench/load/x.mjs` from elsewhere).
const root = fileURLToPath(new URL('../../../', import.meta.url));
if (process.cwd() !== root.replace(/\/$/, '')) process.chdir(root);

/**
 * The per-socket and per-room rates raised far above what a load script sends, and the
 * per-address limits off: every socket here comes from 127.0.0.1, and the connect limiter
 * (CONNECT_LIMITER, 120 per 10 s per address) alone would hold 1,000 sockets back for
 * 80 s. ADDRESS_LIMITS=off also turns off NEW_ROOM_LIMITER and SEND_LIMITER (HTTP sends).
 * Presence updates are raised too, for the soak's.
 */
export const LOAD_VARS = {
  ...LIMITS_OUT_OF_THE_WAY,
  ADDRESS_LIMITS: 'off',
  PRESENCE_PER_SECOND: '100000',
  PRESENCE_BURST: '100000',
};

/**
 * startServer with wrangler's V8 inspector on (a loopback port of its own), for
 * reading the worker isolate's heap (lib/inspect.mjs). The inspector slows
 * workerd a little; the load scripts use it only when asked.
 * @param {Record<string, string>} vars
 * @param {string} [config] another wrangler config (bench/profile-hot-room.mjs: one without minifying)
 */
export async function startInspectedServer(vars, config = 'wrangler.toml') {
  const { unstable_startWorker } = await import('wrangler');
  const persist = mkdtempSync(join(tmpdir(), 'edgeroom-e2e-'));
  const worker = await unstable_startWorker({
    config,
    bindings: Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, { type: 'plain_text', value: v }])),
    dev: {
      watch: false,
      server: { hostname: '127.0.0.1', port: 0 },
      inspector: { hostname: '127.0.0.1', port: 0 },
      persist,
      logLevel: 'warn',
    },
  });
  const ready = await worker.url;
  const inspector = await worker.inspectorUrl;
  return {
    url: ready.origin,
    port: Number(ready.port),
    persist,
    inspector: inspector ? `ws://${inspector.host}/ws` : undefined,
    async stop() {
      await worker.dispose();
      rmSync(persist, { recursive: true, force: true });
    },
  };
}

/** @param {string} origin */
export async function newRoom(origin) {
  const response = await fetch(`${origin}/new`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`POST /new answered ${response.status}`);
  return /** @type {{ room: string, socket_url: string, http_url: string }} */ (await response.json());
}

/**
 * Sends one message over HTTP (`POST /room/:id/send`) and returns the reply.
 * @param {string} origin
 * @param {string} room
 * @param {object} message
 * @param {string} [client] scope of the message IDs
 */
export async function httpSend(origin, room, message, client) {
  const query = client === undefined ? '' : `?client=${encodeURIComponent(client)}`;
  const response = await fetch(`${origin}/room/${room}/send${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(message),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`send answered ${response.status}: ${JSON.stringify(body)}`);
  return /** @type {any} */ (body);
}

/**
 * The whole stream of `subject`, read over HTTP `get`, a page at a time.
 * @param {string} origin
 * @param {string} room
 * @param {string} subject
 * @returns {Promise<{ seq: number, value: any }[]>}
 */
export async function readStream(origin, room, subject) {
  /** @type {{ seq: number, value: any }[]} */
  const rows = [];
  for (let seq = 0, pages = 0; ; pages++) {
    if (pages > 1000) throw new Error('more than 1000 pages');
    const page = await httpSend(origin, room, { type: 'get', key: subject, seq });
    if (page.type !== 'init') throw new Error(`get answered ${JSON.stringify(page)}`);
    rows.push(...page.data.map((/** @type {{ seq: number, value: any }} */ { seq, value }) => ({ seq, value })));
    if (!page.more) return rows;
    seq = page.data.at(-1).seq;
  }
}
