/**
 * The access gate in the Worker: who may reach a room, decided before the room
 * is touched, so a missing or bad token costs no room any work.
 *
 * A room is open (its ID is the capability, as in DriftDB) unless its ID starts
 * with PRIVATE_PREFIX or the operator turned open rooms off (OPEN_ROOMS =
 * "off"). A private room needs a valid token for every connect and request.
 * A token, where given, is verified even in an open room, and then binds the
 * connection to its user and rights.
 */
import type { Context } from 'hono';
import { authConfigFrom, SUBPROTOCOL, tokenFromRequest, verifyToken, type AuthFailure } from './auth/index.ts';
import { grantOf, rightsOf, type Grant } from './grant.ts';

type App = { Bindings: Env };

/**
 * Rooms whose IDs start with this are private. Privacy lives in the ID, so the
 * Worker knows it without asking the room, and nothing is stored that could
 * reveal whether a private room exists: every such ID answers the same.
 */
export const PRIVATE_PREFIX = 'p_';

export type GateResult = { ok: true; grant: Grant | undefined } | AuthFailure;

export const isPrivate = (env: Env, room: string): boolean =>
  room.startsWith(PRIVATE_PREFIX) || (env as { OPEN_ROOMS?: string }).OPEN_ROOMS === 'off';

/** Whether a socket upgrade offered our subprotocol, which its 101 must then echo. */
export const offersSubprotocol = (request: Request): boolean =>
  (request.headers.get('sec-websocket-protocol') ?? '').split(',').some((p) => p.trim() === SUBPROTOCOL);

/** Like admit, but only for a token with the admin right. */
export async function admitAdmin(c: Context<App>, room: string): Promise<{ ok: true; grant: Grant } | AuthFailure> {
  const gate = await admit(c, room);
  if (!gate.ok) return gate;
  if (!gate.grant) return { ok: false, code: 'unauthorized', message: 'This needs an admin token' };
  if (!rightsOf(gate.grant).admin)
    return { ok: false, code: 'forbidden', message: 'This needs a token with the admin right' };
  return { ok: true, grant: gate.grant };
}

/** Lets a request into `room`, with what its token grants, or says why not. */
export async function admit(c: Context<App>, room: string): Promise<GateResult> {
  const found = tokenFromRequest(c.req.raw);
  if (!found.ok) return found;
  if (found.token === undefined) {
    return isPrivate(c.env, room)
      ? { ok: false, code: 'unauthorized', message: 'This room needs a token' }
      : { ok: true, grant: undefined };
  }
  const config = authConfigFrom(c.env);
  // Without keys nothing can be verified: a token is refused, not ignored (its holder expects it to count).
  if (!config.keys)
    return { ok: false, code: 'unauthorized', message: 'This deployment has no AUTH_KEYS: it takes no tokens' };
  const verified = await verifyToken(found.token, { keys: config.keys, room, maxTokenSeconds: config.maxTokenSeconds });
  return verified.ok ? { ok: true, grant: grantOf(verified.claims, verified.rights, room) } : verified;
}
