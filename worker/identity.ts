/**
 * Client identity. A client proves who it is with a secret it never shows
 * anyone else; its public client ID (what presence and pushes carry) is a hash
 * of that secret. Knowing a client ID therefore gives no way to claim it:
 * neither to replace that client's socket (close 4001) nor to publish under it.
 *
 * The hash is synchronous (@noble/hashes) because a hello must be applied in
 * order with the frames that follow it; WebCrypto's digest is async.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { randomId } from './ids.ts';

const encoder = new TextEncoder();
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** 22 URL-safe characters (132 bits) of SHA-256 over the secret. */
export const clientIdOf = (secret: string): string => hashOf(`edgeroom client:${secret}`);

/** A client that gave no secret gets an ID nobody else can claim: it is random and secret to no one. */
export const anonymousClientId = (): string => randomId(22);

/**
 * Whose counter a counted push's `n` is (see docs/protocol.md, "Counted pushes"):
 * a hash of the origin's secret, apart from client IDs by its prefix, and with
 * a token the user too. So only the holder of the secret can resend under an
 * origin, and with access control only the same user: another user naming the
 * same secret has an origin of its own, and cannot make the first one's pushes
 * vanish as duplicates. The hash holds no `:`, so the two forms never meet.
 */
export function originScopeOf(secret: string, user?: string): string {
  const hash = hashOf(`edgeroom origin:${secret}`);
  return user === undefined ? hash : `${hash}:${user}`;
}

function hashOf(text: string): string {
  const digest = sha256(encoder.encode(text));
  let hash = '';
  for (let i = 0; i < 22; i++) hash += ALPHABET[digest[i]! & 63];
  return hash;
}
