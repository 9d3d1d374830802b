// The router's answers to requests it cannot serve: a wrong method on a known
// path (405 with Allow), an oversize body (413 naming the limit).
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../protocol/limits.ts';
import { http } from './helpers.ts';

describe('HTTP answers', () => {
  it('answers a wrong method on a known path with 405 and Allow, in the error JSON', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/new', 'POST'],
      ['DELETE', '/new', 'POST'],
      ['PUT', '/room/abc', 'GET, HEAD'],
      ['POST', '/room/abc/connect', 'GET, HEAD'],
      ['GET', '/room/abc/send', 'POST'],
      ['GET', '/room/abc/revoke', 'POST'],
      ['POST', '/r/abc', 'GET, HEAD'],
      ['POST', '/lib/edgeroom.js', 'GET, HEAD'],
      ['DELETE', '/', 'GET, HEAD'],
    ];
    for (const [method, path, allow] of cases) {
      const res = await http(path, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow'), `${method} ${path}`).toBe(allow);
      expect(await res.json()).toEqual({
        type: 'error',
        code: 'bad_message',
        message: `${method} is not allowed here; use ${allow}`,
      });
    }
  });

  it('still answers 404 for a path it does not know, and 204 to a CORS preflight', async () => {
    expect((await http('/room/abc/nope', { method: 'POST' })).status).toBe(404);
    const preflight = await http('/new', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    // HEAD is GET without the body.
    expect((await http('/room/abc', { method: 'HEAD' })).status).toBe(200);
  });

  it('says the limit, in bytes, when a send body is too large', async () => {
    const max = DEFAULT_LIMITS.maxMessageBytes;
    const huge = await http('/room/abc/send', { method: 'POST', body: 'x'.repeat(max + 1) });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toEqual({
      type: 'error',
      code: 'too_large',
      message: `Body exceeds maxMessageBytes (${max} bytes)`,
    });
    const bigNew = await http('/new', { method: 'POST', body: 'x'.repeat(2000) });
    expect(bigNew.status).toBe(413);
    expect(await bigNew.json()).toMatchObject({
      code: 'too_large',
      message: expect.stringContaining('at most 1024 bytes'),
    });
  });
});
