// @ts-check
/**
 * Slow consumers: what sockets that stop reading cost a room and its other
 * subscribers, with and without the backlog policy (docs/protocol.md, Slow consumers).
 *
 *   npx node bench/load/slow-consumer.mjs [--values=20000] [--bytes=1024] [--subscribers=10] [--paused=20] [--variants=none,hello,driftdb]
 *
 * A publisher appends `values` values of `bytes` that do not compress (random
 * base64) to one stream, `batch` at a time with a ping round trip between
 * batches, so it goes as fast as the room takes them. `subscribers` sockets
 * read everything, ack as our client does, and time each value from its
 * publish. Alongside them, `paused` sockets subscribe and then stop reading
 * (`ws._socket.pause()`), in one of three variants, each on a workerd of its own
 * (workerd keeps the memory it once used):
 *
 * - none: no paused sockets, the baseline;
 * - hello: paused sockets that said hello with `acks` (the policy applies: close 4291);
 * - driftdb: paused DriftDB-style sockets (no hello, no receipts: no policy).
 *
 * Reported per variant: the room process's resident memory (the workerd user
 * runtime, test/e2e/crash/processes.ts) before, at its peak and after the run,
 * and again once the paused sockets are gone; the peak of every workerd process
 * together (wrangler's proxy in front too, as test/e2e/flood/memory.ts counts); the readers' latency p50/p99;
 * whether and when the room closed the paused sockets (a paused socket cannot
 * read its close, so this is when a watcher saw it leave presence, and the
 * code it reads once it reads again).
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { workerdMiB } from '../../test/e2e/flood/memory.ts';
import { options, start, summary } from './lib/cli.mjs';
import { mib, rssMiB, runtimePid } from './lib/memory.mjs';
import { LOAD_VARS, newRoom, startServer } from './lib/server.mjs';
import { until, within } from './lib/wait.mjs';

const opts = options({
  values: 20_000,
  bytes: 1024,
  subscribers: 10,
  paused: 20,
  batch: 200,
  variants: 'none,hello,driftdb',
});
const log = start('slow-consumer');
const KEY = 'feed';
/** The runtime's answer to a bare ping: receipts leave it out (worker/backlog.ts). */
const AUTO_PONG = '{"type":"pong","nonce":null}';
/** A hello socket that sends nothing for halfOpenSeconds is swept (4004): out of the way here. */
const VARS = { ...LOAD_VARS, HALF_OPEN_SECONDS: '3600' };
/** Every wait is bounded; a whole variant too. */
const VARIANT_TIMEOUT_MS = 15 * 60_000;
let nonces = 0;

/** @typedef {'none' | 'hello' | 'driftdb'} Variant */
/**
 * @typedef {{ variant: Variant, beforeMiB: number, peakMiB: number, afterMiB: number, goneMiB: number, allPeakMiB: number,
 *   p50: number, p99: number, publishS: number, closed: number, closeCodes: string, firstCloseS: number, lastCloseS: number,
 *   readersClosed: number, missing: number }} Result
 */

/** @type {Result[]} */
const results = [];
const variants = /** @type {Variant[]} */ (opts.variants.split(','));
for (const variant of variants) {
  if (!['none', 'hello', 'driftdb'].includes(variant)) throw new Error(`unknown variant ${variant}`);
  log(
    `variant ${variant}: ${variant === 'none' ? 'no' : opts.paused} paused sockets, ${opts.subscribers} readers, ${opts.values} × ${opts.bytes} B`,
  );
  results.push(await within(onFreshServer(variant), VARIANT_TIMEOUT_MS, `variant ${variant}`));
}
report(results);
process.exit(0);

/** @param {Variant} variant */
async function onFreshServer(variant) {
  const server = await startServer(VARS);
  try {
    return await run(server, variant);
  } finally {
    await server.stop();
  }
}

/**
 * @param {{ url: string, persist: string }} server
 * @param {Variant} variant
 * @returns {Promise<Result>}
 */
