/** WebSocket helpers for the load generator; every wait has a deadline. */
import WebSocket from 'ws';

// Same client options for every contender: no compression, no UTF-8 check.
const CLIENT_OPTIONS = { perMessageDeflate: false, skipUTF8Validation: true };

/**
 * @param {string} url
 * @param {(frame: Buffer) => void} onFrame
 * @param {number} [timeoutMs]
 * @param {string[]} [protocols] Sec-WebSocket-Protocol entries to offer
 * @returns {Promise<WebSocket>}
 */
export function openSocket(url, onFrame, timeoutMs = 20_000, protocols = []) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols, CLIENT_OPTIONS);
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`socket did not open within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('message', (/** @type {Buffer} */ data) => onFrame(data));
    socket.once('open', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/**
 * Opens `count` sockets, at most `parallel` handshakes at a time.
 * @param {number} count
 * @param {number} parallel
 * @param {(index: number) => Promise<WebSocket>} open
 */
export async function openMany(count, parallel, open) {
  /** @type {WebSocket[]} */
  const sockets = new Array(count);
  let next = 0;
  async function lane() {
    while (next < count) {
      const index = next++;
      sockets[index] = await open(index);
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane));
  } catch (error) {
    await closeAll(sockets.filter(Boolean));
    throw error;
  }
  return sockets;
}

/**
 * Closes politely, then terminates whatever is still open after the deadline.
 * @param {WebSocket[]} sockets
 * @param {number} [timeoutMs]
 */
export async function closeAll(sockets, timeoutMs = 5_000) {
  const closed = sockets.map(
    (socket) =>
      new Promise((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve(undefined);
        socket.once('close', resolve);
        if (socket.readyState === WebSocket.OPEN) socket.close(1000);
      }),
  );
  let timer;
  const deadline = new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([Promise.all(closed), deadline]);
  clearTimeout(timer);
  for (const socket of sockets) if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
}

/**
 * Resolves when `condition()` holds, checked on every `poke()`; rejects at the deadline.
 * @param {() => boolean} condition
 * @param {number} timeoutMs
 * @param {string} what
 */
export function waitFor(condition, timeoutMs, what) {
  /** @type {() => void} */
  let poke = () => {};
  const done = new Promise((resolve, reject) => {
    if (condition()) return resolve(undefined);
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    poke = () => {
      if (!condition()) return;
      clearTimeout(timer);
      resolve(undefined);
    };
  });
  return { done, poke: () => poke() };
}
