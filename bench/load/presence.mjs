/**
 * Presence at scale: how much longer opening N sockets to one room takes when
 * each says `hello` (and so joins presence) than when they stay DriftDB-style,
 * measured side by side in one run, and how much the room's process grows.
 *
 *   npx node bench/load/presence.mjs [--sockets=1000] [--at-once=50] [--rounds=3]
 *
 * Each round opens N plain sockets into one room, then N hello sockets into
 * another (the order alternates between rounds, so drift on a noisy machine
 * falls on both). Each variant runs on a workerd of its own, warmed up first,
 * because workerd keeps the memory it once used. A plain socket counts once it
 * is open; a hello socket once its `welcome` arrives. `--at-once` sockets are
 * opening at any moment. Memory is the resident size of the workerd process
 * that runs the room (not wrangler's proxy), before the variant and once all are in.
 * The target (issue 11): hello ÷ plain ≤ 2.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import WebSocket from 'ws';
import { BENCH_VARS, EDGEROOM_CONFIG, newEdgeroomRoom, roundTrip } from '../contenders/edgeroom.mjs';
import { setLocalObservability, startWorkerd } from '../contenders/workerd.mjs';
import { closeAll, openSocket } from '../lib/sockets.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([a-z-]+)=(\d+)$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}; use --sockets=N --at-once=N --rounds=N`);
    return [m[1], Number(m[2])];
  }),
);
for (const name of Object.keys(args))
  if (!['sockets', 'at-once', 'rounds'].includes(name)) throw new Error(`unknown option --${name}`);
const SOCKETS = args.sockets ?? 1000;
const AT_ONCE = args['at-once'] ?? 50;
const ROUNDS = args.rounds ?? 3;
/** A socket that takes longer than this to open (or to be welcomed) fails the run. */
const SOCKET_TIMEOUT_MS = 60_000;
/** A whole variant that takes longer than this fails the run. */
const VARIANT_TIMEOUT_MS = 300_000;

// Same client options as the rest of the bench: no compression, no UTF-8 check.
const CLIENT_OPTIONS = { perMessageDeflate: false, skipUTF8Validation: true };

// The room's own limits out of the way: one address opens everything, and a
// hello socket that sends nothing for halfOpenSeconds would be swept (4004).
const VARS = { ...BENCH_VARS, HALF_OPEN_SECONDS: '3600' };

