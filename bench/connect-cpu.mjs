// @ts-check
/**
 * Where a connect storm's time goes when every socket joins presence: opens
 * SOCKETS sockets to a fresh room at once, each offering its hello and a sub in
 * the upgrade (early frames, as our client reconnects), once with the roster
 * and once with `roster: false`, alternating for ROUNDS rounds on one server.
 * For each it reports the wall time until every socket is welcomed, and the CPU
 * seconds spent meanwhile by the room's workerd process, by wrangler's proxy
 * workerd (which relays every byte locally, and which production does not
 * have), and by this process, which plays all the clients. The roster's bytes
 * grow with the square of the room; this shows who pays for them on one machine.
 *
 *   npx node bench/connect-cpu.mjs [--sockets=500] [--rounds=4]
 */
import WebSocket from 'ws';
import { descendantWorkerds } from '../test/e2e/crash/processes.ts';
import { cpuSeconds } from './load/lib/hot-room.mjs';
import { runtimePid } from './load/lib/memory.mjs';
import { LOAD_VARS, startServer } from './load/lib/server.mjs';

const arg = (/** @type {string} */ name, /** @type {number} */ fallback) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const SOCKETS = arg('sockets', 500);
const ROUNDS = arg('rounds', 4);
const TIMEOUT_MS = 60_000;

/** The early frames' subprotocol entry (docs/protocol.md, Early frames). @param {unknown[]} frames */
const earlyEntry = (frames) =>
  `early.${encodeURIComponent(JSON.stringify(frames)).replace(/[()]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}`;

/**
 * Opens every socket at once; resolves when each has its welcome, or, for
 * `plain` (DriftDB-style sockets, which say nothing), when each is open.
 * @param {string} url @param {boolean | 'plain'} roster @param {number} [count]
 */
async function storm(url, roster, count = SOCKETS) {
  /** @type {WebSocket[]} */
  const sockets = [];
  const welcomed = Array.from({ length: count }, (_, i) => {
    const frames = [
      { type: 'hello', protocol: 1, secret: `connect-cpu-${i}-${Math.random().toString(36).slice(2)}`, roster },
      { type: 'sub', key: 'k', replay: false },
    ];
    const protocols = roster === 'plain' ? [] : ['edgeroom.v1', earlyEntry(frames)];
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false });
    sockets.push(ws);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`socket ${i}: no welcome within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      if (roster === 'plain') ws.once('open', () => (clearTimeout(timer), resolve(undefined)));
      ws.on('message', (data) => {
        // Only the start of a frame is looked at: a client's parsing is not what is measured.
        if (/** @type {Buffer} */ (data).indexOf('"welcome"') < 0) return;
        clearTimeout(timer);
        resolve(undefined);
      });
      ws.once('error', reject);
    });
  });
  await Promise.all(welcomed);
  return sockets;
}

/** CPU seconds of this process so far. */
const ownCpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

const server = await startServer(LOAD_VARS);
try {
  // A warm-up room: its SQLite file is what tells the room's workerd from the proxy.
  const warm = await fetch(`${server.url}/new`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  for (const ws of await storm(/** @type {{ socket_url: string }} */ (await warm.json()).socket_url, true, 20))
    ws.close();
  const room = runtimePid(server.persist);
  if (room === undefined) throw new Error("could not tell the room's workerd process from the proxy");
  const proxy = descendantWorkerds().find((pid) => pid !== room);
  console.log(`${SOCKETS} sockets, ${ROUNDS} rounds; room workerd ${room}, proxy workerd ${proxy}`);
  /** @type {Record<string, { ms: number[], room: number[], proxy: number[], clients: number[] }>} */
  const results = {};
  for (let round = 1; round <= ROUNDS; round++) {
    for (const roster of /** @type {const} */ (['plain', true, false])) {
      const name =
        roster === 'plain' ? 'plain (DriftDB-style)' : roster ? 'hello + sub, roster' : 'hello + sub, roster: false';
      const res = await fetch(`${server.url}/new`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
      const url = /** @type {{ socket_url: string }} */ (await res.json()).socket_url;
      const before = { room: cpuSeconds(room).total, proxy: cpuSeconds(proxy).total, clients: ownCpu() };
      const start = performance.now();
      const sockets = await storm(url, roster);
      const ms = performance.now() - start;
      const spent = {
        room: cpuSeconds(room).total - before.room,
        proxy: cpuSeconds(proxy).total - before.proxy,
        clients: ownCpu() - before.clients,
      };
      const r = (results[name] ??= { ms: [], room: [], proxy: [], clients: [] });
      r.ms.push(ms);
      r.room.push(spent.room);
      r.proxy.push(spent.proxy);
      r.clients.push(spent.clients);
      console.log(
        `round ${round}/${ROUNDS} ${name}: all welcomed in ${ms.toFixed(0)} ms; CPU s: room ${spent.room.toFixed(2)}, proxy ${spent.proxy.toFixed(2)}, clients ${spent.clients.toFixed(2)}`,
      );
      await Promise.all(sockets.map((ws) => new Promise((resolve) => (ws.once('close', resolve), ws.close(1000)))));
    }
  }
  const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  console.log('\nmedians: variant | all welcomed, ms | CPU s: room | proxy | clients');
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `${name} | ${median(r.ms).toFixed(0)} | ${median(r.room).toFixed(2)} | ${median(r.proxy).toFixed(2)} | ${median(r.clients).toFixed(2)}`,
    );
  }
} finally {
  await server.stop();
}
