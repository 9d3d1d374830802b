// @ts-check
/**
 * A raw socket (the `ws` package, no client library) that unpacks the room's
 * frames, batched arrays included, answers its own pings, and remembers every
 * error frame and every close it did not ask for.
 */
import WebSocket from 'ws';
import { within } from './wait.mjs';

let nonces = 0;

export class RawSocket {
  /** Error frames from the room, and socket errors. @type {unknown[]} */
  errors = [];
  /** Close code of a close this side did not start. @type {number | undefined} */
  unexpectedClose;
  #closing = false;
  /** @type {Map<number, () => void>} */
  #pongs = new Map();

  /**
   * @param {string} url
   * @param {(message: any) => void} [onMessage] every message, in order
   */
  constructor(url, onMessage = () => {}) {
    const ws = (this.ws = new WebSocket(url, { perMessageDeflate: false }));
    this.opened = /** @type {Promise<void>} */ (
      new Promise((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      })
    );
    this.closed = /** @type {Promise<number>} */ (new Promise((resolve) => ws.once('close', (code) => resolve(code))));
    ws.on('message', (data) => {
      for (const message of [JSON.parse(String(data))].flat()) {
        if (message.type === 'pong') this.#pongs.get(message.nonce)?.();
        else if (message.type === 'error') this.errors.push(message);
        onMessage(message);
      }
    });
    ws.on('error', (error) => this.errors.push(String(error)));
    ws.on('close', (code) => {
      if (!this.#closing) this.unexpectedClose = code;
    });
  }

  /** @param {object} frame */
  send(frame) {
    this.ws.send(JSON.stringify(frame));
  }

  /**
   * A ping round trip. The room handles a socket's frames in order and sends in
   * order, so once the pong is here, so is everything the room sent this socket before it.
   */
  ping(timeoutMs = 30_000) {
    const nonce = ++nonces;
    const pong = /** @type {Promise<void>} */ (new Promise((resolve) => this.#pongs.set(nonce, () => resolve())));
    this.send({ type: 'ping', nonce });
    return within(pong, timeoutMs, `a pong (nonce ${nonce})`).finally(() => this.#pongs.delete(nonce));
  }

  /** Closes with 1000 and waits for the close; terminates the socket if that takes over `timeoutMs`. */
  async close(timeoutMs = 10_000) {
    this.#closing = true;
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(1000);
    await within(this.closed, timeoutMs, 'a close').catch(() => this.ws.terminate());
  }
}
