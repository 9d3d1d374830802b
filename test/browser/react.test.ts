// client/react.ts in real Chromium against the real worker, on React 18 and 19.
// The test page (fixtures/react-main.tsx) is bundled here with esbuild, once per
// React version (React 19 is the `react19`/`react-dom19` devDependencies, put in
// place of `react`/`react-dom` by esbuild's alias), as a development build so
// StrictMode runs every effect twice; it is served from an origin of its own, as
// an app's page would be. The Worker's bundle holds none of it.
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WS from 'ws';
import { screenshot, startDemo, STEP_MS, type Demo } from './harness.ts';

declare global {
  interface Window {
    /** The test page's writers (fixtures/react-app.tsx, react-main.tsx). */
    app: Record<string, (...args: any[]) => unknown>;
    mounts?: number;
  }
}

const VERSIONS = { 18: {}, 19: { react: 'react19', 'react-dom': 'react-dom19' } } as const;
type Version = keyof typeof VERSIONS;
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

const bundle = async (version: Version, entry: string, platform: 'browser' | 'node'): Promise<string> => {
  const result = await build({
    entryPoints: [fixture(entry)],
    bundle: true,
    write: false,
    // CommonJS for Node: react-dom/server requires Node's modules, which an ESM bundle could not.
    format: platform === 'node' ? 'cjs' : 'iife',
    platform,
    jsx: 'automatic',
    alias: VERSIONS[version],
    define: { 'process.env.NODE_ENV': '"development"' },
    logLevel: 'warning',
  });
  return result.outputFiles[0]!.text;
};

let demo: Demo;
let app: Server;
let appOrigin: string;
const scripts: Record<string, string> = {};

beforeAll(async () => {
  for (const version of [18, 19] as const) scripts[version] = await bundle(version, 'react-main.tsx', 'browser');
  app = createServer((req, res) => {
    const script = req.url?.match(/^\/app(\w+)\.js$/)?.[1];
    res.writeHead(200, { 'content-type': script ? 'text/javascript' : 'text/html' });
    const version = new URL(req.url!, 'http://x').searchParams.get('v');
    res.end(script ? scripts[script] : `<!doctype html><div id="root"></div><script src="/app${version}.js"></script>`);
  });
  // Loopback, like the worker: Chromium lets a page reach loopback addresses only from loopback.
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appOrigin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  // A roster of 3 (maxRosterPeers), so a test can go past it with a few sockets.
  demo = await startDemo({ MAX_ROSTER_PEERS: '3' });
}, 90_000);

afterAll(async () => {
  await demo?.stop();
  await new Promise((resolve) => app?.close(resolve));
});

interface Opened {
  page: Page;
  /** WebSockets the page made, and POST /new requests it sent. */
  sockets(): Promise<number>;
  creates: () => number;
}

/**
 * Opens the page of `scripts[version]` against `api` (the server, or the proxy that can cut it),
 * and waits until its status reads `ready`.
 */
async function open(version: Version | 'readme', api: string, room?: string, ready = /^open$/): Promise<Opened> {
  const page = await demo.visitor();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())));
  let creates = 0;
  page.on('request', (r) => void (r.method() === 'POST' && r.url().endsWith('/new') && creates++));
  // Counts every socket the page makes, by whatever code makes it.
  await page.addInitScript(() => {
    const Native = WebSocket;
    (window as unknown as { sockets: number }).sockets = 0;
    window.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        (window as unknown as { sockets: number }).sockets++;
      }
    };
  });
  const query = new URLSearchParams({ v: String(version), api, ...(room ? { room } : {}) });
  await page.goto(`${appOrigin}/?${query}`);
  await page
    .locator('#status', { hasText: ready })
    .waitFor()
    .catch((e: Error) => {
      throw new Error(`${e.message}; page errors: ${problems.join('; ') || 'none'}`);
    });
  return {
    page,
    sockets: () => page.evaluate(() => (window as unknown as { sockets: number }).sockets),
    creates: () => creates,
  };
}
open.status = (page: Page, status: string) => page.locator('#status', { hasText: new RegExp(`^${status}$`) }).waitFor();

const text = (page: Page, id: string) => page.locator(`#${id}`).textContent();
const json = async (page: Page, id: string) => JSON.parse((await text(page, id)) ?? 'null');
const roomOf = (page: Page) => new URL(page.url()).searchParams.get('room') ?? undefined;
const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: STEP_MS });

