/**
 * Limits per client address, in the Worker, before any room is touched:
 * creating rooms, connecting, and HTTP sends. They use Cloudflare's Rate
 * Limiting binding (wrangler.toml), which wrangler dev emulates in memory.
 * Its counters are per location and approximate: this stops a reconnect loop
 * or a script hammering one endpoint, not a distributed attack.
 */
import type { Context } from 'hono';
import { TokenBucket } from './token-bucket.ts';

type App = { Bindings: Env };
type LimiterName = 'NEW_ROOM_LIMITER' | 'CONNECT_LIMITER' | 'SEND_LIMITER';

/** The binding's window: a refused caller may try again after it. */
export const ADDRESS_WINDOW_SECONDS = 10;

/**
 * How the Worker tells a room the client's address. The Worker always sets it,
 * over anything the client sent, so a room can trust it.
 */
export const ADDRESS_HEADER = 'x-edgeroom-address';

/** Cloudflare sets CF-Connecting-IP and a client cannot; locally every caller is one address. */
export const clientAddress = (c: Context<App>): string => c.req.header('cf-connecting-ip') ?? 'local';

/**
 * The limiter key of a connect whose token was verified: its user, wherever it
 * connects from. One address may hide hundreds of people (an office NAT, a
 * carrier's CGNAT), who after a deploy all reconnect at once; counted per
 * address they would share one budget and wait tens of seconds. A user is one
 * person, and only the operator can mint users. Addresses hold no ':', so
 * this never names one.
 */
export const userLimitKey = (user: string): string => `user:${user}`;

/**
 * How long a refused request is held before its answer. A client that floods
 * with a fixed number of requests in flight is slowed to that many per second,
 * and while held, a request costs no CPU; answered at once, it would be resent
 * at once, and its refusals alone would keep the process busy.
 */
export const REFUSAL_DELAY_MS = 1000;

/**
 * True when the caller is under the limit (or the limits are off, or the
 * binding is absent). A refusal resolves only after REFUSAL_DELAY_MS.
 *
 * The caller is its address unless `key` names it otherwise: connects that
 * carry a verified token are counted per user (userLimitKey).
 */
export async function withinAddressLimit(c: Context<App>, name: LimiterName, key?: string): Promise<boolean> {
  const limiter = c.env[name] as RateLimit | undefined;
  if (!limiter || (c.env.ADDRESS_LIMITS as string) === 'off') return true;
  const address = key ?? clientAddress(c);
  const success = smoothed(name, address) && (await limiter.limit({ key: address })).success;
  // Jittered (0.5–1.5 × the delay), so refusals held together are not all answered together.
  if (!success) await new Promise((resolve) => setTimeout(resolve, REFUSAL_DELAY_MS * (0.5 + Math.random())));
  return success;
}

/**
 * Per address, in this isolate's memory: the binding's own rate, as a token
 * bucket with a burst of a tenth of its window. The binding counts in windows,
 * which lets a caller spend a whole window's worth in a moment, and twice that
 * across a window's edge; the bucket spreads the same budget out, at no cost.
 * Only an approximation across isolates, which the binding then bounds.
 */
const SMOOTHING: Record<LimiterName, { rate: number; burst: number }> = {
  NEW_ROOM_LIMITER: { rate: 3, burst: 10 },
  CONNECT_LIMITER: { rate: 12, burst: 40 },
  SEND_LIMITER: { rate: 10, burst: 20 },
};
const buckets = new Map<string, TokenBucket>();

function smoothed(name: LimiterName, address: string): boolean {
  const key = `${name}|${address}`;
  let bucket = buckets.get(key);
  if (!bucket) {
    // Bounded: a bucket that is full again is the same as none.
    if (buckets.size >= 10_000) for (const [k, b] of buckets) if (b.available() >= b.burst) buckets.delete(k);
    buckets.set(key, (bucket = new TokenBucket(SMOOTHING[name].rate, SMOOTHING[name].burst)));
  }
  return bucket.take();
}

/**
 * A refused WebSocket connect. Browsers hide the HTTP status of a failed
 * handshake (it looks like a network error, and clients retry at once), so the
 * Worker accepts the socket itself, with no room behind it, and closes it with
 * 4290 and a reason that says why.
 */
export function refusedSocket(code: number, reason: string, protocol?: string): Response {
  const pair = new WebSocketPair();
  pair[1].accept();
  pair[1].close(code, reason);
  // A browser that offered a subprotocol fails the handshake (1006, no code) unless one is echoed.
  return new Response(null, {
    status: 101,
    webSocket: pair[0],
    headers: protocol ? { 'sec-websocket-protocol': protocol } : {},
  });
}
