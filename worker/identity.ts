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
export function clientIdOf(secret: string): string {
  const digest = sha256(encoder.encode(`edgeroom client:${secret}`));
  let id = '';
  for (let i = 0; i < 22; i++) id += ALPHABET[digest[i]! & 63];
  return id;
}

/** A client that gave no secret gets an ID nobody else can claim: it is random and secret to no one. */
export const anonymousClientId = (): string => randomId(22);
