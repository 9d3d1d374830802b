// @ts-check
/**
 * Where a connect storm's time goes, per process: opens SOCKETS sockets to a
 * fresh room at once, for each variant in turn, for ROUNDS rounds (each round
 * starting with the next variant), and reports the wall time until every socket
 * is ready, and the CPU seconds spent meanwhile by the room's workerd process
 * (the Worker and the Durable Object), by wrangler's proxy workerd (which relays
 * every byte locally, and which production does not have), and by this
 * process, which plays all the clients. The variants:
 *
 * - plain: DriftDB-style sockets, which say nothing; ready when open;
 * - early ping: one early frame, a ping, which only gets its pong: what the
 *   room pays for handling one frame at the accept; ready when open;
 * - hello + sub, with the roster and with `roster: false`: as our client
 *   (re)connects, both as early frames in the upgrade; ready at the welcome;
 * - partyserver (bench/partyserver, on a server of its own): ready when open.
 *
 *   npx node bench/connect-cpu.mjs [--sockets=500] [--rounds=4] [--against=<another checkout>]
 *
 * `--against` also runs the edgeroom variants on a server of that checkout's
 * worker (a git worktree of the commit before a change, say), in the same rounds.
 */
import WebSocket from 'ws';
import { listeningWorkerds } from '../test/e2e/crash/processes.ts';
import { cpuSeconds } from './load/lib/hot-room.mjs';
import { runtimePid } from './load/lib/memory.mjs';
import { LOAD_VARS, startServer } from './load/lib/server.mjs';
import { randomRoomName } from './contenders/contender.mjs';
import { PARTYSERVER_CONFIG } from './contenders/partyserver.mjs';
import { setLocalObservability, startWorkerd } from './contenders/workerd.mjs';

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
 * `plain` (DriftDB-style sockets, which say nothing) and `ping`, when each is open.
 * @param {string} url @param {boolean | 'plain' | 'ping'} roster @param {number} [count]
 */
async function storm(url, roster, count = SOCKETS) {
  /** @type {WebSocket[]} */
  const sockets = [];
  const welcomed = Array.from({ length: count }, (_, i) => {
    const frames =
      roster === 'ping'
        ? [{ type: 'ping', nonce: i }]
        : [
            { type: 'hello', protocol: 1, secret: `connect-cpu-${i}-${Math.random().toString(36).slice(2)}`, roster },
            { type: 'sub', key: 'k', replay: false },
          ];
    const protocols = roster === 'plain' ? [] : ['edgeroom.v1', earlyEntry(frames)];
    const ready = roster === 'plain' || roster === 'ping' ? 'open' : 'welcome';
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false });
    sockets.push(ws);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`socket ${i}: not ${ready === 'open' ? 'open' : 'welcomed'} within ${TIMEOUT_MS} ms`)),
        TIMEOUT_MS,
      );
      if (ready === 'open') ws.once('open', () => (clearTimeout(timer), resolve(undefined)));
      else
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

