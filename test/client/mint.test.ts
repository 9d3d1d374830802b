// Minting on Node, as an operator's backend does: worker/auth/mint.ts needs only
// the global WebCrypto (Node 20+). Keys come from node:crypto, as a backend's
// would, and verifyToken (also run here, on Node) accepts what it signs.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mintToken, type MintKey } from '../../worker/auth/mint.ts';
import { verifyToken } from '../../worker/auth/verify.ts';

const secret = randomBytes(32).toString('base64url');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const jwk = (key: import('node:crypto').KeyObject) => key.export({ format: 'jwk' }) as JsonWebKey;

const config = JSON.stringify([
  { kid: 'dev', alg: 'HS256', secret },
  { kid: 'ec', alg: 'ES256', jwk: jwk(ec.publicKey) },
  { kid: 'ed', alg: 'EdDSA', jwk: jwk(ed.publicKey) },
]);
const keys: MintKey[] = [
  { kid: 'dev', alg: 'HS256', secret },
  { kid: 'ec', alg: 'ES256', privateJwk: jwk(ec.privateKey) },
  { kid: 'ed', alg: 'EdDSA', privateJwk: jwk(ed.privateKey) },
];

describe('mintToken on Node', () => {
  it.each(keys.map((key) => [key.alg, key] as const))(
    'signs %s tokens that verifyToken accepts for their room only',
    async (_, key) => {
      const token = await mintToken(
        { room: 'p_team', sub: 'alice', ttlSeconds: 60, rights: { read: ['*'], write: ['chat'] } },
        key,
      );
      const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
      expect(header).toEqual({ alg: key.alg, typ: 'JWT', kid: key.kid });
      const verified = await verifyToken(token, { keys: config, room: 'p_team' });
      if (!verified.ok) throw new Error(`refused: ${verified.message}`);
      expect(verified.claims.exp - verified.claims.iat!).toBe(60);
      expect(verified.rights.serialize()).toEqual([['*'], ['chat'], [], 0]);
      expect(await verifyToken(token, { keys: config, room: 'p_other' })).toMatchObject({
        ok: false,
        code: 'forbidden',
      });
    },
  );

  it('mints a token that is expired by the time the Worker sees it, when told to issue it in the past', async () => {
    const token = await mintToken(
      { room: 'p_team', sub: 'alice', ttlSeconds: 60, now: Date.now() / 1000 - 3600 },
      keys[0]!,
    );
    expect(await verifyToken(token, { keys: config, room: 'p_team' })).toEqual({
      ok: false,
      code: 'token_expired',
      message: 'Token expired',
    });
  });
});
