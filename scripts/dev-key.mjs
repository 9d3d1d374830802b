// The development key for private rooms: `npm run dev` makes one in .dev.vars
// (which wrangler reads locally, never on deploy; .gitignore keeps it out of
// git) and `npm run token` signs with it. Deployments take AUTH_KEYS as a
// secret of their own (`wrangler secret put AUTH_KEYS`).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DEV_VARS = fileURLToPath(new URL('../.dev.vars', import.meta.url));
export const DEV_KID = 'dev';

/**
 * KEY=value lines, as wrangler reads them: comments, `export`, and '…', "…" or `…` quotes.
 * @param {string} text
 * @returns {Record<string, string>}
 */
export function parseDevVars(text) {
  /** @type {Record<string, string>} */
  const vars = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([\w.-]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    const [, name, raw] = match;
    const quote = raw[0];
    vars[name] =
      raw.length > 1 && /['"`]/.test(quote) && raw.endsWith(quote) ? raw.slice(1, -1) : raw.replace(/\s+#.*$/, '');
  }
  return vars;
}

/** @type {(path?: string) => Record<string, string>} */
export const readDevVars = (path = DEV_VARS) => (existsSync(path) ? parseDevVars(readFileSync(path, 'utf8')) : {});

/**
 * Adds an AUTH_KEYS line with a random HS256 secret (kid "dev") to `path`,
 * unless it has AUTH_KEYS already. Returns whether it wrote one.
 */
export function ensureDevKey(path = DEV_VARS) {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  if (parseDevVars(text).AUTH_KEYS !== undefined) return false;
  const keys = JSON.stringify([{ kid: DEV_KID, alg: 'HS256', secret: randomBytes(32).toString('base64url') }]);
  const lines = [
    '# Made by `npm run dev`: a development key for private rooms (p_…); `npm run token` signs with it.',
    '# Local only: never commit it, and give a deployment keys of its own (wrangler secret put AUTH_KEYS).',
    `AUTH_KEYS='${keys}'`,
  ];
  writeFileSync(path, `${text}${text && !text.endsWith('\n') ? '\n' : ''}${lines.join('\n')}\n`, { mode: 0o600 });
  return true;
}
