/**
 * A test socket's receipts: counts what it receives in the units the room
 * counts (string length of text frames, bytes of binary ones, never the
 * runtime's bare pong), and acks every `every` received when told to, as our client does.
 */
import { AUTO_PONG } from '../../worker/backlog.ts';
import { connect, type TestSocket } from '../worker/helpers.ts';

export const BOUND = 131_072; // MAX_SOCKET_BACKLOG_BYTES in this project (vitest.config.ts)
export const ACK_EVERY = BOUND / 4;

export interface Receipts {
  readonly total: number;
  /** Stop acking: from now on it reads but never says so. */
  stop(): void;
  /** Ack what has arrived so far, now. */
  ackNow(): void;
}

export function receipts(s: TestSocket, every?: number): Receipts {
  let total = 0;
  let acked = 0;
  let acking = every !== undefined;
  const ack = () => {
    acked = total;
    if (s.ws.readyState === WebSocket.OPEN) s.send({ type: 'ack', received: total });
  };
  s.ws.addEventListener('message', (e) => {
    total +=
      typeof e.data === 'string' ? (e.data === AUTO_PONG ? 0 : e.data.length) : (e.data as ArrayBuffer).byteLength;
    if (acking && total - acked >= every!) ack();
  });
  return {
    get total() {
      return total;
    },
    stop: () => void (acking = false),
    ackNow: ack,
  };
}

/** A socket that said hello with `acks` (or without, when `acks` is false) and subscribed to `key`. */
export async function subscriber(room: string, key: string, every: number | undefined, acks = true, seq?: number) {
  const s = await connect(room);
  const r = receipts(s, every);
  s.send({ type: 'hello', protocol: 1, ...(acks ? { acks: true } : {}) });
  const welcome = await s.next();
  if (welcome.type !== 'welcome') throw new Error(`Expected welcome, got ${JSON.stringify(welcome)}`);
  s.send({ type: 'sub', key, ...(seq === undefined ? { replay: false } : { seq }) });
  return { s, r, welcome };
}

/** A value of about 1 KiB, different each time. */
export const kib = (n: number): string => `${n}:`.padEnd(1024, 'abcdefghijklmnopqrstuvwxyz'[n % 26]);
