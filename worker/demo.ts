/**
 * The demo pages and the client bundle they load, served by the Worker from
 * a module built by scripts/build-demo.mjs (see there for why not Workers
 * static assets). Files are small and few, so they live in the Worker's code.
 */
import type { Context } from 'hono';
import { DEMO_FILES } from './demo/files.generated.ts';

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
};

/** `/demo/` is the presence page; `/demo/chat` is chat.html, as a static host would serve it. */
function lookup(path: string): { etag: string; body: string; type: string } | undefined {
  const candidates = path.endsWith('/') ? [`${path}index.html`] : [path, `${path}.html`];
  for (const name of candidates) {
    const file = DEMO_FILES[name];
    const type = TYPES[name.slice(name.lastIndexOf('.') + 1)];
    if (file && type) return { ...file, type };
  }
  return undefined;
}

/** The demo file at `path`, or undefined. Revalidated by ETag, so a new deploy shows at once. */
export function demoFile(c: Context, path: string): Response | undefined {
  const file = lookup(path);
  if (!file) return undefined;
  const headers = { etag: file.etag, 'cache-control': 'no-cache', 'content-type': file.type };
  if (c.req.header('if-none-match') === file.etag) return new Response(null, { status: 304, headers });
  return new Response(file.body, { headers });
}
