// AUTH_KEYS and MAX_TOKEN_SECONDS: read from the environment, checked loudly, imported once.
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { authConfigFrom } from '../../worker/auth/config.ts';
import { keysFrom } from '../../worker/auth/keys.ts';
import { verifyToken } from '../../worker/auth/verify.ts';
import { claims, hmacSigner, makeKeys, NOW, ROOM, token } from './helpers.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('settings from the environment', () => {
  it('come from AUTH_KEYS and MAX_TOKEN_SECONDS (this project sets 600)', async () => {
    const settings = authConfigFrom(env);
    expect(settings.maxTokenSeconds).toBe(600);
    const t = await token(claims({ exp: NOW + 601 }), hmacSigner('env-secret-0123456789abcdef0123456789', 'env'));
    expect(await verifyToken(t, { ...settings, room: ROOM, now: NOW })).toEqual({
      ok: false,
      code: 'unauthorized',
      message: 'Token lifetime over 600 s',
    });
    expect(
      (
        await verifyToken(await token(claims(), hmacSigner('env-secret-0123456789abcdef0123456789', 'env')), {
          ...settings,
          room: ROOM,
          now: NOW,
        })
      ).ok,
    ).toBe(true);
  });

  it('default to 3600 s, and refuse a bad value', () => {
    expect(authConfigFrom({})).toEqual({ keys: undefined, maxTokenSeconds: 3600 });
    expect(() => authConfigFrom({ MAX_TOKEN_SECONDS: 'an hour' })).toThrow(
      /^Bad auth setting in wrangler vars: .*MAX_TOKEN_SECONDS/s,
    );
  });
});

describe('a bad AUTH_KEYS', () => {
  const secret = 'x'.repeat(32);
  it.each([
    [undefined, 'AUTH_KEYS is not set'],
    ['{', 'Bad AUTH_KEYS: not JSON'],
    ['[]', 'Bad AUTH_KEYS: ✖ at least one key'],
    [
      JSON.stringify([{ kid: 'a', alg: 'HS256', secret: 'short' }]),
      'Bad AUTH_KEYS: ✖ an HS256 secret needs at least 32 characters\n  → at [0].secret',
    ],
    [
      JSON.stringify([{ kid: 'a', alg: 'RS256', secret }]),
      "Bad AUTH_KEYS: ✖ Invalid discriminator value. Expected 'HS256' | 'ES256' | 'EdDSA'\n  → at [0].alg",
    ],
    [
      JSON.stringify([
        { kid: 'a', alg: 'HS256', secret },
        { kid: 'a', alg: 'HS256', secret },
      ]),
      'Bad AUTH_KEYS: ✖ every kid must be unique',
    ],
    [
      JSON.stringify([{ kid: 'a', alg: 'ES256', jwk: { kty: 'OKP', crv: 'Ed25519', x: 'AAAA' } }]),
      'Bad AUTH_KEYS: ✖ Invalid input: expected "EC"\n  → at [0].jwk.kty',
    ],
    [
      JSON.stringify([{ kid: 'a', alg: 'EdDSA', jwk: { kty: 'OKP', crv: 'Ed25519', x: 'AAAA' } }]),
      'Bad AUTH_KEYS: key a (EdDSA) does not import',
    ],
  ])('%s fails every verification with its reason', async (config, reason) => {
    // The config is read before the token, so even a malformed token meets the error.
    await expect(verifyToken('a.b.c', { keys: config, room: ROOM })).rejects.toThrow(reason);
  });

  it("refuses a private JWK, which should never be in a verifier's config", async () => {
    const { privateKey } = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const jwk = await crypto.subtle.exportKey('jwk', privateKey);
    await expect(keysFrom(JSON.stringify([{ kid: 'a', alg: 'EdDSA', jwk }]))).rejects.toThrow(
      'a private key (d); configure the public JWK only',
    );
  });
});

describe('key import', () => {
  it('happens once per config string, not per verification', async () => {
    const keys = await makeKeys();
    const t = await token(claims(), keys.es); // signing imports the private key: not counted
    const importKey = vi.spyOn(crypto.subtle, 'importKey');
    expect((await verifyToken(t, { keys: keys.config, room: ROOM, now: NOW })).ok).toBe(true);
    const first = importKey.mock.calls.length;
    expect(first).toBe(3); // one per configured key
    for (let i = 0; i < 3; i++)
      expect((await verifyToken(t, { keys: keys.config, room: ROOM, now: NOW })).ok).toBe(true);
    expect(importKey.mock.calls.length).toBe(first);
    expect(keysFrom(keys.config)).toBe(keysFrom(keys.config));
  });
});
