/**
 * The demo pages and the client bundle they load, served by the Worker from
 * a module built by scripts/build-demo.mjs (see there for why not Workers
 * static assets). Files are small and few, so they live in the Worker's code.
 */
import type { Context } from 'hono';
import { DEMO_FILES, LIB_VERSION } from './demo/files.generated.ts';

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
  ts: 'application/typescript; charset=utf-8', // the client's .d.ts
};

/** Each client module's types (under /lib/types/), named by `X-TypeScript-Types` for Deno and esm.sh-style tooling. */
const MODULE_TYPES: Record<string, string> = {
  '/lib/edgeroom.js': 'types/client/index.d.ts',
  '/lib/signaling.js': 'types/client/signaling.d.ts',
  '/lib/rpc.js': 'types/client/rpc.d.ts',
  '/lib/offline.js': 'types/client/offline.d.ts',
  '/lib/cache.js': 'types/client/cache.d.ts',
  '/lib/auth.js': 'types/client/auth.d.ts',
  '/lib/tabs.js': 'types/client/tabs.d.ts',
  '/lib/react.js': 'types/client/react.d.ts',
};
/** `/lib/<version>/…`: the same files, cached for good, since that URL's content never changes. */
const VERSIONED = `/lib/${LIB_VERSION}/`;

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

/**
 * The demo file at `path`, or undefined. Revalidated by ETag, so a new deploy
 * shows at once; under `/lib/<version>/`, cached for a year instead.
 */
export function demoFile(c: Context, path: string): Response | undefined {
  const pinned = path.startsWith(VERSIONED);
  if (pinned) path = `/lib/${path.slice(VERSIONED.length)}`;
  const file = lookup(path);
  if (!file) return undefined;
  const headers: Record<string, string> = {
    etag: file.etag,
    'cache-control': pinned ? 'public, max-age=31536000, immutable' : 'no-cache',
    'content-type': file.type,
  };
  const types = MODULE_TYPES[path];
  if (types) headers['x-typescript-types'] = pinned ? `./${types}` : `./${LIB_VERSION}/${types}`;
  if (c.req.header('if-none-match') === file.etag) return new Response(null, { status: 304, headers });
  return new Response(file.body, { headers });
}
