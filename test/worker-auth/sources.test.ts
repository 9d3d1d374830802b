// Where a token comes from: the WebSocket subprotocol, a bearer header, ?token=.
import { describe, expect, it } from 'vitest';
import {
  tokenFromAuthorization,
  tokenFromProtocols,
  tokenFromRequest,
  tokenFromUrl,
} from '../../worker/auth/sources.ts';
import { verifyToken } from '../../worker/auth/verify.ts';
import { claims, makeKeys, ROOM, token } from './helpers.ts';

const JWT = 'eyJh.eyJz.c2ln';
const refused = (message: string) => ({ ok: false, code: 'unauthorized', message });

describe('Sec-WebSocket-Protocol', () => {
  it('gives the token, and edgeroom.v1 (never the token) to echo', () => {
    expect(tokenFromProtocols(`edgeroom.v1, auth.${JWT}`)).toEqual({ ok: true, token: JWT, protocol: 'edgeroom.v1' });
    expect(tokenFromProtocols(`auth.${JWT},edgeroom.v1`)).toEqual({ ok: true, token: JWT, protocol: 'edgeroom.v1' });
    expect(tokenFromProtocols('edgeroom.v1')).toEqual({ ok: true, token: undefined, protocol: 'edgeroom.v1' });
    expect(tokenFromProtocols(null)).toEqual({ ok: true, token: undefined, protocol: undefined });
  });

  it('refuses a token without edgeroom.v1 to echo, and two tokens', () => {
    expect(tokenFromProtocols(`auth.${JWT}`)).toEqual(refused('Offer edgeroom.v1 alongside auth.<token>'));
    expect(tokenFromProtocols(`edgeroom.v1, auth.${JWT}, auth.other`)).toEqual(refused('More than one token given'));
  });
});

describe('Authorization and ?token=', () => {
  it('take a bearer token, in any case of the scheme, and nothing else', () => {
    expect(tokenFromAuthorization(`Bearer ${JWT}`)).toBe(JWT);
    expect(tokenFromAuthorization(`bearer  ${JWT}`)).toBe(JWT);
    for (const h of [null, '', 'Bearer', 'Bearer ', `Basic ${JWT}`, `Bearer ${JWT} extra`])
      expect(tokenFromAuthorization(h), String(h)).toBeUndefined();
  });

  it('read ?token= from the URL', () => {
    expect(tokenFromUrl(`https://x.test/room/a/connect?cbor=1&token=${JWT}`)).toBe(JWT);
    expect(tokenFromUrl('https://x.test/room/a/connect?token=')).toBeUndefined();
    expect(tokenFromUrl('https://x.test/room/a/connect')).toBeUndefined();
    expect(tokenFromUrl(`https://x.test/room/a/connect?tok%65n=${JWT}`)).toBe(JWT); // as URLSearchParams decodes it
  });
});

describe('a request', () => {
  it('yields a token from each source that verifies', async () => {
    const keys = await makeKeys();
    const t = await token(claims({ iat: undefined, exp: Math.floor(Date.now() / 1000) + 600 }), keys.ed);
    const url = `https://x.test/room/${ROOM}/connect`;
    const requests = [
      new Request(url, { headers: { 'sec-websocket-protocol': `edgeroom.v1, auth.${t}` } }),
      new Request(url, { headers: { authorization: `Bearer ${t}` } }),
      new Request(`${url}?token=${t}`),
    ];
    for (const [i, request] of requests.entries()) {
      const found = tokenFromRequest(request);
      expect(found, `source ${i}`).toEqual({ ok: true, token: t, protocol: i === 0 ? 'edgeroom.v1' : undefined });
      expect(
        (await verifyToken(found.ok ? found.token : undefined, { keys: keys.config, room: ROOM })).ok,
        `source ${i}`,
      ).toBe(true);
    }
    expect(tokenFromRequest(new Request(url))).toEqual({ ok: true, token: undefined, protocol: undefined });
  });

  it('refuses a token in two places, even the same one', () => {
    const r = new Request(`https://x.test/?token=${JWT}`, { headers: { authorization: `Bearer ${JWT}` } });
    expect(tokenFromRequest(r)).toEqual(refused('More than one token given'));
  });
});
