// Token verification in workerd: each outcome with its exact code and message.
// Messages are spelled out rather than taken from AUTH_MESSAGES, so a changed
// text (which clients and docs may rely on) fails here.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AUTH_CLOSE_CODES,
  AUTH_HTTP_STATUS,
  AUTH_MESSAGES,
  verifyToken,
  type AuthResult,
} from '../../worker/auth/verify.ts';
import { claims, craft, hmacSigner, HS_SECRET, makeKeys, NOW, ROOM, token, type TestKeys } from './helpers.ts';

let k: TestKeys;
beforeAll(async () => {
  k = await makeKeys();
});

const check = (t: string | undefined, options: { room?: string; now?: number; maxTokenSeconds?: number } = {}) =>
  verifyToken(t, { keys: k.config, room: ROOM, now: NOW, ...options });
const refused = (code: string, message: string) => ({ ok: false, code, message });
const unauthorized = (message: string) => refused('unauthorized', message);
const accepted = (r: AuthResult) => {
  if (!r.ok) throw new Error(`refused: ${r.code} ${r.message}`);
  return r;
};

describe('good tokens', () => {
  it.each(['hs', 'es', 'ed'] as const)('signed by %s are accepted, with their claims', async (name) => {
    const payload = claims({ jti: 'j-1', nbf: NOW - 5, extra: 'ignored' });
    const r = accepted(await check(await token(payload, k[name])));
    expect(r.claims).toEqual({ sub: 'alice', room: ROOM, iat: NOW, exp: NOW + 600, jti: 'j-1', nbf: NOW - 5 });
    expect(r.rights.serialize()).toEqual([['*'], ['*'], [], 3]);
  });

  it('are checked against the clock when no `now` is given', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect((await check(await token(claims({}, now), k.es), { now: undefined })).ok).toBe(true);
    expect(await check(await token(claims({ exp: now - 120 }, now), k.es), { now: undefined })).toEqual(
      refused('token_expired', 'Token expired'),
    );
  });
});