describe.each([18, 19] as const)('React %i', (version) => {
  it('two providers (two browsers) share state, presence and relays through the link the first one made, and call each other', async () => {
    const first = await open(version, demo.server.url);
    expect((await first.page.evaluate(() => document.documentElement.dataset.react))?.split('.')[0]).toBe(
      String(version),
    );
    // The provider created the room and wrote its ID into the page URL: that is the link to share.
    expect(roomOf(first.page)).toMatch(/^[A-Za-z0-9]{24}$/);
    const second = await open(version, demo.server.url, roomOf(first.page));
    expect(second.creates()).toBe(0);

    await first.page.locator('#text').fill('hello from one');
    await poll(() => second.page.locator('#text').inputValue()).toBe('hello from one');

    // Functional updaters from both pages: each computes from the value it sees now (pending sets
    // included), not from the initial 0, so the clicks add up.
    for (let i = 0; i < 3; i++) await first.page.locator('#inc').click();
    await poll(() => text(second.page, 'count')).toBe('3');
    for (let i = 0; i < 2; i++) await second.page.locator('#inc').click();
    await poll(() => text(first.page, 'count')).toBe('5');

    await second.page.evaluate(() => window.app.setMe!({ name: 'bob' }));
    await poll(() => json(first.page, 'others')).toEqual(['bob']);
    await poll(() => json(second.page, 'others')).toEqual(['anon']);

    // Past the roster's 3 members: the first page is shown the second and the first of three
    // sockets, and the hook counts the 2 it leaves out, until they go.
    const crowd = Array.from(
      { length: 3 },
      (_, i) =>
        new WS(`${demo.server.url.replace('http', 'ws')}/room/${roomOf(first.page)}/connect`, [
          'edgeroom.v1',
          `early.${encodeURIComponent(JSON.stringify([{ type: 'hello', protocol: 1, presence: { name: `n${i}` } }]))}`,
        ]),
    );
    await poll(() => text(first.page, 'hidden')).toBe('2');
    expect(await json(first.page, 'others')).toEqual(['bob', 'n0']);
    for (const ws of crowd) ws.close();
    await poll(() => text(first.page, 'hidden')).toBe('0');
    await poll(() => json(first.page, 'others')).toEqual(['bob']);

    // A set the room refuses: the promise says why, and the value rolls back to what it was.
    const refusal = await first.page.evaluate(() =>
      (window.app.setRefused!('changed') as Promise<number>).then(
        () => 'applied',
        (e: { code: string }) => e.code,
      ),
    );
    expect(refusal).toBe('subject_too_long');
    await poll(() => text(first.page, 'refused')).toBe('kept');

    await first.page.evaluate(() => window.app.publish!('hey'));
    await poll(() => json(second.page, 'shouts')).toEqual(['hey']);

    // A call between the two pages (edgeroom/rpc on the provider's room): the callee sees the caller's connection.
    const [firstConn, secondConn] = await Promise.all(
      [first, second].map((p) => p.page.evaluate(() => window.app.conn!())),
    );
    const answer = await first.page.evaluate((to) => window.app.call!(to, 'whoami'), secondConn as string);
    expect(answer).toEqual({ me: secondConn, from: firstConn });
    expect(firstConn).toEqual(expect.any(String));

    // A measured round trip: the ping sent as the socket opened has come back.
    expect(Number(await text(first.page, 'latency'))).toBeGreaterThanOrEqual(0);
    expect(await text(first.page, 'latency')).not.toBe('');
    await screenshot(second.page, `react${version}-shared`);
    await first.page.context().close();
    await second.page.context().close();
  });

  it('a reducer converges after concurrent dispatches from two pages, and compacts for a late joiner', async () => {
    const a = await open(version, demo.server.url);
    const room = roomOf(a.page)!;
    const b = await open(version, demo.server.url, room);
    const names = (p: string) => Array.from({ length: 20 }, (_, i) => `${p}${i}`);
    await Promise.all([
      a.page.evaluate((list) => list.forEach((x) => window.app.dispatch!(x)), names('a')),
      b.page.evaluate((list) => list.forEach((x) => window.app.dispatch!(x)), names('b')),
    ]);
    await poll(async () => (await json(a.page, 'tally')).length).toBe(40);
    await poll(async () => (await json(b.page, 'tally')).length).toBe(40);
    const final = await json(a.page, 'tally');
    expect(await json(b.page, 'tally')).toEqual(final);
    expect([...final].sort()).toEqual([...names('a'), ...names('b')].sort());
    // Each page's own actions keep their order.
    expect(final.filter((x: string) => x[0] === 'a')).toEqual(names('a'));

    // Every fifth action the dispatcher compacted the stream: it starts with a snapshot now.
    const stored = await fetch(`${demo.server.url}/room/${room}/send`, {
      method: 'POST',
      body: JSON.stringify({ type: 'get', key: 'tally', seq: 0 }),
    }).then((r) => r.json());
    expect(stored.data[0].value).toHaveProperty('s');
    expect(stored.data.length).toBeLessThan(40);
    const late = await open(version, demo.server.url, room);
    await poll(() => json(late.page, 'tally')).toEqual(final);
    for (const p of [a, b, late]) await p.page.context().close();
  });

  it('a stream survives a dropped connection with no gap and no duplicate', async () => {
    const writer = await open(version, demo.server.url);
    const room = roomOf(writer.page)!;
    // The reader goes through the proxy, so the test can cut its network alone.
    const reader = await open(version, demo.url, room);
    const append = (from: number, to: number) =>
      writer.page.evaluate(
        ({ from, to }) => Promise.all(Array.from({ length: to - from + 1 }, (_, i) => window.app.append!(from + i))),
        { from, to },
      );
    const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    await append(1, 5);
    await poll(() => json(reader.page, 'log')).toEqual(upTo(5));

    demo.network.cut();
    await open.status(reader.page, 'reconnecting');
    await append(6, 15);
    expect(await json(reader.page, 'log')).toEqual(upTo(5));
    demo.network.restore();
    await open.status(reader.page, 'open');
    await append(16, 20);
    await poll(() => json(reader.page, 'log')).toEqual(upTo(20));
    expect(await json(writer.page, 'log')).toEqual(upTo(20));
    for (const p of [writer, reader]) await p.page.context().close();
  });

  it('StrictMode creates one room and one socket; a new room prop reconnects', async () => {
    const page = await open(version, demo.server.url);
    // StrictMode did run the effects twice (a development build): the guarantee was exercised.
    expect(await page.page.evaluate(() => window.mounts)).toBe(2);
    expect(page.creates()).toBe(1);
    expect(await page.sockets()).toBe(1);
    await page.page.locator('#inc').click();
    await poll(() => text(page.page, 'count')).toBe('1');
    // Joining by the link: no room to create, and still one socket.
    const joined = await open(version, demo.server.url, roomOf(page.page));
    expect(joined.creates()).toBe(0);
    expect(await joined.sockets()).toBe(1);
    // `open` is the welcome; the count's value comes after it, in the subscription's reply.
    await poll(() => text(joined.page, 'count')).toBe('1');
    await joined.page.context().close();

    // Another room: the old socket closes, one new one opens, and the new room's state shows.
    const other = 'x'.repeat(24);
    await page.page.evaluate((id) => window.app.switchRoom!(id), other);
    await poll(() => page.sockets()).toBe(2);
    await open.status(page.page, 'open');
    await poll(() => text(page.page, 'count')).toBe('0');
    expect(await page.sockets()).toBe(2);
    await page.page.context().close();
  });

  it('a server render (react-dom/server in Node) makes no request and renders the initial values', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgeroom-ssr-'));
    try {
      const file = join(dir, `ssr${version}.cjs`);
      writeFileSync(file, await bundle(version, 'react-ssr.tsx', 'node'));
      const ssr = createRequire(import.meta.url)(file) as { render(base: string): string; version: string };
      expect(ssr.version.split('.')[0]).toBe(String(version));
      // Count what Node would use to reach the network, passing every call on.
      const made = { fetch: 0, sockets: 0 };
      const { fetch: nativeFetch, WebSocket: NativeSocket } = globalThis;
      const errors: unknown[] = [];
      const nativeError = console.error;
      globalThis.fetch = (...args) => (made.fetch++, nativeFetch(...args));
      globalThis.WebSocket = class extends NativeSocket {
        constructor(...args: ConstructorParameters<typeof WebSocket>) {
          super(...args);
          made.sockets++;
        }
      };
      console.error = (...args) => errors.push(args); // React's warnings, e.g. an uncached server snapshot
      let html: string;
      try {
        html = ssr.render(demo.server.url);
        await new Promise((resolve) => setImmediate(resolve)); // anything scheduled by the render has run
      } finally {
        Object.assign(globalThis, { fetch: nativeFetch, WebSocket: NativeSocket });
        console.error = nativeError;
      }
      expect(made).toEqual({ fetch: 0, sockets: 0 });
      expect(errors).toEqual([]);
      for (const [id, value] of Object.entries({
        status: 'connecting',
        count: '0',
        refused: 'kept',
        tally: '[]',
        log: '[]',
        me: 'anon',
        others: '[]',
        latency: '',
      })) {
        expect(html).toContain(`<p id="${id}">${value.replace(/"/g, '&quot;')}</p>`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('as documented', () => {
  it("the README's React example runs as written, on the link it makes", async () => {
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    const example = readme.split('### React')[1]?.match(/```tsx\n([\s\S]*?)```/)?.[1];
    expect(example).toContain("from 'edgeroom/react'");
    // Its one edit: the server's address (the README's is `npm run dev`'s).
    const source = example!.replace('http://127.0.0.1:8787', demo.server.url);
    const result = await build({
      stdin: { contents: source, loader: 'tsx', resolveDir: fileURLToPath(new URL('../..', import.meta.url)) },
      bundle: true,
      write: false,
      format: 'iife',
      jsx: 'automatic',
      define: { 'process.env.NODE_ENV': '"production"' },
      plugins: [
        {
          name: 'edgeroom-react', // the package name the README uses, for this repository's file
          setup: (b) =>
            b.onResolve({ filter: /^edgeroom\/react$/ }, () => ({ path: fixture('../../../client/react.ts') })),
        },
      ],
      logLevel: 'warning',
    });
    scripts.readme = result.outputFiles[0]!.text;
    const first = await open('readme', demo.server.url, undefined, /^open/);
    // No `?room=`: the provider made one and wrote it into the address bar.
    const link = first.page.url();
    expect(roomOf(first.page)).toMatch(/^[A-Za-z0-9]{24}$/);
    await first.page.locator('#inc').click();
    await first.page.locator('#add').click();
    const second = await demo.visitor();
    await second.goto(link);
    await poll(() => text(second, 'inc')).toBe('clicked 1 times');
    await poll(() => second.locator('li').allTextContents()).toEqual(['○ task 1']);
    await poll(() => text(second, 'status')).toMatch(/^open \d+ ms · 1 others here$/);
    await second.locator('li').click();
    await poll(() => first.page.locator('li').allTextContents()).toEqual(['✓ task 1']);
    await first.page.context().close();
    await second.context().close();
  });

  it('the demo page /demo/react runs on /lib/react.js as the Worker serves it', async () => {
    // Its import map takes React 18.3.1 from esm.sh, which this machine cannot reach: the test
    // serves node_modules' React 18.3.1 under those URLs instead, as one module (one React).
    const react = await build({
      stdin: {
        contents: `import * as React from 'react';
export default React;
export const { createElement, createContext, useCallback, useContext, useEffect, useMemo, useRef, useState,
  useSyncExternalStore, Fragment, StrictMode } = React;
export { createRoot } from 'react-dom/client';`,
        resolveDir: fileURLToPath(new URL('../..', import.meta.url)),
      },
      bundle: true,
      write: false,
      format: 'esm',
      define: { 'process.env.NODE_ENV': '"production"' },
      logLevel: 'warning',
    });
    const visit = async () => {
      const page = await demo.visitor();
      await page.route('https://esm.sh/**', (route) =>
        route.fulfill({
          contentType: 'text/javascript',
          headers: { 'access-control-allow-origin': '*' },
          body: route.request().url().endsWith('/client')
            ? "export { createRoot } from 'https://esm.sh/react@18.3.1';"
            : react.outputFiles[0]!.text,
        }),
      );
      return page;
    };
    const first = await visit();
    await first.goto(`${demo.server.url}/demo/react`);
    await first.waitForURL(/\?room=[A-Za-z0-9]{24}$/);
    await first.locator('#status[data-status="open"]').waitFor();
    await first.getByLabel('new item').fill('milk');
    await first.getByRole('button', { name: 'add' }).click();
    const second = await visit();
    await second.goto(first.url());
    await poll(() => second.locator('li').allTextContents()).toEqual([' milk']);
    await second.getByRole('checkbox').check();
    await poll(() => first.getByRole('checkbox').isChecked()).toBe(true);
    await poll(() => first.locator('p.hint').textContent()).toMatch(/Also here: guest-\w+\.$/);
    await screenshot(second, 'react-demo');
    await first.context().close();
    await second.context().close();
  });
});
