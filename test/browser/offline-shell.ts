// For browser tests whose pages must load while the network is cut: the page's
// files served from copies, as an app's service worker (or the HTTP cache) would.
import { chromium, type Browser, type BrowserContext, type Route } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, STEP_MS } from './harness.ts';

/**
 * Serves the pages' files from what the browser got while the network was up, once it
 * is cut: an app's service worker (or the HTTP cache) does this, so that it loads offline.
 * The room's socket is not routed: it fails while the network is cut.
 */
export async function offlineShell(context: BrowserContext): Promise<void> {
  const copies = new Map<string, { body: Buffer; headers: Record<string, string>; status: number }>();
  await context.route('**/*', async (route: Route) => {
    const url = route.request().url();
    try {
      const response = await route.fetch();
      copies.set(url, { body: await response.body(), headers: response.headers(), status: response.status() });
      await route.fulfill({ response });
    } catch {
      const copy = copies.get(url);
      await (copy ? route.fulfill(copy) : route.abort());
    }
  });
}

/**
 * Chromium for pages served by `offlineShell`. A page from the shell (route.fulfill) has no
 * address of its own, and Chromium's local network access checks then refuse its socket to
 * loopback: checks for a deployment on a public address, off in this browser only.
 */
export function launchForShell(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS, '--disable-features=LocalNetworkAccessChecks'],
    headless: true,
    timeout: STEP_MS,
  });
}