describe('signatures and keys', () => {
  it('a signature by another secret is refused', async () => {
    const forged = await token(claims(), hmacSigner('another-secret-of-the-same-length-00', 'hs'));
    expect(await check(forged)).toEqual(unauthorized('Bad token signature'));
  });

  it('a token whose claims were changed after signing is refused', async () => {
    const [head, , sig] = (await token(claims(), k.ed)).split('.');
    const [, body] = craft({}, claims({ sub: 'mallory' })).split('.');
    expect(await check(`${head}.${body}.${sig}`)).toEqual(unauthorized('Bad token signature'));
  });

  it('alg none is refused, even naming a real key', async () => {
    const unsigned = craft({ alg: 'none', typ: 'JWT', kid: 'hs' }, claims());
    expect(await check(unsigned)).toEqual(unauthorized('Token alg is not HS256, ES256 or EdDSA'));
    expect(await check(`${unsigned}AAAA`)).toEqual(unauthorized('Token alg is not HS256, ES256 or EdDSA'));
  });

  it('algorithm confusion (HS256 keyed with the ES256 public JWK, kid of the ES256 key) is refused', async () => {
    const jwkText = JSON.stringify(k.esPublic);
    const confused = await token(claims(), hmacSigner(jwkText, 'es'));
    expect(JSON.parse(atob(confused.split('.')[0]!))).toMatchObject({ alg: 'HS256', kid: 'es' });
    expect(await check(confused)).toEqual(unauthorized('Token alg does not match its key'));
  });

  it("a header alg other than its key's is refused before verifying, even when signed right for that alg", async () => {
    // Properly ES256-signed, but naming the EdDSA key; and EdDSA naming the HS256 key.
    expect(await check(await token(claims(), { ...k.es, kid: 'ed' }))).toEqual(
      unauthorized('Token alg does not match its key'),
    );
    expect(await check(await token(claims(), { ...k.ed, kid: 'hs' }))).toEqual(
      unauthorized('Token alg does not match its key'),
    );
  });

  it('an unknown kid, or none, is refused', async () => {
    expect(await check(await token(claims(), { ...k.es, kid: 'es-old' }))).toEqual(unauthorized('Unknown kid'));
    const [, body, sig] = (await token(claims(), k.hs)).split('.');
    expect(await check(`${craft({ alg: 'HS256', typ: 'JWT' }, {}).split('.')[0]}.${body}.${sig}`)).toEqual(
      unauthorized('Token header has no kid'),
    );
  });

  it('malformed tokens are refused', async () => {
    for (const t of ['abc', 'a.b', 'a.b.c.d', 'a b.c.d', `${btoa('not json')}.e30.`, `${craft([1], {})}`]) {
      expect(await check(t), t).toEqual(unauthorized('Malformed token'));
    }
    // A header hono/jwt refuses (typ other than JWT), signed with the right key.
    const [, body] = craft({}, claims()).split('.');
    const head = craft({ alg: 'HS256', typ: 'at+jwt', kid: 'hs' }, {}).split('.')[0];
    const key = await crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(HS_SECRET),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    const sig = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${head}.${body}`)));
    const sigText = btoa(String.fromCharCode(...sig))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
    expect(await check(`${head}.${body}.${sigText}`)).toEqual(unauthorized('Malformed token'));
  });

  it('no token at all is refused', async () => {
    expect(await check(undefined)).toEqual(unauthorized('No token'));
    expect(await check('')).toEqual(unauthorized('No token'));
  });

  it('a token over 4096 bytes is refused unread; a signed one just under is accepted', async () => {
    expect(await check('a'.repeat(4097))).toEqual(unauthorized('Token longer than 4096 bytes'));
    const big = await token(claims({ pad: 'x'.repeat(3000) }), k.hs);
    expect(big.length).toBeGreaterThan(4096);
    expect(await check(big)).toEqual(unauthorized('Token longer than 4096 bytes'));
    const fits = await token(claims({ pad: 'x'.repeat(2900) }), k.hs);
    expect(fits.length).toBeGreaterThan(4000);
    expect(fits.length).toBeLessThanOrEqual(4096);
    expect((await check(fits)).ok).toBe(true);
  });
});

describe('time', () => {
  it('exp is required', async () => {
    expect(await check(await token(claims({ exp: undefined }), k.hs))).toEqual(unauthorized('Bad claim exp: required'));
    expect(await check(await token(claims({ exp: 'soon' }), k.hs))).toEqual(
      unauthorized('Bad claim exp: must be a number'),
    );
  });

  it('a token expired more than 60 s ago is refused; one expired within the leeway is accepted', async () => {
    expect(await check(await token(claims({ iat: NOW - 600, exp: NOW - 61 }), k.es))).toEqual(
      refused('token_expired', 'Token expired'),
    );
    expect(await check(await token(claims({ iat: NOW - 600, exp: NOW - 60 }), k.es))).toEqual(
      refused('token_expired', 'Token expired'),
    );
    expect((await check(await token(claims({ iat: NOW - 600, exp: NOW - 59 }), k.es))).ok).toBe(true);
  });

  it('an iat in the future is accepted within 60 s, refused beyond', async () => {
    expect((await check(await token(claims({ iat: NOW + 60, exp: NOW + 600 }), k.hs))).ok).toBe(true);
    expect(await check(await token(claims({ iat: NOW + 61, exp: NOW + 600 }), k.hs))).toEqual(
      unauthorized('Token issued in the future (iat)'),
    );
  });

  it('an nbf is honoured with the same leeway', async () => {
    expect((await check(await token(claims({ nbf: NOW + 60 }), k.hs))).ok).toBe(true);
    expect(await check(await token(claims({ nbf: NOW + 61 }), k.hs))).toEqual(
      unauthorized('Token not valid yet (nbf)'),
    );
  });

  it('a lifetime over maxTokenSeconds (3600 by default) is refused, from iat or else from now', async () => {
    expect((await check(await token(claims({ exp: NOW + 3600 }), k.hs))).ok).toBe(true);
    expect(await check(await token(claims({ exp: NOW + 3601 }), k.hs))).toEqual(
      unauthorized('Token lifetime over 3600 s'),
    );
    expect(await check(await token(claims({ iat: undefined, exp: NOW + 3601 }), k.hs))).toEqual(
      unauthorized('Token lifetime over 3600 s'),
    );
    // An old iat counts: the token was made to last that long.
    expect(await check(await token(claims({ iat: NOW - 3000, exp: NOW + 601 }), k.hs))).toEqual(
      unauthorized('Token lifetime over 3600 s'),
    );
    expect(await check(await token(claims({ exp: NOW + 601 }), k.hs), { maxTokenSeconds: 600 })).toEqual(
      unauthorized('Token lifetime over 600 s'),
    );
  });
});

describe('rooms', () => {
  it('a valid token for another room is forbidden', async () => {
    expect(await check(await token(claims({ room: 'room-2' }), k.ed))).toEqual(
      refused('forbidden', 'Token is for another room'),
    );
    // Only a token good in every other way is "forbidden".
    expect(await check(await token(claims({ room: 'room-2', exp: NOW - 100, iat: NOW - 200 }), k.ed))).toEqual(
      refused('token_expired', 'Token expired'),
    );
  });

  it('a room ending in * admits every room with that prefix, and only those', async () => {
    const t = await token(claims({ room: 'team-*' }), k.ed);
    for (const room of ['team-', 'team-a', 'team-a-b']) expect((await check(t, { room })).ok, room).toBe(true);
    for (const room of ['team', 'teamx', 'xteam-a'])
      expect(await check(t, { room }), room).toEqual(refused('forbidden', 'Token is for another room'));
    expect((await check(await token(claims({ room: '*' }), k.ed), { room: 'anything' })).ok).toBe(true);
    // Exact rooms do not match as prefixes.
    expect(await check(await token(claims({ room: 'room' }), k.ed), { room: 'room-1' })).toEqual(
      refused('forbidden', 'Token is for another room'),
    );
  });
});

describe('claims', () => {
  it('sub, room and jti are checked', async () => {
    expect(await check(await token(claims({ sub: undefined }), k.hs))).toEqual(unauthorized('Bad claim sub: required'));
    expect(await check(await token(claims({ sub: 'x'.repeat(65) }), k.hs))).toEqual(
      unauthorized('Bad claim sub: must be 1-64 characters'),
    );
    expect(await check(await token(claims({ room: 'a*b' }), k.hs))).toEqual(
      unauthorized('Bad claim room: must be a room ID, or a prefix ending in *'),
    );
    expect(await check(await token(claims({ jti: 'j'.repeat(65) }), k.hs))).toEqual(
      unauthorized('Bad claim jti: must be at most 64 characters'),
    );
  });

  it('malformed rights are refused: too many patterns, over 2 KiB, unknown or mistyped rights', async () => {
    const bad = async (rights: unknown) => check(await token(claims({ rights }), k.hs));
    const many = Array.from({ length: 33 }, (_, i) => `s${i}`);
    expect(await bad({ read: many })).toEqual(unauthorized('Bad claim rights.read: at most 32 patterns'));
    expect((await bad({ read: many.slice(0, 32) })).ok).toBe(true);
    // Three long patterns: few entries, but over 2048 bytes of JSON.
    expect(await bad({ write: ['a'.repeat(700), 'b'.repeat(700), 'c'.repeat(700)] })).toEqual(
      unauthorized('Bad claim rights: over 2048 bytes of JSON'),
    );
    expect(await bad({ wirte: ['*'] })).toEqual(unauthorized('Bad claim rights: unknown right'));
    expect(await bad({ read: 'chat' })).toEqual(unauthorized('Bad claim rights.read: must be a list of patterns'));
    expect(await bad({ read: [''] })).toEqual(unauthorized('Bad claim rights.read.0: empty pattern'));
    expect(await bad({ admin: 'yes' })).toEqual(
      unauthorized('Bad claim rights.admin: Invalid input: expected boolean, received string'),
    );
    expect(await bad(['*'])).toEqual(unauthorized('Bad claim rights: must be an object'));
  });

  it('a verified token carries its compiled rights', async () => {
    const r = accepted(
      await check(
        await token(claims({ rights: { read: ['chat*', '!chat-secret'], write: ['chat-me'], dm: true } }), k.es),
      ),
    );
    expect([
      r.rights.canRead('chat-1'),
      r.rights.canRead('chat-secret'),
      r.rights.canWrite('chat-me'),
      r.rights.canWrite('chat-1'),
    ]).toEqual([true, false, true, false]);
    expect([r.rights.presence, r.rights.dm, r.rights.admin]).toEqual([false, true, false]);
  });
});

describe('outcomes', () => {
  it('map to close codes and HTTP statuses, with messages that fit a close reason (123 bytes)', () => {
    expect(AUTH_CLOSE_CODES).toEqual({ unauthorized: 4100, token_expired: 4101, forbidden: 4103 });
    expect(AUTH_HTTP_STATUS).toEqual({ unauthorized: 401, token_expired: 401, forbidden: 403 });
    const texts = Object.values(AUTH_MESSAGES).map((m) => (typeof m === 'function' ? m(2 ** 31) : m));
    for (const text of texts) expect(new TextEncoder().encode(text).length, text).toBeLessThanOrEqual(123);
  });
});
