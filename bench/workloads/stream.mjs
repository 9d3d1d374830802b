/**
 * Helpers for edgeroom's stored streams: fill a stream with appends, and
 * read a replay (one or more `init` frames, the last without `more`).
 */
import { messageIndex, pushFrame } from '../lib/payload.mjs';
import { openSocket, waitFor } from '../lib/sockets.mjs';

/**
 * Appends `count` messages to `key` (indexes from `firstIndex`), keeping at
 * most `window` unconfirmed; an observer subscribed to `key` confirms them.
 * @param {import('../contenders/contender.mjs').Room} room
 * @param {import('ws').WebSocket} publisher a quiet socket in `room`
 * @param {{ key: string, count: number, firstIndex?: number, window?: number }} options
 */
export async function appendMany(room, publisher, { key, count, firstIndex = 0, window = 200 }) {
  let sent = 0;
  let seen = 0;
  const all = waitFor(() => seen === count, 60_000, `${count} appends to be stored`);
  const pump = () => {
    while (sent < count && sent - seen < window) publisher.send(pushFrame('append', key, firstIndex + sent++));
  };
  const observer = await openSocket(room.url, (frame) => {
    if (messageIndex(frame) < 0) return;
    seen++;
    pump();
    all.poke();
  });
  try {
    await room.subscribe(observer, key);
    pump();
    await all.done;
  } finally {
    observer.terminate();
  }
}

/**
 * Collects the entries of one replay of `key` on `socket` until the `init`
 * frame without `more`. Call before sending the `sub`.
 * @param {import('ws').WebSocket} socket
 * @param {string} key
 * @param {number} timeoutMs
 * @returns {Promise<{ entries: { value: unknown, seq: number }[], frames: number, at: number }>}
 */
export function collectReplay(socket, key, timeoutMs) {
  /** @type {{ value: unknown, seq: number }[]} */
  const entries = [];
  let frames = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('message', onFrame);
      reject(new Error(`replay of ${key} not finished within ${timeoutMs} ms (${entries.length} entries so far)`));
    }, timeoutMs);
    function onFrame(/** @type {Buffer} */ data) {
      if (data.indexOf('"init"') < 0) return;
      const frame = JSON.parse(data.toString());
      if (frame.type !== 'init' || frame.key !== key) return;
      frames++;
      for (const entry of frame.data) entries.push(entry);
      if (frame.more) return;
      const at = performance.now();
      clearTimeout(timer);
      socket.off('message', onFrame);
      resolve({ entries, frames, at });
    }
    socket.on('message', onFrame);
  });
}

/**
 * Throws unless `entries` are exactly `count` values with strictly increasing
 * seq and consecutive indexes starting at `firstIndex`.
 * @param {{ value: unknown, seq: number }[]} entries
 * @param {number} count
 * @param {number} firstIndex
 */
export function checkEntries(entries, count, firstIndex) {
  if (entries.length !== count) throw new Error(`replay gave ${entries.length} entries, expected ${count}`);
  let previous = -Infinity;
  entries.forEach((entry, k) => {
    const index = /** @type {{ i?: unknown }} */ (entry.value)?.i;
    if (index !== firstIndex + k) throw new Error(`replay entry ${k} has index ${index}, expected ${firstIndex + k}`);
    if (!(entry.seq > previous)) throw new Error(`replay seq not increasing at entry ${k}`);
    previous = entry.seq;
  });
}
