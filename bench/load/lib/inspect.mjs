// @ts-check
/**
 * What the room process holds, beyond its resident size: the worker isolate's
 * JavaScript heap (live objects, after a full garbage collection, through the
 * V8 inspector wrangler exposes), and the rooms' SQLite files on disk. Used by
 * the soak to tell a leak in our code (live heap growing) from stored data
 * (database growing) and from the allocator keeping what it once used.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';

/**
 * A minimal Chrome DevTools Protocol client; every call bounded by `timeoutMs`.
 * @param {string} url
 * @param {number} [timeoutMs]
 */
export async function devtools(url, timeoutMs = 60_000) {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let id = 0;
  /** @type {Map<number, (message: any) => void>} */
  const waiting = new Map();
  /** @type {Map<string, (params: any) => void>} */
  const listeners = new Map();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data));
    if (message.id !== undefined) waiting.get(message.id)?.(message);
    else if (message.method !== undefined) listeners.get(message.method)?.(message.params);
  });
  /** @param {string} method @param {object} [params] @returns {Promise<any>} */
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const mine = ++id;
      const timer = setTimeout(() => {
        waiting.delete(mine);
        reject(new Error(`${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(mine, (message) => {
        clearTimeout(timer);
        waiting.delete(mine);
        if (message.error) reject(new Error(`${method}: ${message.error.message}`));
        else resolve(message.result);
      });
      socket.send(JSON.stringify({ id: mine, method, params }));
    });
  /** Events of one method go to `listener` (one per method). @param {string} method @param {(params: any) => void} listener */
  const on = (method, listener) => void listeners.set(method, listener);
  return { call, on, close: () => socket.close() };
}

/**
 * The isolate's JavaScript heap in MiB: what V8 has committed for it (before
 * a collection), and what is live (used after a full collection).
 *
 * workerd answers a collection only once the isolate runs something else, so
 * an idle server needs `poke` (a request to the worker), called every 250 ms
 * until the answer comes; a busy one answers without it.
 * @param {Awaited<ReturnType<typeof devtools>>} cdp
 * @param {() => Promise<unknown>} [poke]
 */
export async function heapMiB(cdp, poke) {
  const before = await cdp.call('Runtime.getHeapUsage');
  const collected = cdp.call('HeapProfiler.collectGarbage');
  if (poke) {
    let done = false;
    collected.finally(() => (done = true)).catch(() => {});
    while (!done) {
      await poke().catch(() => {});
      await Promise.race([collected.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 250))]);
    }
  }
  await collected;
  const after = await cdp.call('Runtime.getHeapUsage');
  return { committed: before.totalSize / 2 ** 20, live: after.usedSize / 2 ** 20 };
}

/**
 * Counts of the isolate's objects by constructor name, from a heap snapshot:
 * e.g. how many `Connection`s the rooms hold.
 * @param {Awaited<ReturnType<typeof devtools>>} cdp
 * @returns {Promise<Map<string, number>>}
 */
export async function objectCounts(cdp) {
  let text = '';
  cdp.on('HeapProfiler.addHeapSnapshotChunk', ({ chunk }) => {
    text += chunk;
  });
  await cdp.call('HeapProfiler.enable');
  await cdp.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  const snapshot = JSON.parse(text);
  const fields = snapshot.snapshot.meta.node_fields;
  const [typeAt, nameAt] = [fields.indexOf('type'), fields.indexOf('name')];
  const object = snapshot.snapshot.meta.node_types[0].indexOf('object');
  /** @type {Map<string, number>} */
  const counts = new Map();
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    if (snapshot.nodes[i + typeAt] !== object) continue;
    const name = snapshot.strings[snapshot.nodes[i + nameAt]];
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

/**
 * Bytes of the rooms' SQLite files (databases and their write-ahead logs) under a server's state directory, in MiB.
 * @param {string} persist
 */
export function storedMiB(persist) {
  let bytes = 0;
  /** @param {string} dir */
  const walk = (dir) => {
    let names = [];
    try {
      names = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of names) {
      const path = join(dir, d.name);
      if (d.isDirectory()) walk(path);
      else if (d.isFile())
        try {
          bytes += statSync(path).size;
        } catch {
          /* removed meanwhile */
        }
    }
  };
  walk(join(persist, 'v3', 'do'));
  return bytes / 2 ** 20;
}