const AGAINST = process.argv.find((a) => a.startsWith('--against='))?.split('=')[1];
const server = await startServer(LOAD_VARS);
setLocalObservability(false);
const party = await startWorkerd(PARTYSERVER_CONFIG);
// Another checkout's worker, on a server of its own in the same run: a change compared with what it changes.
const other = AGAINST ? await startWorkerd(`${AGAINST}/wrangler.toml`, LOAD_VARS) : undefined;
try {
  const partyUrl = () => `${party.origin.replace(/^http/, 'ws')}/parties/bench-room/${randomRoomName()}`;
  for (const ws of await storm(partyUrl(), 'plain', 20)) ws.close();
  /** @typedef {{ name: string, roster: boolean | 'plain' | 'ping', url: () => Promise<string> | string, room: number, proxy: number | undefined }} Variant */
  /** @type {Variant[]} */
  const variants = [];
  for (const [origin, persist, label] of /** @type {const} */ ([
    [server.url, server.persist, ''],
    ...(other ? /** @type {const} */ ([[other.origin, other.persist, ` [${AGAINST}]`]]) : []),
  ])) {
    const newRoom = async () => {
      const res = await fetch(`${origin}/new`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
      return /** @type {{ socket_url: string }} */ (await res.json()).socket_url;
    };
    // A warm-up room: its SQLite file is what tells the room's workerd from the proxy.
    for (const ws of await storm(await newRoom(), true, 20)) ws.close();
    const room = runtimePid(persist);
    // wrangler's proxy: the workerd that listens on the server's port.
    const proxy = listeningWorkerds(Number(new URL(origin).port))[0];
    if (room === undefined) throw new Error("could not tell the room's workerd from its proxy");
    console.log(`edgeroom${label}: room workerd ${room}, proxy ${proxy}`);
    variants.push(
      { name: `plain (DriftDB-style)${label}`, roster: 'plain', url: newRoom, room, proxy },
      { name: `early ping${label}`, roster: 'ping', url: newRoom, room, proxy },
      { name: `hello + sub, roster${label}`, roster: true, url: newRoom, room, proxy },
      { name: `hello + sub, roster: false${label}`, roster: false, url: newRoom, room, proxy },
    );
  }
  const partyRoom = runtimePid(party.persist);
  if (partyRoom === undefined) throw new Error("could not tell partyserver's room workerd from its proxy");
  const partyProxy = listeningWorkerds(Number(new URL(party.origin).port))[0];
  console.log(`partyserver: room workerd ${partyRoom}, proxy ${partyProxy}; ${SOCKETS} sockets, ${ROUNDS} rounds`);
  variants.push({ name: 'partyserver', roster: 'plain', url: partyUrl, room: partyRoom, proxy: partyProxy });
  /** @type {Record<string, { ms: number[], room: number[], proxy: number[], clients: number[] }>} */
  const results = {};
  for (let round = 1; round <= ROUNDS; round++) {
    // Each round starts with another variant: what ran just before (its closes, its garbage) rotates too.
    for (let k = 0; k < variants.length; k++) {
      const v = /** @type {Variant} */ (variants[(round - 1 + k) % variants.length]);
      const url = await v.url();
      const before = { room: cpuSeconds(v.room).total, proxy: cpuSeconds(v.proxy).total, clients: ownCpu() };
      const start = performance.now();
      const sockets = await storm(url, v.roster);
      const ms = performance.now() - start;
      const spent = {
        room: cpuSeconds(v.room).total - before.room,
        proxy: cpuSeconds(v.proxy).total - before.proxy,
        clients: ownCpu() - before.clients,
      };
      const r = (results[v.name] ??= { ms: [], room: [], proxy: [], clients: [] });
      r.ms.push(ms);
      r.room.push(spent.room);
      r.proxy.push(spent.proxy);
      r.clients.push(spent.clients);
      console.log(
        `round ${round}/${ROUNDS} ${v.name}: all ready in ${ms.toFixed(0)} ms; CPU s: room ${spent.room.toFixed(2)}, proxy ${spent.proxy.toFixed(2)}, clients ${spent.clients.toFixed(2)}`,
      );
      await Promise.all(sockets.map((ws) => new Promise((resolve) => (ws.once('close', resolve), ws.close(1000)))));
    }
  }
  const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const reference = /** @type {(typeof results)[string]} */ (results.partyserver);
  // Within a round the variants ran back to back; the machine's speed moves between rounds.
  const perRound = (/** @type {number[]} */ xs, /** @type {number[]} */ ref) =>
    median(xs.map((x, i) => x / (ref[i] ?? NaN)));
  console.log(
    '\nmedians: variant | all ready, ms | CPU s: room | proxy | clients | ÷ partyserver per round: wall, room CPU',
  );
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `${name} | ${median(r.ms).toFixed(0)} | ${median(r.room).toFixed(2)} | ${median(r.proxy).toFixed(2)} | ${median(r.clients).toFixed(2)} | ${perRound(r.ms, reference.ms).toFixed(2)}×, ${perRound(r.room, reference.room).toFixed(2)}×`,
    );
  }
} finally {
  await Promise.all([server.stop(), party.stop(), other?.stop()]);
}