setLocalObservability(false);
const started = performance.now();
const log = (/** @type {string} */ text) =>
  console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${text}`);

/**
 * CPU seconds tell where a variant's time went: the room's workerd, wrangler's
 * proxy in front of it, or this load generator (all share the machine's cores).
 * @typedef {{ variant: 'plain' | 'hello', round: number, ms: number, beforeMiB: number, afterMiB: number, roomCpuS: number, proxyCpuS: number, clientCpuS: number }} Result
 */
/** @type {Result[]} */
const results = [];
log(`${SOCKETS} sockets per variant, ${AT_ONCE} opening at a time, ${ROUNDS} rounds`);
for (let round = 1; round <= ROUNDS; round++) {
  /** @type {Result['variant'][]} */
  const order = round % 2 === 1 ? ['plain', 'hello'] : ['hello', 'plain'];
  for (const variant of order) results.push(await onFreshServer(variant, round));
}
report(results);

/**
 * workerd keeps the memory it once used, so each variant gets a server of its
 * own, warmed up (JIT, first allocations) by a smaller run that is not counted.
 * @param {'plain' | 'hello'} variant
 * @param {number} round
 */
async function onFreshServer(variant, round) {
  const server = await startWorkerd(EDGEROOM_CONFIG, VARS);
  try {
    await measure(server.origin, variant, 0, Math.min(100, SOCKETS));
    return await measure(server.origin, variant, round, SOCKETS);
  } finally {
    await server.stop();
  }
}

/**
 * Opens `count` sockets of one variant into a fresh room, then closes them all
 * and waits until the room has handled the closes.
 * @param {string} origin
 * @param {'plain' | 'hello'} variant
 * @param {number} round (0: the warm-up)
 * @param {number} count
 * @returns {Promise<Result>}
 */
async function measure(origin, variant, round, count) {
  const url = await newEdgeroomRoom(origin);
  const before = workerd();
  const clientBefore = process.cpuUsage();
  /** @type {WebSocket[]} */
  const sockets = [];
  let done = 0;
  let next = 0;
  const start = performance.now();
  const step = Math.max(1, Math.round(count / 4));
  const lane = async () => {
    while (next < count) {
      const index = next++;
      sockets.push(
        await (variant === 'hello' ? openHello(url, index, round) : openSocket(url, () => {}, SOCKET_TIMEOUT_MS)),
      );
      if (++done % step === 0 && done < count)
        log(`  ${variant} round ${round}: ${done}/${count} in ${(performance.now() - start).toFixed(0)} ms`);
    }
  };
  let timer;
  try {
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${variant}: not all ${count} in within ${VARIANT_TIMEOUT_MS} ms`)),
        VARIANT_TIMEOUT_MS,
      );
    });
    await Promise.race([Promise.all(Array.from({ length: Math.min(AT_ONCE, count) }, lane)), deadline]);
  } finally {
    clearTimeout(timer);
  }
  const ms = performance.now() - start;
  const after = workerd();
  const client = process.cpuUsage(clientBefore);
  const [beforeMiB, afterMiB] = [before.mib, after.mib];
  const roomCpuS = after.roomCpuS - before.roomCpuS;
  const proxyCpuS = after.proxyCpuS - before.proxyCpuS;
  const clientCpuS = (client.user + client.system) / 1e6;
  log(
    `${variant} round ${round}: all ${count} ${variant === 'hello' ? 'welcomed' : 'open'} in ${ms.toFixed(0)} ms; room process ${beforeMiB.toFixed(0)} → ${afterMiB.toFixed(0)} MiB; CPU s room ${roomCpuS.toFixed(1)}, proxy ${proxyCpuS.toFixed(1)}, client ${clientCpuS.toFixed(1)}`,
  );
  await closeAll(sockets, 30_000);
  // Settle before the next variant: the closes reached the room before this
  // ping, and one room handles its events one at a time, so by its pong the
  // room has (as far as we can tell from outside) worked through the leaves.
  const probe = await openSocket(url, () => {}, SOCKET_TIMEOUT_MS);
  await roundTrip(probe, SOCKET_TIMEOUT_MS);
  await closeAll([probe]);
  return { variant, round, ms, beforeMiB, afterMiB, roomCpuS, proxyCpuS, clientCpuS };
}

/**
 * Opens a socket, says hello with a secret of its own, and resolves on its
 * welcome. Frames after the welcome (other sockets' joins) are not parsed: the
 * clients share this machine's cores with the room.
 * @param {string} url @param {number} index @param {number} round
 * @returns {Promise<WebSocket>}
 */
function openHello(url, index, round) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, CLIENT_OPTIONS);
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`socket ${index} was not welcomed within ${SOCKET_TIMEOUT_MS} ms`));
    }, SOCKET_TIMEOUT_MS);
    const secret = `bench-r${round}-s${index}-${crypto.randomUUID()}`;
    /** @param {Buffer} data */
    const onFrame = (data) => {
      if (data.indexOf('"welcome"') < 0) return;
      // Several messages may share one frame, as a JSON array.
      const parsed = JSON.parse(data.toString());
      if (![parsed].flat().some((m) => m?.type === 'welcome')) return;
      clearTimeout(timer);
      socket.off('message', onFrame);
      resolve(socket);
    };
    socket.on('message', onFrame);
    socket.once('open', () => socket.send(JSON.stringify({ type: 'hello', protocol: 1, secret })));
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/**
 * The local server is two workerd processes under this one: wrangler's proxy,
 * which every request and frame passes through, and the runtime that runs the
 * room. The room's is the one holding the Durable Objects' SQLite files open.
 * Returns its resident MiB and the CPU seconds of each so far, read from /proc
 * (NaN off Linux). See also test/e2e/flood/memory.ts.
 */
