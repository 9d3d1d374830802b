// Early frames in real Chromium: the client's hello and subscriptions ride in the upgrade's
// Sec-WebSocket-Protocol header (docs/protocol.md, Early frames). A browser refuses to make a
// socket whose protocols are not header tokens, and fails a handshake whose answer names one it
// did not offer: this proves the encoding (parentheses, quotes, braces, non-ASCII) and the echo.
import type { Browser, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WS from 'ws';
import { startServer, type TestServer } from '../e2e/server.ts';
import { launchChromium, STEP_MS } from './harness.ts';

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startServer({ ADDRESS_LIMITS: 'off' });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** A page on the worker's origin (it imports /lib/edgeroom.js), and the protocols of each handshake it makes. */
async function blankPage(): Promise<{ page: Page; handshakes: { request?: string; response?: string }[] }> {
  const context = await browser.newContext();
  context.setDefaultTimeout(STEP_MS);
  const page = await context.newPage();
  const cdp: CDPSession = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const handshakes: { request?: string; response?: string }[] = [];
  const byId = new Map<string, { request?: string; response?: string }>();
  const header = (headers: Record<string, string>) =>
    Object.entries(headers).find(([name]) => name.toLowerCase() === 'sec-websocket-protocol')?.[1];
  cdp.on('Network.webSocketWillSendHandshakeRequest', (e) => {
    const entry = { request: header(e.request.headers as Record<string, string>) };
    byId.set(e.requestId, entry);
    handshakes.push(entry);
  });
  cdp.on('Network.webSocketHandshakeResponseReceived', (e) => {
    const entry = byId.get(e.requestId);
    if (entry) entry.response = header(e.response.headers as Record<string, string>);
  });
  await page.goto(`${server.url}/lib/edgeroom.js`); // shown as text: nothing runs
  return { page, handshakes };
}

/** The frames an `early.` entry carries. */
const framesOf = (offered: string | undefined): unknown[] => {
  const entry = offered?.split(', ').find((p) => p.startsWith('early.'));
  if (!entry) throw new Error(`no early frames in ${offered}`);
  return JSON.parse(decodeURIComponent(entry.slice('early.'.length)));
};

/** In the page (a string: the test's transform must not rewrite its `import()`). */
const JOIN = `async ({ room, secret, presence }) => {
  const { connect } = await import('/lib/edgeroom.js');
  const t = (window.t = { statuses: [], errors: [], values: [], clients: [] });
  t.room = connect({ base: location.origin, room }, { secret, presence });
  t.room.on('status', (s) => t.statuses.push(s));
  t.room.on('error', (e) => t.errors.push(e.code + ': ' + e.message));
  t.room.subscribe('chat (main)', (e) => e.type === 'message' && t.values.push(e.value));
}`;
const inPage = <T>(page: Page, read: string): Promise<T> => page.evaluate(`(${read})(window.t)`) as Promise<T>;

describe('early frames in Chromium', () => {
  it('are offered in a form the browser accepts, echoed as edgeroom.v1 only, and taken by the room', async () => {
    const room = `early-${Math.random().toString(36).slice(2, 12)}`;
    const secret = `page-secret-${Math.random().toString(36).slice(2, 12)}`;
    const presence = { name: 'Zoë (host)', note: `it's 100% "fine": {ok}, naïve` };
    const { page, handshakes } = await blankPage();
    await page.evaluate(`(${JOIN})(${JSON.stringify({ room, secret, presence })})`);
    await expect.poll(() => inPage(page, '(t) => t.room.status'), { timeout: STEP_MS }).toBe('open');

    // The first dial: the hello in the upgrade (the subscription came after connect() returned).
    expect(handshakes).toHaveLength(1);
    expect(handshakes[0]!.response).toBe('edgeroom.v1');
    expect(handshakes[0]!.request).toMatch(/^edgeroom\.v1, early\.[!#$%&'*+.^_`|~0-9A-Za-z-]+$/);
    expect(framesOf(handshakes[0]!.request)).toEqual([{ type: 'hello', protocol: 1, secret, presence, acks: true }]);

    // A newer socket with the page's secret replaces the page's (4001): the page takes a new secret
    // and reconnects, now with its subscription in the upgrade, and its replay comes from the accept.
    const other = new WS(`${server.url.replace('http', 'ws')}/room/${room}/connect`);
    await new Promise((resolve, reject) => {
      other.once('open', resolve);
      other.once('error', reject);
    });
    other.send(JSON.stringify({ type: 'hello', protocol: 1, secret }));
    other.send(JSON.stringify({ type: 'push', key: 'chat (main)', value: 'while away', action: { type: 'append' } }));
    await expect.poll(() => handshakes.length, { timeout: STEP_MS }).toBe(2);
    await expect.poll(() => inPage(page, '(t) => t.values'), { timeout: STEP_MS }).toEqual(['while away']);
    expect(handshakes[1]!.response).toBe('edgeroom.v1');
    const [hello, sub] = framesOf(handshakes[1]!.request) as [{ secret: string }, unknown];
    expect(hello).toMatchObject({ type: 'hello', protocol: 1, presence, acks: true });
    expect(hello.secret).not.toBe(secret);
    expect(sub).toEqual({ type: 'sub', key: 'chat (main)', seq: 0 });
    expect(await inPage(page, '(t) => t.statuses')).toEqual(['open', 'reconnecting', 'open']);
    expect(await inPage(page, '(t) => t.errors')).toEqual([]);
    other.close();
    await inPage(page, '(t) => t.room.close()');
  });
});
