/**
 * What a verified token grants one connection or request, as the Worker hands
 * it to a room: the user, the token's lifetime and ID, and its rights in their
 * compact form. It travels in a header the Worker always sets itself (over
 * anything a client sent), and lives on in the socket's attachment, so rights
 * survive hibernation with the socket.
 */
import * as z from '../protocol/zod.ts';
import { CLOCK_LEEWAY_SECONDS, CompiledRights, type Claims, type SerializedRights } from './auth/index.ts';

export const GRANT_HEADER = 'x-edgeroom-grant';

export const Grant = z.object({
  user: z.string(),
  /** The room the token was verified for: a refreshed token must be good for it too. */
  room: z.string(),
  /** Seconds since the epoch, as in the token. */
  exp: z.number(),
  iat: z.optional(z.number()),
  jti: z.optional(z.string()),
  rights: z.tuple([z.array(z.string()), z.array(z.string()), z.array(z.string()), z.number()]),
  /** The token's own rates, if it names any. */
  limits: z.optional(z.record(z.string(), z.number())),
});
export type Grant = z.infer<typeof Grant>;

export function grantOf(claims: Claims, rights: CompiledRights, room: string): Grant {
  return {
    // verifyToken refuses a token without exp, so a verified one has it.
    user: claims.sub,
    room,
    exp: claims.exp!,
    rights: rights.serialize() as SerializedRights,
    ...(claims.iat === undefined ? {} : { iat: claims.iat }),
    ...(claims.jti === undefined ? {} : { jti: claims.jti }),
    ...(claims.limits === undefined ? {} : { limits: claims.limits }),
  };
}

/** The grant a room was handed, if any. Only the Worker sets the header, so a bad one is our bug. */
export function grantFrom(header: string | null): Grant | undefined {
  return header === null ? undefined : Grant.parse(JSON.parse(header));
}

/** Past its exp, with the same leeway the Worker gave it. */
export const expired = (g: Grant, now = Date.now()): boolean => now > (g.exp + CLOCK_LEEWAY_SECONDS) * 1000;

/** Rights compiled once per grant object: a woken room rebuilds them on first use. */
const compiled = new WeakMap<Grant, CompiledRights>();
export function rightsOf(g: Grant): CompiledRights {
  let r = compiled.get(g);
  if (!r) compiled.set(g, (r = CompiledRights.deserialize(g.rights as SerializedRights)));
  return r;
}
