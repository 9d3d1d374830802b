/**
 * Browser tests drive Debian's Chromium through playwright-core against the
 * real worker (wrangler, loopback). The demo bundle is built once beforehand
 * (global-setup.ts; by hand: `node scripts/build-demo.mjs`).
 * Never `npx playwright install`: it downloads a browser, which cannot work here.
 */
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { startServer, type TestServer } from '../e2e/server.ts';
import { startProxy, type Proxy as NetworkProxy } from './proxy.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
/** The longest any single step may take: page loads, sockets, peer connections. */
export const STEP_MS = 15_000;
export const SCREENSHOTS = 'test-results';

export interface Demo {
  server: TestServer;
  /** Where pages load from: a proxy in front of the server, which can cut the network. */
  url: string;
  network: Pick<NetworkProxy, 'cut' | 'restore' | 'hold'>;
  browser: Browser;
  /** A new browser profile each time (own cookies and storage), as if another person opened the link. */
  visitor(): Promise<Page>;
  stop(): Promise<void>;
}

/** Headless Chromium with a fresh profile (playwright makes a new user-data dir per launch). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: STEP_MS });
}

/** `vars`: wrangler vars for the server, e.g. AUTH_KEYS for private rooms. */
export async function startDemo(vars: Record<string, string> = {}): Promise<Demo> {
  const server = await startServer(vars);
  const proxy = await startProxy(server.url);
  const browser = await launchChromium().catch(async (error) => {
    await proxy.close();
    await server.stop();
    throw error;
  });
  return {
    server,
    url: proxy.url,
    network: proxy,
    browser,
    async visitor() {
      const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
      context.setDefaultTimeout(STEP_MS);
      return context.newPage();
    },
    async stop() {
      await browser.close().catch(() => {});
      await proxy.close();
      await server.stop();
    },
  };
}

/** Open `/`, which makes a room, and return the shareable URL it redirected to. */
export async function newRoomUrl(page: Page, base: string): Promise<string> {
  await page.goto(`${base}/`);
  await page.waitForURL(/\/r\/[A-Za-z0-9]{24}$/);
  return page.url();
}

/** Wait until the page's status badge reads `open` (welcomed by the room). */
export async function connected(page: Page): Promise<void> {
  await page.locator('#status[data-status="open"]').waitFor();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
}

/**
 * Everything a page does that a user (or its console) would see as broken: console errors,
 * uncaught exceptions, failed requests and HTTP error responses (a favicon 404 included),
 * each pushed onto `problems` as it happens. Tests end with `expect(problems).toEqual([])`.
 */
export function watchProblems(page: Page, problems: string[] = []): string[] {
  const at = () => new URL(page.url()).pathname;
  page.on('console', (message) => {
    if (message.type() === 'error')
      problems.push(
        `${at()}: console error: ${message.text()}${message.location().url ? ` (${message.location().url})` : ''}`,
      );
  });
  page.on('pageerror', (error) => problems.push(`${at()}: uncaught: ${error.message}`));
  page.on('requestfailed', (request) =>
    problems.push(`${at()}: request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText})`),
  );
  page.on('response', (response) => {
    if (response.status() >= 400)
      problems.push(`${at()}: HTTP ${response.status()}: ${response.request().method()} ${response.url()}`);
  });
  return problems;
}

/**
 * What Chromium logs, whatever the page does, when a WebSocket cannot connect: expected
 * only while a test has cut the network (demo.network.cut()), and to be allowed only there.
 */
export const SOCKET_REFUSED_WHILE_CUT =
  /: console error: WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/room\/[\w-]+\/connect' failed: /;

/** `demo.visitor()`, with the problems (watchProblems) of every page its context opens pushed onto `problems`. */
export async function watchedVisitor(demo: Demo, problems: string[]): Promise<Page> {
  const page = await demo.visitor();
  watchProblems(page, problems);
  page.context().on('page', (opened) => watchProblems(opened, problems));
  return page;
}

/**
 * For a test file: the demo, started once (with wrangler `vars`), and visitors whose pages are
 * watched (watchProblems). Each test fails on any problem its pages had, except the socket
 * refusals Chromium logs after that test called `cutNetwork()`.
 */
export function useWatchedDemo(vars: Record<string, string> = {}) {
  let demo: Demo | undefined;
  let problems: string[] = [];
  let cut = false;
  beforeAll(async () => {
    demo = await startDemo(vars);
  });
  afterAll(() => demo?.stop());
  afterEach(() => {
    const found = problems.filter((problem) => !(cut && SOCKET_REFUSED_WHILE_CUT.test(problem)));
    problems = [];
    cut = false;
    expect(found).toEqual([]);
  });
  const started = (): Demo => {
    if (!demo) throw new Error('the demo is not started: call useWatchedDemo() at the top of the file');
    return demo;
  };
  return {
    get demo(): Demo {
      return started();
    },
    visitor: (): Promise<Page> => watchedVisitor(started(), problems),
    /** Cuts the demo's network; the sockets Chromium then fails to open are expected. */
    cutNetwork(): void {
      cut = true;
      started().network.cut();
    },
  };
}
