/**
 * Accepting a WebSocket upgrade the Worker forwarded, the same in a room and
 * in a leaf of a fanned-out room: the socket is accepted for hibernation,
 * refused with a close code if its address is penalised or its token
 * revoked, or else added to the connections under `conn`, with the early
 * frames its upgrade carried (worker/early.ts) for the caller to handle first.
 */
import { ADDRESS_HEADER } from './address-limits.ts';
import { SUBPROTOCOL } from './auth/index.ts';
import type { Connections } from './connections.ts';
import { earlyFrames } from './early.ts';
import { offersSubprotocol } from './gate.ts';
import { grantFrom, GRANT_HEADER } from './grant.ts';
import type { Guard } from './guard.ts';

export interface Accepted {
  /** The server's end: added to the connections, or already closed with the refusal's code. */
  server: WebSocket;
  added: boolean;
  /**
   * The early frames, as socket frames' text: the caller hands each to its
   * webSocketMessage, in order, before returning the 101, so they are the
   * socket's first frames. Empty for a refused socket, and for an entry refused
   * as a whole, whose error the socket has been sent.
   */
  early: string[];
  /** The 101 to return once the caller has finished with the socket. */
  response: Response;
}

export function acceptUpgrade(
  ctx: DurableObjectState,
  request: Request,
  guard: Guard,
  conns: Connections,
  conn: string,
): Accepted {
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  ctx.acceptWebSocket(server);
  const address = request.headers.get(ADDRESS_HEADER) ?? 'local';
  // The Worker verified the token; its user is the connection's client ID from the start.
  const grant = grantFrom(request.headers.get(GRANT_HEADER));
  const refusal = guard.refusal(address, grant);
  let early: string[] = [];
  if (refusal) server.close(refusal.code, refusal.reason);
  else {
    const cbor = !!new URL(request.url).searchParams.get('cbor');
    const c = conns.add(server, { conn, cbor, ...(grant ? { grant, client: grant.user } : {}) });
    c.address = address;
    const offered = earlyFrames(request.headers.get('sec-websocket-protocol'));
    if ('frames' in offered) early = offered.frames;
    else c.send(offered.error);
  }
  // A browser that offered our subprotocol fails the handshake unless it is echoed.
  const headers: HeadersInit = offersSubprotocol(request) ? { 'sec-websocket-protocol': SUBPROTOCOL } : {};
  return { server, added: !refusal, early, response: new Response(null, { status: 101, webSocket: client, headers }) };
}
