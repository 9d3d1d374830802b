// The demo pages' routes: `/` makes a room and redirects to its shareable
// URL, which serves the demo page from the static assets.
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

  it('rejects a malformed room ID in the shareable URL', async () => {
    const bad = await http('/r/not%20ok!');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ type: 'error', code: 'bad_room_id', message: expect.stringContaining('Room IDs') });
  });
});
