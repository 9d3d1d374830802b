/**
 * The verification keys, from one wrangler secret `AUTH_KEYS`: a JSON array of
 * `{ kid, alg: "HS256", secret }` or `{ kid, alg: "ES256" | "EdDSA", jwk }`.
 *
 * Each key's algorithm is fixed here, by the operator. A token only names its
 * key (`kid`); its own `alg` header must agree with the key's, and is never used
 * to choose how to verify (see verify.ts).
 *
 * A bad config throws, with the reason: a typo must not quietly leave every
 * token refused (or, worse, accepted by a key the operator did not mean).
 */
import * as z from '../../protocol/zod.ts';

export const ALGORITHMS = ['HS256', 'ES256', 'EdDSA'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

/** A key ready to verify with: imported once, for its one algorithm. */
export type VerifyKey = { kid: string; alg: Algorithm; key: CryptoKey };

const Kid = z.string().check(z.minLength(1), z.maxLength(64));

// RFC 7518 §3.2: an HMAC key at least as long as the hash (32 bytes for HS256).
// A short secret can be brute-forced offline from any one token.
const HsKey = z.strictObject({
  kid: Kid,
  alg: z.literal('HS256'),
  secret: z.string().check(z.minLength(32, 'an HS256 secret needs at least 32 characters')),
});

// Public keys only: a config holding `d` (the private part) is a leak waiting
// to happen, so it is refused rather than silently stripped.
const base64url = z.string().check(z.regex(/^[A-Za-z0-9_-]+$/, 'base64url'));
const noPrivatePart = z.optional(z.never({ error: 'a private key (d); configure the public JWK only' }));
const EsJwk = z.looseObject({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: base64url,
  y: base64url,
  d: noPrivatePart,
});
const EdJwk = z.looseObject({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: base64url,
  d: noPrivatePart,
});
const EsKey = z.strictObject({ kid: Kid, alg: z.literal('ES256'), jwk: EsJwk });
const EdKey = z.strictObject({ kid: Kid, alg: z.literal('EdDSA'), jwk: EdJwk });

const KeyConfig = z.array(z.discriminatedUnion('alg', [HsKey, EsKey, EdKey])).check(
  z.minLength(1, 'at least one key'),
  z.refine((keys) => new Set(keys.map((k) => k.kid)).size === keys.length, 'every kid must be unique'),
);
type KeyConfig = z.infer<typeof KeyConfig>;

async function importKey(k: KeyConfig[number]): Promise<CryptoKey> {
  switch (k.alg) {
    case 'HS256':
      return crypto.subtle.importKey(
        'raw',
        new TextEncoder().encode(k.secret),
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['verify'],
      );
    // Only the fields that define the key: a JWK's own `alg`, `use` or `key_ops`
    // would make importKey refuse keys that exporters label differently.
    case 'ES256':
      return crypto.subtle.importKey(
        'jwk',
        { kty: 'EC', crv: 'P-256', x: k.jwk.x, y: k.jwk.y },
        { name: 'ECDSA', namedCurve: 'P-256' },
        false,
        ['verify'],
      );
    case 'EdDSA':
      return crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: k.jwk.x }, { name: 'Ed25519' }, false, [
        'verify',
      ]);
  }
}

async function loadKeys(config: string | undefined): Promise<Map<string, VerifyKey>> {
  if (config === undefined || config.trim() === '') throw new Error('AUTH_KEYS is not set');
  let json: unknown;
  try {
    json = JSON.parse(config);
  } catch {
    throw new Error('Bad AUTH_KEYS: not JSON');
  }
  const parsed = KeyConfig.safeParse(json);
  if (!parsed.success) throw new Error(`Bad AUTH_KEYS: ${z.prettifyError(parsed.error)}`);
  const keys = new Map<string, VerifyKey>();
  for (const k of parsed.data) {
    const key = await importKey(k).catch((e: unknown) => {
      throw new Error(
        `Bad AUTH_KEYS: key ${k.kid} (${k.alg}) does not import: ${e instanceof Error ? e.message : String(e)}`,
      );
    });
    keys.set(k.kid, { kid: k.kid, alg: k.alg, key });
  }
  return keys;
}

// One import per isolate: the config string is the cache key, so a changed
// secret (a new deploy, or a test with other keys) is imported afresh. A bad
// config stays cached as its rejection, so every request fails with its reason.
let cached: { config: string | undefined; keys: Promise<Map<string, VerifyKey>> } | undefined;

/** The configured keys by kid, imported once per config string. Throws on a bad config. */
export function keysFrom(config: string | undefined): Promise<Map<string, VerifyKey>> {
  if (!cached || cached.config !== config) cached = { config, keys: loadKeys(config) };
  return cached.keys;
}
