/**
 * Token verification: a signed JWT in, a typed outcome out. Never throws for a
 * bad token (only for a bad AUTH_KEYS config, which is the operator's to fix).
 *
 * The order matters: cheap structural checks first, so an oversized or
 * malformed token costs no crypto; the key and its algorithm are chosen from
 * our config by `kid` alone; hono/jwt checks the signature with that pinned
 * algorithm; only then are the claims read, and the time and room rules applied.
 */
import { verify } from 'hono/jwt';
import { CLOSE_CODES } from '../../protocol/limits.ts';
import { claimsProblem, Claims, roomMatches } from './claims.ts';
import { ALGORITHMS, keysFrom, type Algorithm } from './keys.ts';
import { CompiledRights } from './rights.ts';

export type AuthErrorCode = 'unauthorized' | 'token_expired' | 'forbidden';

/** WebSocket close codes for a refused token (protocol/limits.ts names them all). */
export const AUTH_CLOSE_CODES = {
  unauthorized: CLOSE_CODES.unauthorized,
  token_expired: CLOSE_CODES.tokenExpired,
  forbidden: CLOSE_CODES.forbidden,
} as const satisfies Record<AuthErrorCode, number>;
/** HTTP statuses for the same outcomes: an expired token is still "who are you?", not "no". */
export const AUTH_HTTP_STATUS = { unauthorized: 401, token_expired: 401, forbidden: 403 } as const satisfies Record<
  AuthErrorCode,
  number
>;

export const MAX_TOKEN_BYTES = 4096;
/** Clock skew tolerated between the issuer and us, for exp, nbf and iat. */
export const CLOCK_LEEWAY_SECONDS = 60;
export const DEFAULT_MAX_TOKEN_SECONDS = 3600;

/** Every message is fixed text (never the token or its contents) and fits a close reason. */
export const AUTH_MESSAGES = {
  missing: 'No token',
  tooLarge: `Token longer than ${MAX_TOKEN_BYTES} bytes`,
  malformed: 'Malformed token',
  unsupportedAlg: 'Token alg is not HS256, ES256 or EdDSA',
  noKid: 'Token header has no kid',
  unknownKid: 'Unknown kid',
  algMismatch: 'Token alg does not match its key',
  badSignature: 'Bad token signature',
  expired: 'Token expired',
  notYetValid: 'Token not valid yet (nbf)',
  issuedInFuture: 'Token issued in the future (iat)',
  tooLong: (max: number) => `Token lifetime over ${max} s`,
  otherRoom: 'Token is for another room',
  // From sources.ts:
  authWithoutProtocol: 'Offer edgeroom.v1 alongside auth.<token>',
  tokenTwice: 'More than one token given',
} as const;

export type AuthFailure = { ok: false; code: AuthErrorCode; message: string };
export type AuthResult = { ok: true; claims: Claims; rights: CompiledRights } | AuthFailure;

export type VerifyOptions = {
  /** The AUTH_KEYS config string; its keys are imported once per isolate. */
  keys: string | undefined;
  /** The room being accessed. */
  room: string;
  maxTokenSeconds?: number;
  /** Seconds since the epoch; the clock by default. */
  now?: number;
};

const fail = (message: string, code: AuthErrorCode = 'unauthorized'): AuthFailure => ({ ok: false, code, message });

// Three base64url parts; an empty signature is let through here only so that
// `alg: none` tokens are refused by name below.
const SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function header(token: string): { alg?: unknown; kid?: unknown } | undefined {
  try {
    const part = token.slice(0, token.indexOf('.')).replace(/-/g, '+').replace(/_/g, '/');
    const value: unknown = JSON.parse(
      new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(
        Uint8Array.from(atob(part), (c) => c.charCodeAt(0)),
      ),
    );
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export async function verifyToken(token: string | undefined, options: VerifyOptions): Promise<AuthResult> {
  // The config first: a broken one must fail every request loudly, whatever the token.
  const keys = await keysFrom(options.keys);
  if (!token) return fail(AUTH_MESSAGES.missing);
  // Refused unread: nothing longer is decoded, let alone verified. (Length in
  // UTF-16 units: a shorter token with non-ASCII in it fails SHAPE next.)
  if (token.length > MAX_TOKEN_BYTES) return fail(AUTH_MESSAGES.tooLarge);
  if (!SHAPE.test(token)) return fail(AUTH_MESSAGES.malformed);
  const head = header(token);
  if (!head) return fail(AUTH_MESSAGES.malformed);
  if (!ALGORITHMS.includes(head.alg as Algorithm)) return fail(AUTH_MESSAGES.unsupportedAlg);
  if (typeof head.kid !== 'string') return fail(AUTH_MESSAGES.noKid);
  const key = keys.get(head.kid);
  if (!key) return fail(AUTH_MESSAGES.unknownKid);
  // The key decides the algorithm. A token naming another one is refused before
  // any crypto: this is what stops an HS256 token "signed" with a public key.
  if (head.alg !== key.alg) return fail(AUTH_MESSAGES.algMismatch);

  let payload: unknown;
  try {
    // hono/jwt's exp/nbf/iat checks have no leeway; ours below do.
    payload = await verify(token, key.key, { alg: key.alg, exp: false, nbf: false, iat: false });
  } catch (e) {
    // hono's errors quote the token: never pass them on.
    return fail(
      e instanceof Error && e.name === 'JwtTokenSignatureMismatched'
        ? AUTH_MESSAGES.badSignature
        : AUTH_MESSAGES.malformed,
    );
  }

  const parsed = Claims.safeParse(payload);
  if (!parsed.success) return fail(claimsProblem(parsed.error));
  const claims = parsed.data;
  const now = options.now ?? Date.now() / 1000;
  const maxSeconds = options.maxTokenSeconds ?? DEFAULT_MAX_TOKEN_SECONDS;
  if (claims.exp + CLOCK_LEEWAY_SECONDS <= now) return fail(AUTH_MESSAGES.expired, 'token_expired');
  if (claims.nbf !== undefined && claims.nbf > now + CLOCK_LEEWAY_SECONDS) return fail(AUTH_MESSAGES.notYetValid);
  if (claims.iat !== undefined && claims.iat > now + CLOCK_LEEWAY_SECONDS) return fail(AUTH_MESSAGES.issuedInFuture);
  // Bounds how long a leaked token works, even one whose issuer set a far exp.
  if (claims.exp - (claims.iat ?? now) > maxSeconds) return fail(AUTH_MESSAGES.tooLong(maxSeconds));
  // Last, so `forbidden` only ever means "a good token, for another room".
  if (!roomMatches(claims.room, options.room)) return fail(AUTH_MESSAGES.otherRoom, 'forbidden');
  return { ok: true, claims, rights: CompiledRights.fromClaim(claims.rights) };
}
