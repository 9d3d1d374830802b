// Minting in workerd: what mintToken signs, verifyToken accepts, for each
// algorithm; and what the Worker would refuse, mintToken refuses to sign.
import { beforeAll, describe, expect, it } from 'vitest';
import { mintToken, type MintKey } from '../../worker/auth/mint.ts';
import { verifyToken } from '../../worker/auth/verify.ts';
import { HS_SECRET, makeKeys, NOW, ROOM, type TestKeys } from './helpers.ts';

let k: TestKeys;
let keys: Record<'hs' | 'es' | 'ed', MintKey>;
beforeAll(async () => {
  k = await makeKeys();
  // The helpers' signers are exported private JWKs with `alg` and `kid` on them; mintToken takes such a JWK as it comes.
  keys = {
    hs: { kid: 'hs', alg: 'HS256', secret: HS_SECRET },
    es: { kid: 'es', alg: 'ES256', privateJwk: k.es },
    ed: { kid: 'ed', alg: 'EdDSA', privateJwk: k.ed },
  };
});

const parts = (token: string) =>
  token
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))));

describe('mintToken', () => {
  it.each(['hs', 'es', 'ed'] as const)(
    'signs with %s a token verifyToken accepts: kid in the header, iat now, exp = iat + ttl',
    async (name) => {
      const now = Math.floor(Date.now() / 1000);
      const token = await mintToken({ room: ROOM, sub: 'alice', ttlSeconds: 600, jti: 'j-1' }, keys[name]);
      const [header, payload] = parts(token);
      expect(header).toEqual({ alg: keys[name].alg, typ: 'JWT', kid: name });
      expect(payload.iat).toBeGreaterThanOrEqual(now);
      expect(payload.iat).toBeLessThanOrEqual(now + 1);
      expect(payload).toEqual({ sub: 'alice', room: ROOM, iat: payload.iat, exp: payload.iat + 600, jti: 'j-1' });
      const verified = await verifyToken(token, { keys: k.config, room: ROOM });
      expect(verified).toMatchObject({
        ok: true,
        claims: { sub: 'alice', room: ROOM, exp: payload.iat + 600, jti: 'j-1' },
      });
    },
  );

  it('lasts 3600 s by default, carries rights that compile as given, and takes a clock', async () => {
    const token = await mintToken(
      {
        room: 'room-*',
        sub: 'bob',
        rights: { read: ['chat*', '!chat-x'], write: ['chat-bob'], presence: true },
        now: NOW + 0.7,
      },
      keys.ed,
    );
    expect(parts(token)[1]).toMatchObject({ iat: NOW, exp: NOW + 3600 });
    const verified = await verifyToken(token, { keys: k.config, room: ROOM, now: NOW });
    if (!verified.ok) throw new Error(verified.message);
    expect(verified.rights.serialize()).toEqual([['chat*', '!chat-x'], ['chat-bob'], [], 1]);
  });

  it('does not cap the lifetime: the Worker refuses one over its MAX_TOKEN_SECONDS', async () => {
    const token = await mintToken({ room: ROOM, sub: 'alice', ttlSeconds: 7200, now: NOW }, keys.hs);
    expect(await verifyToken(token, { keys: k.config, room: ROOM, now: NOW })).toEqual({
      ok: false,
      code: 'unauthorized',
      message: 'Token lifetime over 3600 s',
    });
    expect((await verifyToken(token, { keys: k.config, room: ROOM, now: NOW, maxTokenSeconds: 7200 })).ok).toBe(true);
  });

  it('refuses claims the Worker would refuse, with the same words', async () => {
    const mint = (options: Partial<Parameters<typeof mintToken>[0]>) =>
      mintToken({ room: ROOM, sub: 'alice', ...options }, keys.hs);
    await expect(mint({ room: 'a*b' })).rejects.toThrow(
      'mintToken: Bad claim room: must be a room ID, or a prefix ending in *',
    );
    await expect(mint({ sub: '' })).rejects.toThrow('mintToken: Bad claim sub: must be 1-64 characters');
    await expect(mint({ jti: 'j'.repeat(65) })).rejects.toThrow(
      'mintToken: Bad claim jti: must be at most 64 characters',
    );
    await expect(mint({ rights: { wirte: ['*'] } as never })).rejects.toThrow(
      'mintToken: Bad claim rights: unknown right',
    );
    for (const ttlSeconds of [0, -1, 1.5, Number.NaN]) {
      await expect(mint({ ttlSeconds }), String(ttlSeconds)).rejects.toThrow(
        'mintToken: ttlSeconds must be a positive whole number',
      );
    }
  });

  it('refuses keys that cannot sign what the Worker verifies', async () => {
    const mint = (key: unknown) => mintToken({ room: ROOM, sub: 'alice' }, key as MintKey);
    await expect(mint({ kid: 'hs', alg: 'HS256', secret: 'short' })).rejects.toThrow(
      'an HS256 secret needs at least 32 characters',
    );
    // The public half, as configured in AUTH_KEYS, cannot sign.
    await expect(mint({ kid: 'es', alg: 'ES256', privateJwk: k.esPublic })).rejects.toThrow(
      'missing: sign with the private JWK',
    );
    // An EC key labelled EdDSA, and an algorithm the Worker does not take.
    await expect(mint({ kid: 'ed', alg: 'EdDSA', privateJwk: k.es })).rejects.toThrow('mintToken: bad key');
    await expect(mint({ kid: 'rs', alg: 'RS256', secret: HS_SECRET })).rejects.toThrow(
      'alg must be HS256, ES256 or EdDSA',
    );
  });

  it("signs with exactly the given key: another kid's key makes a token the Worker refuses", async () => {
    const token = await mintToken(
      { room: ROOM, sub: 'alice' },
      { kid: 'hs', alg: 'HS256', secret: `${HS_SECRET}-other` },
    );
    expect(await verifyToken(token, { keys: k.config, room: ROOM })).toEqual({
      ok: false,
      code: 'unauthorized',
      message: 'Bad token signature',
    });
  });
});
