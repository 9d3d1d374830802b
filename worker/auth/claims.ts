/**
 * The claims a token must carry, checked with zod once its signature is good.
 * Other registered claims (iss, aud, …) are ignored: a key belongs to one issuer.
 */
import * as z from '../../protocol/zod.ts';
import { RightsSchema } from './rights.ts';

// `required` for a missing claim, so the message says which mistake it was.
const numeric = z.number({ error: (issue) => (issue.input === undefined ? 'required' : 'must be a number') });

/** A room ID (worker/ids.ts's pattern), or a prefix of one ending in `*`; `*` alone is every room. */
const ROOM_CLAIM = /^(?:[A-Za-z0-9_-]{1,64}|[A-Za-z0-9_-]{0,63}\*)$/;

const rate = z.optional(z.number().check(z.int(), z.positive()));
export const TokenLimits = z.strictObject(
  {
    framesPerSecond: rate,
    frameBurst: rate,
    publishesPerSecond: rate,
    publishBurst: rate,
    presencePerSecond: rate,
    presenceBurst: rate,
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? 'unknown limit' : 'must be an object') },
);
export type TokenLimits = z.infer<typeof TokenLimits>;

export const Claims = z.object(
  {
    sub: z
      .string({ error: (issue) => (issue.input === undefined ? 'required' : 'must be a string') })
      .check(z.minLength(1, 'must be 1-64 characters'), z.maxLength(64, 'must be 1-64 characters')),
    room: z
      .string({ error: (issue) => (issue.input === undefined ? 'required' : 'must be a string') })
      .check(z.regex(ROOM_CLAIM, 'must be a room ID, or a prefix ending in *')),
    exp: numeric,
    iat: z.optional(numeric),
    nbf: z.optional(numeric),
    jti: z.optional(z.string('must be a string').check(z.maxLength(64, 'must be at most 64 characters'))),
    rights: z.optional(RightsSchema),
    /** This holder's own rates, over the room's (within maxTokenRateFactor). */
    limits: z.optional(TokenLimits),
  },
  { error: 'must be a JSON object' },
);
export type Claims = z.infer<typeof Claims>;

/** The first problem, in words short enough for a WebSocket close reason (123 bytes). */
export function claimsProblem(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'Bad claims';
  return issue.path.length
    ? `Bad claim ${issue.path.join('.')}: ${issue.message}`.slice(0, 120)
    : `Bad claims: ${issue.message}`;
}

/** Whether a token's `room` claim admits `room`: equal, or a prefix of it when the claim ends in `*`. */
export const roomMatches = (claim: string, room: string): boolean =>
  claim.endsWith('*') ? room.startsWith(claim.slice(0, -1)) : claim === room;
