/**
 * Where a token comes from, in order of preference:
 *
 * - `Sec-WebSocket-Protocol: edgeroom.v1, auth.<jwt>`: the one header a browser
 *   lets a page set on a WebSocket. The 101 must echo `edgeroom.v1` (a browser
 *   fails the handshake if nothing it offered is echoed), and never the token.
 * - `Authorization: Bearer <jwt>`: for HTTP, and for sockets from servers.
 * - `?token=<jwt>`: for clients that can only be given a URL (the DriftDB
 *   client). URLs end up in logs and histories, so prefer the others.
 *
 * A token in more than one place is refused, not chosen from: two layers (a
 * proxy, us) must never disagree about which token a request carried.
 */
import { AUTH_MESSAGES, type AuthFailure } from './verify.ts';

export const SUBPROTOCOL = 'edgeroom.v1';
const AUTH_PREFIX = 'auth.';

/** `protocol` is what the response's Sec-WebSocket-Protocol must be (absent if undefined). */
export type FoundToken =
  | { ok: true; token: string | undefined; protocol: typeof SUBPROTOCOL | undefined }
  | AuthFailure;

const refuse = (message: string): AuthFailure => ({ ok: false, code: 'unauthorized', message });

export function tokenFromProtocols(header: string | null | undefined): FoundToken {
  const offered = (header ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const protocol = offered.includes(SUBPROTOCOL) ? SUBPROTOCOL : undefined;
  const tokens = offered.filter((p) => p.startsWith(AUTH_PREFIX)).map((p) => p.slice(AUTH_PREFIX.length));
  if (tokens.length > 1) return refuse(AUTH_MESSAGES.tokenTwice);
  if (tokens.length === 1 && !protocol) return refuse(AUTH_MESSAGES.authWithoutProtocol);
  return { ok: true, token: tokens[0] || undefined, protocol };
}

export function tokenFromAuthorization(header: string | null | undefined): string | undefined {
  return /^Bearer +([^\s,]+) *$/i.exec(header ?? '')?.[1];
}

/** `?token=`. A URL without a query (our client's sockets) is not parsed: this runs on every connect. */
export const tokenFromUrl = (url: string | URL): string | undefined =>
  String(url).includes('?') ? new URL(url).searchParams.get('token') || undefined : undefined;

/** The token a request carries, if any, and the subprotocol to answer a socket upgrade with. */
export function tokenFromRequest(request: Request): FoundToken {
  const offer = tokenFromProtocols(request.headers.get('sec-websocket-protocol'));
  if (!offer.ok) return offer;
  const found = [
    offer.token,
    tokenFromAuthorization(request.headers.get('authorization')),
    tokenFromUrl(request.url),
  ].filter((t) => t !== undefined);
  if (found.length > 1) return refuse(AUTH_MESSAGES.tokenTwice);
  return { ok: true, token: found[0], protocol: offer.protocol };
}
