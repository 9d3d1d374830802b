// The demo pages' routes: `/` makes a room and redirects to its shareable
// URL, which serves the demo page; the Worker serves the pages and the client
// bundle they load itself (worker/demo.ts).
import { describe, expect, it } from 'vitest';
import { http } from './helpers.ts';

describe('demo page routes', () => {
  it('redirects / to a shareable URL holding a fresh room ID, never cached', async () => {
    const first = await http('/', { redirect: 'manual' });
    expect(first.status).toBe(302);
    expect(first.headers.get('location')).toMatch(/^\/r\/[A-Za-z0-9]{24}$/);
    expect(first.headers.get('cache-control')).toBe('no-store');
    const second = await http('/', { redirect: 'manual' });
    expect(second.headers.get('location')).not.toBe(first.headers.get('location'));
  });

  it('serves the same demo page for every room at /r/:id', async () => {
    const a = await http('/r/abcDEF123_-x');
    expect(a.status).toBe(200);
    expect(a.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await a.text();
    expect(page).toContain('<script type="module" src="/demo/presence.js"></script>');
    expect(await (await http('/r/another')).text()).toBe(page);
  });

  it('answers a malformed room ID in the shareable URL with a page that says so (400), the ID escaped', async () => {
    const bad = await http('/r/not%20ok!');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await bad.text();
    expect(page).toContain('malformed room ID');
    expect(page).toContain('<code>not ok!</code>');
    expect(page).toContain('1-64 characters of A-Z, a-z, 0-9, _ and -');
    expect(page).toContain('<link rel="icon" href="data:image/svg+xml,'); // no favicon request, so no 404 in the console
    const script = await (await http('/r/%3Cscript%3Ealert(1)%3C%2Fscript%3E')).text();
    expect(script).not.toContain('<script>');
    expect(script).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
  });

  it('serves the demo files with their types, by name with or without .html', async () => {
    const cases: [string, RegExp, string][] = [
      ['/demo/', /^text\/html/, '<script type="module" src="/demo/presence.js"></script>'],
      ['/demo/chat', /^text\/html/, '<script type="module" src="/demo/chat.js"></script>'],
      ['/demo/chat.html', /^text\/html/, '<script type="module" src="/demo/chat.js"></script>'],
      ['/demo/common.js', /^text\/javascript/, "from '/lib/edgeroom.js'"],
      ['/demo/style.css', /^text\/css/, 'body'],
      ['/lib/edgeroom.js', /^text\/javascript/, 'export'],
      ['/lib/signaling.js', /^text\/javascript/, 'export'],
      ['/lib/rpc.js', /^text\/javascript/, 'edgeroom.rpc'],
      ['/lib/auth.js', /^text\/javascript/, 'export'],
      ['/lib/offline.js', /^text\/javascript/, 'edgeroom-outbox:'],
      ['/lib/cache.js', /^text\/javascript/, 'edgeroom-v1'],
      ['/demo/notes', /^text\/html/, '<script type="module" src="/demo/notes.js"></script>'],
      ['/lib/tabs.js', /^text\/javascript/, 'edgeroom:'],
      ['/demo/tabs', /^text\/html/, '<script type="module" src="/demo/tabs.js"></script>'],
      ['/demo/tabs.js', /^text\/javascript/, "from '/lib/tabs.js'"],
      ['/lib/edgeroom.js.map', /^application\/json/, '"sources"'],
    ];
    for (const [path, type, text] of cases) {
      const response = await http(path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toMatch(type);
      expect(await response.text(), path).toContain(text);
    }
  });

  it('answers a revalidation with 304 while the file is unchanged', async () => {
    const first = await http('/lib/edgeroom.js');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{16}"$/);
    expect(first.headers.get('cache-control')).toBe('no-cache');
    const again = await http('/lib/edgeroom.js', { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect((await http('/lib/edgeroom.js', { headers: { 'if-none-match': '"stale"' } })).status).toBe(200);
  });

  it('serves the client modules with CORS, so pages on other origins can import them', async () => {
    const response = await http('/lib/edgeroom.js', { headers: { origin: 'https://app.example.com' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('serves the client modules under /lib/<version>/ too, cached for good, each naming its types', async () => {
    const { version } = await import('../../package.json');
    const pinned = await http(`/lib/${version}/edgeroom.js`);
    expect(pinned.status).toBe(200);
    expect(pinned.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await pinned.text()).toBe(await (await http('/lib/edgeroom.js')).text());
    expect(pinned.headers.get('x-typescript-types')).toBe('./types/client/index.d.ts');
    expect((await http('/lib/edgeroom.js')).headers.get('x-typescript-types')).toBe(
      `./${version}/types/client/index.d.ts`,
    );
    expect((await http(`/lib/${version}/react.js`)).headers.get('x-typescript-types')).toBe(
      './types/client/react.d.ts',
    );
    expect((await http('/lib/rpc.js')).headers.get('x-typescript-types')).toBe(`./${version}/types/client/rpc.d.ts`);
    expect((await http(`/lib/${version}/types/client/rpc.d.ts`)).status).toBe(200);
    for (const entry of ['offline', 'cache']) {
      expect((await http(`/lib/${entry}.js`)).headers.get('x-typescript-types')).toBe(
        `./${version}/types/client/${entry}.d.ts`,
      );
      expect((await http(`/lib/${version}/types/client/${entry}.d.ts`)).status).toBe(200);
    }
    expect((await http('/lib/tabs.js')).headers.get('x-typescript-types')).toBe(`./${version}/types/client/tabs.d.ts`);
    expect((await http(`/lib/${version}/types/client/tabs.d.ts`)).status).toBe(200);
    // The types resolve from there, and need nothing but each other (and React's, for react.d.ts).
    const index = await http(`/lib/${version}/types/client/index.d.ts`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^application\/typescript/);
    const text = await index.text();
    expect(text).toContain('export { connect }');
    for (const [, spec] of text.matchAll(/from '([^']+)'/g)) {
      expect(spec, 'a relative .js specifier').toMatch(/^\.\.?\/.*\.js$/);
      const target = new URL(spec!.replace(/\.js$/, '.d.ts'), `http://x/lib/${version}/types/client/index.d.ts`)
        .pathname;
      expect((await http(target)).status, target).toBe(200);
    }
    // Another version's URL is not this file: a page pinned to it must not silently get other code.
    expect((await http('/lib/0.0.0-other/edgeroom.js')).status).toBe(404);
  });

  it('answers 404 for files the demo does not have', async () => {
    for (const path of ['/demo/nope', '/lib/nope.js', '/demo/../wrangler.toml', '/lib/']) {
      const response = await http(path);
      expect(response.status, path).toBe(404);
      expect(await response.json(), path).toEqual({
        type: 'error',
        code: 'not_found',
        message: expect.stringContaining('No route'),
      });
    }
  });
});