function workerd() {
  /** @type {Map<number, { ppid: number, name: string, rss: number, ticks: number }>} */
  const stats = new Map();
  let pids;
  try {
    pids = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return { mib: NaN, roomCpuS: NaN, proxyCpuS: NaN };
  }
  for (const pid of pids) {
    try {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.set(pid, {
        ppid: Number(fields[1]),
        name: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')),
        rss: Number(fields[21]),
        ticks: Number(fields[11]) + Number(fields[12]),
      });
    } catch {
      // The process ended while we looked.
    }
  }
  const mine = (/** @type {number} */ pid) => {
    for (let p = pid, hops = 0; p > 1 && hops < 50; hops++) {
      if (p === process.pid) return true;
      p = stats.get(p)?.ppid ?? 0;
    }
    return false;
  };
  const holdsRooms = (/** @type {number} */ pid) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`).includes('/do/edgeroom-Room');
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  };
  let [mib, roomCpuS, proxyCpuS] = [NaN, 0, 0];
  for (const [pid, s] of stats) {
    if (s.name !== 'workerd' || !mine(pid)) continue;
    // Pages of 4 KiB and clock ticks of 10 ms, as on every Linux this runs on.
    if (holdsRooms(pid)) {
      mib = (s.rss * 4096) / (1024 * 1024);
      roomCpuS += s.ticks / 100;
    } else proxyCpuS += s.ticks / 100;
  }
  return { mib, roomCpuS, proxyCpuS };
}

/** @param {Result[]} rows */
function report(rows) {
  /** @type {Map<number, Partial<Record<Result['variant'], Result>>>} */
  const byRound = new Map();
  for (const r of rows) byRound.set(r.round, { ...byRound.get(r.round), [r.variant]: r });
  const per1000 = (/** @type {Result} */ r) => ((r.afterMiB - r.beforeMiB) * 1000) / SOCKETS;
  console.log(`\n${SOCKETS} sockets, ${AT_ONCE} at once`);
  console.log(
    'round | plain open ms | hello welcomed ms | hello ÷ plain | room MiB/1000 plain | room MiB/1000 hello | CPU s plain (room/proxy/client) | CPU s hello (room/proxy/client)',
  );
  console.log('---|---|---|---|---|---|---|---');
  const cpu = (/** @type {Result} */ r) =>
    `${r.roomCpuS.toFixed(1)} / ${r.proxyCpuS.toFixed(1)} / ${r.clientCpuS.toFixed(1)}`;
  /** @type {number[]} */
  const ratios = [];
  for (const [round, { plain, hello }] of byRound) {
    if (!plain || !hello) throw new Error(`round ${round} has no ${plain ? 'hello' : 'plain'} result`);
    const ratio = hello.ms / plain.ms;
    ratios.push(ratio);
    console.log(
      `${round} | ${plain.ms.toFixed(0)} | ${hello.ms.toFixed(0)} | ${ratio.toFixed(2)}× | ${per1000(plain).toFixed(0)} | ${per1000(hello).toFixed(0)} | ${cpu(plain)} | ${cpu(hello)}`,
    );
  }
  const median = (/** @type {number[]} */ v) => {
    const s = [...v].sort((a, b) => a - b);
    const at = (/** @type {number} */ k) => s[k] ?? NaN; // no values: NaN
    return s.length % 2 ? at((s.length - 1) / 2) : (at(s.length / 2 - 1) + at(s.length / 2)) / 2;
  };
  const of = (/** @type {'plain' | 'hello'} */ v, /** @type {(r: Result) => number} */ f) =>
    median(rows.filter((r) => r.variant === v).map(f));
  console.log(
    `median | ${of('plain', (r) => r.ms).toFixed(0)} | ${of('hello', (r) => r.ms).toFixed(0)} | ${median(ratios).toFixed(2)}× | ${of('plain', per1000).toFixed(0)} | ${of('hello', per1000).toFixed(0)} | | `,
  );
  console.log(
    `\ntarget hello ÷ plain ≤ 2: ${median(ratios) <= 2 ? 'met' : 'NOT met'} (median of ${ratios.length} rounds)`,
  );
}
