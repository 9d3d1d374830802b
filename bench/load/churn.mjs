// @ts-check
/**
 * Does the room process keep memory per socket that came and went? Opens and
 * closes sockets in batches against one room, for several thousand sockets,
 * on a fresh server per variant, and after every few batches forces a full
 * garbage collection (V8 inspector) and reads the process's resident and
 * anonymous memory and the isolate's live heap. A leak per socket grows the
 * process in proportion to the sockets opened, batch after batch; an allocator
 * that keeps what it once used grows over the first batches and then reuses it.
 *
 *   npx node bench/load/churn.mjs [--sockets=6000] [--batch=200] [--every=5] [--variants=plain,hello,partyserver]
 *
 * plain: DriftDB-style sockets that say nothing (little of edgeroom's code
 * runs: the accept, an attachment, the close). hello: each offers a hello and
 * a sub in the upgrade (early frames), so presence, subscriptions (a SQLite
 * row each) and the welcome run too. partyserver: the bench's partyserver
 * room (bench/partyserver) in the same runtime, with silent sockets: what the
 * runtime keeps without edgeroom's code.
 */
import WebSocket from 'ws';
import { devtools, heapMiB } from './lib/inspect.mjs';
import { rssMiB, rssParts, runtimePid } from './lib/memory.mjs';
import { PARTYSERVER_CONFIG } from '../contenders/partyserver.mjs';
import { LOAD_VARS, newRoom, startInspectedServer } from './lib/server.mjs';

const arg = (/** @type {string} */ name, /** @type {string} */ fallback) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const SOCKETS = Number(arg('sockets', '6000'));
const BATCH = Number(arg('batch', '200'));
const EVERY = Number(arg('every', '5'));
const VARIANTS = arg('variants', 'plain,hello,partyserver').split(',');
const TIMEOUT_MS = 60_000;

/** @param {unknown[]} frames */
const earlyEntry = (frames) =>
  `early.${encodeURIComponent(JSON.stringify(frames)).replace(/[()]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}`;

/**
 * Opens `count` sockets at once and resolves when each is open (plain) or welcomed (hello).
 * @param {string} url @param {boolean} hello @param {number} count @param {number} offset
 */
async function open(url, hello, count, offset) {
  /** @type {WebSocket[]} */
  const sockets = [];
  await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const frames = [
        { type: 'hello', protocol: 1, secret: `churn-${offset + i}-${Math.random().toString(36).slice(2)}` },
        { type: 'sub', key: 'k', replay: false },
      ];
      const ws = new WebSocket(url, hello ? ['edgeroom.v1', earlyEntry(frames)] : [], { perMessageDeflate: false });
      sockets.push(ws);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`socket ${offset + i}: not ready in ${TIMEOUT_MS} ms`)),
          TIMEOUT_MS,
        );
        const ready = () => (clearTimeout(timer), resolve(undefined));
        if (!hello) ws.once('open', ready);
        else ws.on('message', (data) => /** @type {Buffer} */ (data).indexOf('"welcome"') >= 0 && ready());
        ws.once('error', reject);
      });
    }),
  );
  return sockets;
}

/** @param {WebSocket[]} sockets */
const closeAll = (sockets) =>
  Promise.all(
    sockets.map(
      (ws) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`a close took over ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
          ws.once('close', () => (clearTimeout(timer), resolve(undefined)));
          ws.close(1000);
        }),
    ),
  );

/** @type {{ variant: string, rows: { opened: number, rss: number, anon: number, live: number }[] }[]} */
const results = [];
for (const variant of VARIANTS) {
  const hello = variant === 'hello';
  const party = variant === 'partyserver';
  const server = party ? await startInspectedServer({}, PARTYSERVER_CONFIG) : await startInspectedServer(LOAD_VARS);
  try {
    if (!server.inspector) throw new Error('wrangler gave no inspector URL');
    const cdp = await devtools(server.inspector);
    const url = party
      ? `${server.url.replace(/^http/, 'ws')}/parties/bench-room/churn`
      : (await newRoom(server.url)).socket_url;
    // Warm up: the first sockets load the code and fill the runtime's caches.
    await closeAll(await open(url, hello, BATCH, 0));
    const room = runtimePid(server.persist);
    if (room === undefined) throw new Error("could not tell the room's workerd process from the proxy");
    /** @type {{ opened: number, rss: number, anon: number, live: number }[]} */
    const rows = [];
    const sample = async (/** @type {number} */ opened) => {
      // Any request wakes the isolate (a 404 on partyserver's).
      const { live } = await heapMiB(cdp, () =>
        fetch(`${server.url}/lib/edgeroom.js`, { signal: AbortSignal.timeout(5000) }),
      );
      const row = { opened, rss: rssMiB(room), anon: rssParts(room).anon, live };
      rows.push(row);
      console.log(
        `${variant}: ${opened} sockets opened and closed; room process ${row.rss.toFixed(1)} MiB (anonymous ${row.anon.toFixed(1)}), live heap ${row.live.toFixed(1)} MiB`,
      );
    };
    await sample(0);
    for (let opened = 0, batch = 0; opened < SOCKETS; batch++) {
      const n = Math.min(BATCH, SOCKETS - opened);
      await closeAll(await open(url, hello, n, opened));
      opened += n;
      if ((batch + 1) % EVERY === 0 || opened === SOCKETS) await sample(opened);
    }
    cdp.close();
    results.push({ variant, rows });
  } finally {
    await server.stop();
  }
}

/** MiB per 1,000 sockets between two rows (anonymous memory: the heaps, not mapped files). @param {{ opened: number, anon: number }} a @param {{ opened: number, anon: number }} b */
const slope = (a, b) => ((b.anon - a.anon) / (b.opened - a.opened)) * 1000;
console.log(
  '\nvariant | anonymous MiB at 0 → half → end | MiB per 1,000 sockets, first half | second half | live heap at end',
);
for (const { variant, rows } of results) {
  const [first, last] = [rows[0], rows.at(-1)];
  const mid = rows[Math.floor(rows.length / 2)];
  if (!first || !last || !mid) continue;
  console.log(
    `${variant} | ${first.anon.toFixed(1)} → ${mid.anon.toFixed(1)} → ${last.anon.toFixed(1)} | ${slope(first, mid).toFixed(2)} | ${slope(mid, last).toFixed(2)} | ${last.live.toFixed(1)} MiB`,
  );
}
for (const { variant, rows } of results) {
  const [first, mid, last] = [rows[0], rows[Math.floor(rows.length / 2)], rows.at(-1)];
  if (first && mid && last)
    console.log(
      `summary: churn, ${variant}: ${last.opened} sockets; anonymous memory +${(last.anon - first.anon).toFixed(1)} MiB, ${slope(mid, last).toFixed(2)} MiB per 1,000 sockets in the second half; live heap ${last.live.toFixed(1)} MiB`,
    );
}
