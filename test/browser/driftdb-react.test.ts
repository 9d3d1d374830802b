// Acceptance: the published driftdb-react@1.0.12 hooks, unchanged, in real
// Chromium against the real worker. The page is bundled here with esbuild and
// served from an origin of its own (another loopback port), as an app using
// edgeroom would be.
import { build } from 'esbuild';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../e2e/server.ts';
import { launchChromium, screenshot, STEP_MS } from './harness.ts';

let appOrigin: string;
let app: Server;
let server: TestServer;
let browser: Browser;
let bundle: string;

beforeAll(async () => {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./fixtures/driftdb-react-app.tsx', import.meta.url))],
    bundle: true,
    write: false,
    format: 'iife',
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  bundle = result.outputFiles[0]!.text;
  // Loopback, like the worker: Chromium lets a page reach the loopback address
  // space only from it, and 127.0.0.1 is a secure context (driftdb needs crypto.randomUUID).
  app = createServer((req, res) => {
    const js = req.url === '/app.js';
    res.writeHead(200, { 'content-type': js ? 'text/javascript' : 'text/html' });
    res.end(js ? bundle : '<!doctype html><div id="root"></div><script src="/app.js"></script>');
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appOrigin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  server = await startServer();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await new Promise((resolve) => app?.close(resolve));
});

async function openApp(url: string): Promise<Page> {
  const context = await browser.newContext();
  context.setDefaultTimeout(STEP_MS);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  await page.goto(url);
  await page
    .locator('#status', { hasText: /^connected$/ })
    .waitFor()
    .catch((e) => {
      throw new Error(`${e.message}; page errors: ${problems.join('; ') || 'none'}`);
    });
  return page;
}

describe('driftdb-react@1.0.12 against edgeroom', () => {
  it('shares state, a reducer and presence between two browsers through a room link', async () => {
    const first = await openApp(`${appOrigin}/?api=${encodeURIComponent(`${server.url}/`)}`);
    // DriftDBProvider created a room and wrote it into the page URL: that is the shareable link.
    const link = () => first.evaluate(() => location.href);
    await expect
      .poll(async () => new URL(await link()).searchParams.get('_driftdb_room'), { timeout: STEP_MS })
      .toMatch(/^[A-Za-z0-9]{24}$/);
    const second = await openApp(await link());

    await first.locator('#text').fill('hello from one');
    await expect.poll(() => second.locator('#text').inputValue(), { timeout: STEP_MS }).toBe('hello from one');

    for (let i = 0; i < 3; i++) await second.locator('#add').click();
    await expect.poll(() => first.locator('#count').textContent(), { timeout: STEP_MS }).toBe('3');

    await expect.poll(() => first.locator('#others').textContent(), { timeout: STEP_MS }).toBe('1');
    await expect.poll(() => second.locator('#others').textContent(), { timeout: STEP_MS }).toBe('1');
    await screenshot(second, 'driftdb-react');
  });
});