async function run(server, variant) {
  const { socket_url: url } = await newRoom(server.url);
  const latencies = /** @type {number[]} */ ([]);
  const readers = await Promise.all(Array.from({ length: opts.subscribers }, () => reader(url, latencies)));
  const publisher = await open(url);
  await roundTrip(publisher);
  const pid = runtimePid(server.persist);
  if (pid === undefined) throw new Error('no workerd user runtime found for the server');

  const paused =
    variant === 'none'
      ? []
      : await Promise.all(Array.from({ length: opts.paused }, () => pausedSocket(url, variant === 'hello')));
  const pausedConns = new Map(paused.map((p) => [p.conn, p]));
  /** When a watcher saw each paused socket leave presence (ms since the publisher started). */
  const left = /** @type {Map<string, number>} */ (new Map());
  let publishStart = 0;
  const watcher = readers[0];
  if (!watcher) throw new Error('--subscribers must be at least 1: the first reader watches presence');
  watcher.onPresence = (m) => {
    if (m.event === 'leave' && pausedConns.has(m.peer.conn)) left.set(m.peer.conn, performance.now() - publishStart);
  };
  await settle();
  const beforeMiB = rssMiB(pid);
  let peakMiB = beforeMiB;
  let allPeakMiB = workerdMiB() ?? NaN;
  const sampler = setInterval(() => {
    peakMiB = Math.max(peakMiB, rssMiB(pid));
    allPeakMiB = Math.max(allPeakMiB, workerdMiB() ?? NaN);
  }, 100);

  publishStart = performance.now();
  let lastNote = publishStart;
  for (let i = 0; i < opts.values; i += opts.batch) {
    for (let j = i; j < Math.min(i + opts.batch, opts.values); j++) {
      publisher.send(
        JSON.stringify({
          type: 'push',
          key: KEY,
          action: { type: 'append' },
          value: { i: j, t: Date.now(), p: noise(opts.bytes) },
        }),
      );
    }
    await roundTrip(publisher, 60_000);
    if (performance.now() - lastNote > 5000) {
      lastNote = performance.now();
      log(
        `  ${Math.min(i + opts.batch, opts.values)}/${opts.values} appended, ${mib(rssMiB(pid))}, ${left.size} paused sockets closed so far`,
      );
    }
  }
  const publishS = (performance.now() - publishStart) / 1000;
  await until(
    () => readers.every((r) => r.values >= opts.values || r.closed !== undefined),
    120_000,
    () => `readers to get all ${opts.values} values (${readers.map((r) => r.values).join(', ')})`,
  );
  await settle();
  clearInterval(sampler);
  peakMiB = Math.max(peakMiB, rssMiB(pid));
  const afterMiB = rssMiB(pid);
  log(
    `  published in ${publishS.toFixed(1)} s; ${mib(afterMiB)} with the paused sockets still there; ${left.size} of ${paused.length} seen leaving`,
  );

  // They read again: each learns how the room closed it (or is still open, and is closed now).
  const codes = await Promise.all(paused.map((p) => p.resume()));
  const closeCodes = [...new Set(codes)].map((code) => `${code}×${codes.filter((c) => c === code).length}`).join(' ');
  await settle(5000);
  const goneMiB = rssMiB(pid);
  log(`  paused sockets gone (codes ${closeCodes || '-'}): ${mib(goneMiB)}`);

  latencies.sort((a, b) => a - b);
  const at = (/** @type {number} */ q) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  const times = [...left.values()].sort((a, b) => a - b);
  const result = {
    variant,
    beforeMiB,
    peakMiB,
    afterMiB,
    goneMiB,
    allPeakMiB,
    p50: at(0.5),
    p99: at(0.99),
    publishS,
    closed: left.size,
    closeCodes,
    firstCloseS: (times[0] ?? NaN) / 1000,
    lastCloseS: (times.at(-1) ?? NaN) / 1000,
    readersClosed: readers.filter((r) => r.closed !== undefined).length,
    missing: readers.reduce((n, r) => n + (opts.values - r.values), 0),
  };
  for (const r of readers) r.ws.terminate();
  publisher.terminate();
  return result;
}

/** Incompressible: base64 of random bytes, `bytes` long. @param {number} bytes */
function noise(bytes) {
  return randomBytes(Math.ceil((bytes * 3) / 4))
    .toString('base64')
    .slice(0, bytes);
}

/** @param {string} url */
async function open(url) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await within(
    new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    }),
    30_000,
    'a socket to open',
  );
  return ws;
}

/** A ping the room answers after every frame sent before it. @param {WebSocket} ws */
function roundTrip(ws, timeoutMs = 30_000) {
  const nonce = ++nonces;
  const needle = `"nonce":${nonce}}`;
  /** @type {(data: Buffer) => void} */
  let onMessage = () => {};
  return within(
    new Promise((resolve) => {
      onMessage = (data) => {
        if (data.includes(needle)) resolve(undefined);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ type: 'ping', nonce }));
    }),
    timeoutMs,
    `a pong (nonce ${nonce})`,
  ).finally(() => ws.off('message', onMessage));
}

/**
 * A reader as our client reads: hello with `acks`, subscribed, acking the length
 * received every `ackEveryBytes`, timing each value from its publish.
 * @param {string} url
 * @param {number[]} latencies
 */
