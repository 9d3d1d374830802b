/**
 * Keys and tokens for the auth tests: an HS256 secret, and ES256 and Ed25519
 * pairs made with WebCrypto, whose public JWKs go into an AUTH_KEYS config.
 * Tokens are signed with hono/jwt's `sign`, or crafted by hand when a test
 * needs a header `sign` would never write.
 */
import { sign } from 'hono/jwt';

export const HS_SECRET = 'hs-secret-for-tests-0123456789abcdef';
export const ROOM = 'room-1';
/** A fixed clock for tests about time: verifyToken takes `now`, so no test sleeps. */
export const NOW = 1_900_000_000;

const b64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
export const b64json = (value: unknown): string => b64url(new TextEncoder().encode(JSON.stringify(value)));

/** A private key as hono's `sign` takes it: a JWK with the `alg` and `kid` it writes into the header. */
export type Signer = JsonWebKey & { alg: string; kid: string };

export const hmacSigner = (secret: string, kid: string): Signer => ({
  kty: 'oct',
  k: b64url(new TextEncoder().encode(secret)),
  alg: 'HS256',
  kid,
});

async function pair(algorithm: Parameters<typeof crypto.subtle.generateKey>[0], alg: string, kid: string) {
  const keys = (await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const publicJwk = (await crypto.subtle.exportKey('jwk', keys.publicKey)) as JsonWebKey;
  const privateJwk = (await crypto.subtle.exportKey('jwk', keys.privateKey)) as JsonWebKey;
  return { publicJwk, signer: { ...privateJwk, alg, kid } as Signer };
}

export type TestKeys = Awaited<ReturnType<typeof makeKeys>>;

/** Fresh keys, kids `hs`, `es` and `ed`, and the AUTH_KEYS config that trusts them. */
export async function makeKeys() {
  const es = await pair({ name: 'ECDSA', namedCurve: 'P-256' }, 'ES256', 'es');
  const ed = await pair({ name: 'Ed25519' }, 'EdDSA', 'ed');
  const config = JSON.stringify([
    { kid: 'hs', alg: 'HS256', secret: HS_SECRET },
    { kid: 'es', alg: 'ES256', jwk: es.publicJwk },
    { kid: 'ed', alg: 'EdDSA', jwk: ed.publicJwk },
  ]);
  return { config, hs: hmacSigner(HS_SECRET, 'hs'), es: es.signer, ed: ed.signer, esPublic: es.publicJwk };
}

/** Claims valid at NOW for ROOM, with `extra` merged over them (undefined removes one). */
export function claims(extra: Record<string, unknown> = {}, now = NOW): Record<string, unknown> {
  const all: Record<string, unknown> = { sub: 'alice', room: ROOM, iat: now, exp: now + 600, ...extra };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
}

export const token = (payload: Record<string, unknown>, signer: Signer): Promise<string> =>
  sign(payload, signer as never);

/** A token with a header of our choosing and the given signature part (empty by default). */
export const craft = (header: unknown, payload: Record<string, unknown>, signature = ''): string =>
  `${b64json(header)}.${b64json(payload)}.${signature}`;
