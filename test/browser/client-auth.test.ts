// withToken (/lib/auth.js) in real Chromium: a page joins a private room with
// its token in the Sec-WebSocket-Protocol header (never in the URL), and talks
// with a Node client in the same room; a page with a bad token stops, having
// seen the close code (the server echoes edgeroom.v1 on a refusal too).
import { sign } from 'hono/jwt';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WS from 'ws';
import { withToken } from '../../client/auth.ts';
import { connect, type Room } from '../../client/index.ts';
import { startServer, type TestServer } from '../e2e/server.ts';
import { launchChromium, STEP_MS } from './harness.ts';

const SECRET = 'browser-auth-secret-0123456789abcdef';
const key = { kty: 'oct', k: Buffer.from(SECRET).toString('base64url'), alg: 'HS256', kid: 'hs' };
const tokenFor = (room: string, sub: string, signer: object = key) =>
  sign({ sub, room, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 }, signer as never);
const privateRoom = () => `p_${Math.random().toString(36).slice(2, 14)}`;

let server: TestServer;
let browser: Browser;
const rooms: Room[] = [];

beforeAll(async () => {
  server = await startServer({ AUTH_KEYS: JSON.stringify([{ kid: 'hs', alg: 'HS256', secret: SECRET }]) });
  browser = await launchChromium();
});
afterAll(async () => {
  for (const room of rooms) room.close();
  await browser?.close();
  await server?.stop();
});

/**
 * A page on the worker's origin (it can import /lib/*.js), with the socket handshakes it makes.
 * A real response from the loopback server, not a routed one: Chromium lets only a page
 * loaded from the loopback address space reach it (Local Network Access).
 */
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
  await page.goto(`${server.url}/lib/auth.js`); // shown as text: nothing runs
  return { page, handshakes };
}

/**
 * In the page: connect to `room` with withToken and a token that is already there;
 * what happens goes in `window.t`. A string, not a function: the test's own
 * transform would rewrite a function's `import()`, which the page must run as written.
 */
const JOIN = `async ({ room, token }) => {
  const [{ connect }, { withToken }] = await Promise.all([import('/lib/edgeroom.js'), import('/lib/auth.js')]);
  const t = (window.t = { statuses: [], errors: [], values: [] });
  t.room = connect({ base: location.origin, room }, { WebSocket: withToken(async () => token) });
  t.room.on('status', (s) => t.statuses.push(s));
  t.room.on('error', (e) => t.errors.push(e.code + ': ' + e.message));
  t.room.subscribe('chat', (e) => e.type === 'message' && t.values.push([e.value, e.client]));
}`;
const joinInPage = (page: Page, room: string, token: string): Promise<void> =>
  page.evaluate(`(${JOIN})(${JSON.stringify({ room, token })})`);

const inPage = <T>(page: Page, read: string): Promise<T> => page.evaluate(`(${read})(window.t)`) as Promise<T>;

describe('withToken in Chromium', () => {
  it('joins a private room with the token in the subprotocol header, and talks with a Node client there', async () => {
    const room = privateRoom();
    const { page, handshakes } = await blankPage();
    const token = await tokenFor(room, 'alice');
    await joinInPage(page, room, token);
    await expect.poll(() => inPage(page, '(t) => t.room.status'), { timeout: STEP_MS }).toBe('open');
    expect(await inPage(page, '(t) => t.room.clientId')).toBe('alice');

    // The room's early frames (its hello: test/browser/early-frames.test.ts) between ours and the token.
    expect(handshakes).toHaveLength(1);
    expect(handshakes[0]!.response).toBe('edgeroom.v1');
    const offered = handshakes[0]!.request!.split(', ');
    expect([offered[0], offered[2]]).toEqual(['edgeroom.v1', `auth.${token}`]);
    expect(offered[1]).toMatch(/^early\./);
    const urls: string[] = [];
    page.on('websocket', (ws) => urls.push(ws.url()));

    const bob = connect(
      { base: server.url, room },
      { WebSocket: withToken(() => tokenFor(room, 'bob'), { WebSocket: WS }) },
    );
    rooms.push(bob);
    const heard: unknown[] = [];
    bob.subscribe('chat', (e) => e.type === 'message' && heard.push([e.value, e.client]));
    await expect.poll(() => bob.status, { timeout: STEP_MS }).toBe('open');
    await inPage(page, "(t) => t.room.append('chat', 'from the page')");
    await bob.append('chat', 'from node');
    await expect
      .poll(() => heard, { timeout: STEP_MS })
      .toEqual([
        ['from the page', 'alice'],
        ['from node', 'bob'],
      ]);
    await expect
      .poll(() => inPage(page, '(t) => t.values'), { timeout: STEP_MS })
      .toEqual([
        ['from the page', 'alice'],
        ['from node', 'bob'],
      ]);
    expect(await inPage(page, '(t) => t.errors')).toEqual([]);
    expect(urls).toEqual([]); // one socket all along
    await inPage(page, '(t) => t.room.close()');
  });

  it("stops a page whose token is refused twice, with the server's reason, instead of dialing forever", async () => {
    const room = privateRoom();
    const { page, handshakes } = await blankPage();
    const forged = await tokenFor(room, 'mallory', {
      ...key,
      k: Buffer.from('not-the-secret-0123456789abcdef-xx').toString('base64url'),
    });
    await joinInPage(page, room, forged);
    await expect.poll(() => inPage(page, '(t) => t.room.status'), { timeout: STEP_MS }).toBe('closed');
    expect(await inPage(page, '(t) => t.statuses')).toEqual(['reconnecting', 'closed']);
    expect(await inPage(page, '(t) => t.errors')).toEqual(['unauthorized: Bad token signature']);
    expect(handshakes.map((h) => h.response)).toEqual(['edgeroom.v1', 'edgeroom.v1']);
  });
});