async function reader(url, latencies) {
  const ws = await open(url);
  /** @type {{ ws: WebSocket, values: number, closed: number | undefined, onPresence: (m: any) => void }} */
  const r = { ws, values: 0, closed: undefined, onPresence: () => {} };
  let got = 0;
  let acked = 0;
  let ackEvery = Infinity;
  /** @type {(welcome: any) => void} */
  let welcomed = () => {};
  const welcome = new Promise((resolve) => (welcomed = resolve));
  ws.on('message', (data) => {
    const text = String(data);
    if (text !== AUTO_PONG && (got += text.length) - acked >= ackEvery)
      ws.send(JSON.stringify({ type: 'ack', received: (acked = got) }));
    const now = Date.now();
    for (const m of [JSON.parse(text)].flat()) {
      if (m.type === 'welcome') {
        ackEvery = m.limits.ackEveryBytes ?? Infinity;
        welcomed(m);
      } else if (m.type === 'push' && m.key === KEY) {
        r.values++;
        latencies.push(now - m.value.t);
      } else if (m.type === 'presence') r.onPresence(m);
    }
  });
  ws.on('close', (code) => (r.closed = code));
  ws.send(JSON.stringify({ type: 'hello', protocol: 1, acks: true }));
  await within(welcome, 30_000, 'a welcome');
  ws.send(JSON.stringify({ type: 'sub', key: KEY, replay: false }));
  await roundTrip(ws);
  return r;
}

/**
 * A socket that subscribes and then stops reading: its TCP receive window
 * fills and the room's runtime buffers what it sends. `hello`: it said hello
 * with `acks` (and subscribed); otherwise it is DriftDB-style and gets every push.
 * @param {string} url
 * @param {boolean} hello
 */
async function pausedSocket(url, hello) {
  const ws = await open(url);
  let conn = '';
  if (hello) {
    const welcome = new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)))));
    ws.send(JSON.stringify({ type: 'hello', protocol: 1, acks: true }));
    conn = /** @type {any} */ (await within(welcome, 30_000, 'a welcome')).conn;
    ws.send(JSON.stringify({ type: 'sub', key: KEY, replay: false }));
  }
  await roundTrip(ws);
  const closed = /** @type {Promise<number>} */ (new Promise((resolve) => ws.once('close', (code) => resolve(code))));
  ws.on('error', () => {});
  /** @type {import('node:net').Socket} */ (/** @type {any} */ (ws)._socket).pause();
  return {
    conn,
    /** Reads again: the close code the room sent, or 1000 for ours after draining what is there. */
    async resume() {
      /** @type {any} */ (ws)._socket.resume();
      if (ws.readyState === WebSocket.OPEN) {
        // Still open after reading for a moment: the room never closed it; we do.
        const code = await within(closed, 5000, 'a close').catch(() => undefined);
        if (code !== undefined) return code;
        ws.close(1000);
      }
      return within(closed, 60_000, 'a close').catch(() => (ws.terminate(), -1));
    },
  };
}

/** Lets the room and the runtime catch up before a memory reading. */
function settle(ms = 2000) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** @param {Result[]} rows */
function report(rows) {
  const base = rows.find((r) => r.variant === 'none');
  const line = (/** @type {string[]} */ cells) => `| ${cells.join(' | ')} |`;
  console.log('');
  console.log(
    line([
      'variant',
      'RSS before',
      'peak',
      'after',
      'paused gone',
      'peak − before',
      'all workerd peak',
      'p50 ms',
      'p99 ms',
      'publish s',
      'paused closed by room',
      'codes read',
      'first/last close s',
      'readers closed',
      'values missing',
    ]),
  );
  console.log(line(Array(15).fill('---')));
  for (const r of rows) {
    console.log(
      line([
        r.variant,
        mib(r.beforeMiB),
        mib(r.peakMiB),
        mib(r.afterMiB),
        mib(r.goneMiB),
        mib(r.peakMiB - r.beforeMiB),
        mib(r.allPeakMiB),
        r.p50.toFixed(0),
        r.p99.toFixed(0),
        r.publishS.toFixed(1),
        String(r.closed),
        r.closeCodes || '-',
        Number.isFinite(r.firstCloseS) ? `${r.firstCloseS.toFixed(1)}/${r.lastCloseS.toFixed(1)}` : '-',
        String(r.readersClosed),
        String(r.missing),
      ]),
    );
  }
  for (const r of rows) {
    const vs =
      base && r !== base
        ? `; peak growth ×${((r.peakMiB - r.beforeMiB) / Math.max(1, base.peakMiB - base.beforeMiB)).toFixed(2)} and p99 ×${(r.p99 / base.p99).toFixed(2)} of none's`
        : '';
    summary(
      `slow-consumer ${r.variant}: peak ${mib(r.peakMiB)} (from ${mib(r.beforeMiB)}), after the paused sockets left ${mib(r.goneMiB)}, ` +
        `p50/p99 ${r.p50.toFixed(0)}/${r.p99.toFixed(0)} ms, paused closed by the room ${r.closed}${r.closeCodes ? ` (read ${r.closeCodes})` : ''}${vs}`,
    );
  }
}
