/**
 * Limits per client address, in the Worker, before any room is touched:
 * creating rooms, connecting, and HTTP sends. They use Cloudflare's Rate
 * Limiting binding (wrangler.toml), which wrangler dev emulates in memory.
 * Its counters are per location and approximate: this stops a reconnect loop
 * or a script hammering one endpoint, not a distributed attack.
 */
import type { Context } from 'hono';

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

/** True when the caller is under the limit (or the limits are off, or the binding is absent). */
export async function withinAddressLimit(c: Context<App>, name: LimiterName): Promise<boolean> {
  const limiter = c.env[name] as RateLimit | undefined;
  if (!limiter || (c.env.ADDRESS_LIMITS as string) === 'off') return true;
  const { success } = await limiter.limit({ key: clientAddress(c) });
  return success;
}

/**
 * A refused WebSocket connect. Browsers hide the HTTP status of a failed
 * handshake (it looks like a network error, and clients retry at once), so the
 * Worker accepts the socket itself, with no room behind it, and closes it with
 * 4290 and a reason that says why.
 */
export function refusedSocket(code: number, reason: string): Response {
  const pair = new WebSocketPair();
  pair[1].accept();
  pair[1].close(code, reason);
  return new Response(null, { status: 101, webSocket: pair[0] });
}
