/**
 * Minting tokens, for the operator's backend: whatever decides who may enter a
 * private room signs a token for it, with a key whose verifying half is in the
 * Worker's AUTH_KEYS (the same secret for HS256; the public JWK for ES256 and
 * EdDSA). Runs on Node 20+ and in Workers: hono/jwt's `sign` over the global
 * WebCrypto, nothing else.
 *
 * What it mints is what verifyToken accepts: `iat` now, `exp` = iat + ttl,
 * the key's `kid` and `alg` in the header, and the claims checked against the
 * same schema first, so a bad room or rights claim throws here instead of
 * being refused at connect time. The lifetime is not capped here: the Worker
 * refuses one over its MAX_TOKEN_SECONDS (3600 by default).
 *
 * @example
 * const token = await mintToken(
 *   { room: 'p_team', sub: 'alice', rights: { read: ['*'], write: ['chat'], presence: true } },
 *   { kid: 'k1', alg: 'EdDSA', privateJwk },
 * );
 */
import { sign } from 'hono/jwt';
import * as z from '../../protocol/zod.ts';
import { Claims, claimsProblem } from './claims.ts';
import type { RightsClaim } from './rights.ts';
import { DEFAULT_MAX_TOKEN_SECONDS } from './verify.ts';

/** A signing key. An HS256 entry of AUTH_KEYS is one as it stands; for ES256 and EdDSA, the private JWK of a configured public one. */
export type MintKey =
  | { kid: string; alg: 'HS256'; secret: string }
  | { kid: string; alg: 'ES256' | 'EdDSA'; privateJwk: JsonWebKey };

export interface MintOptions {
  /** A room ID, or a prefix of one ending in `*`. */
  room: string;
  /** The user: the client ID everyone in the room sees. */
  sub: string;
  /** What the token allows; none means read and write every subject, presence and direct messages. */
  rights?: RightsClaim;
  /** Lifetime in seconds, 3600 by default. */
  ttlSeconds?: number;
  jti?: string;
  /** Seconds since the epoch to issue the token at; the clock by default. */
  now?: number;
}

const Kid = z.string().check(z.minLength(1), z.maxLength(64));
const b64url = z
  .string({ error: (issue) => (issue.input === undefined ? 'required' : 'must be a string') })
  .check(z.regex(/^[A-Za-z0-9_-]+$/, 'must be base64url'));
const privatePart = z
  .string({ error: 'missing: sign with the private JWK (AUTH_KEYS holds only its public half)' })
  .check(z.regex(/^[A-Za-z0-9_-]+$/, 'must be base64url'));
const MintKeySchema = z.discriminatedUnion(
  'alg',
  [
    // As keys.ts requires of the same secret: at least as long as the hash.
    z.object({
      kid: Kid,
      alg: z.literal('HS256'),
      secret: z.string().check(z.minLength(32, 'an HS256 secret needs at least 32 characters')),
    }),
    z.object({
      kid: Kid,
      alg: z.literal('ES256'),
      privateJwk: z.looseObject({
        kty: z.literal('EC'),
        crv: z.literal('P-256'),
        x: b64url,
        y: b64url,
        d: privatePart,
      }),
    }),
    z.object({
      kid: Kid,
      alg: z.literal('EdDSA'),
      privateJwk: z.looseObject({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: b64url, d: privatePart }),
    }),
  ],
  { error: 'alg must be HS256, ES256 or EdDSA' },
);

const base64url = (bytes: Uint8Array): string => {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

/**
 * The key as hono's `sign` takes it: a JWK whose `alg` and `kid` it writes into
 * the header. Only the fields that define the key are kept, so an exporter's
 * `key_ops`, `use` or `alg` labels cannot make the import fail.
 */
function signer(key: z.infer<typeof MintKeySchema>): JsonWebKey & { alg: string; kid: string } {
  switch (key.alg) {
    case 'HS256':
      // keys.ts imports the secret's UTF-8 bytes as the raw HMAC key; this is the same key as a JWK.
      return { kty: 'oct', k: base64url(new TextEncoder().encode(key.secret)), alg: 'HS256', kid: key.kid };
    case 'ES256': {
      const { kty, crv, x, y, d } = key.privateJwk;
      return { kty, crv, x, y, d, alg: 'ES256', kid: key.kid };
    }
    case 'EdDSA': {
      const { kty, crv, x, d } = key.privateJwk;
      return { kty, crv, x, d, alg: 'EdDSA', kid: key.kid };
    }
  }
}

/** A signed token for `options.room` and `options.sub`. Throws, with the reason, on a claim or key the Worker would refuse. */
export async function mintToken(options: MintOptions, key: MintKey): Promise<string> {
  const parsedKey = MintKeySchema.safeParse(key);
  if (!parsedKey.success) throw new TypeError(`mintToken: bad key: ${z.prettifyError(parsedKey.error)}`);
  const ttl = options.ttlSeconds ?? DEFAULT_MAX_TOKEN_SECONDS;
  if (!Number.isSafeInteger(ttl) || ttl <= 0)
    throw new TypeError('mintToken: ttlSeconds must be a positive whole number');
  const iat = Math.floor(options.now ?? Date.now() / 1000);
  const payload = {
    sub: options.sub,
    room: options.room,
    iat,
    exp: iat + ttl,
    ...(options.jti !== undefined && { jti: options.jti }),
    ...(options.rights !== undefined && { rights: options.rights }),
  };
  const claims = Claims.safeParse(payload);
  if (!claims.success) throw new TypeError(`mintToken: ${claimsProblem(claims.error)}`);
  return sign(payload, signer(parsedKey.data));
}
