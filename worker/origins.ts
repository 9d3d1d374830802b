/**
 * Browser origins allowed to use the service: ALLOWED_ORIGINS, a comma-separated
 * list of origins (`https://app.example.com`), or unset for any. It applies to
 * CORS and to WebSocket upgrades, which browsers do not subject to CORS. A
 * request without an Origin header (a server, a script) is not a browser's, and
 * the list cannot speak for it: tokens and rate limits still do.
 */
import { cors } from 'hono/cors';

type AnyEnv = { ALLOWED_ORIGINS?: string };

let cached: { raw: string | undefined; list: Set<string> | undefined } | undefined;

/** The allowed origins, or undefined for any. */
export function allowedOrigins(env: object): Set<string> | undefined {
  const raw = (env as AnyEnv).ALLOWED_ORIGINS?.trim();
  if (cached && cached.raw === raw) return cached.list;
  const list = raw
    ? new Set(
        raw
          .split(',')
          .map((o) => o.trim().replace(/\/$/, ''))
          .filter(Boolean),
      )
    : undefined;
  cached = { raw, list };
  return list;
}

/** Whether a request from `origin` (its Origin header, if any) may come in. */
export function originAllowed(env: object, origin: string | undefined): boolean {
  const list = allowedOrigins(env);
  return !list || origin === undefined || list.has(origin);
}

/** CORS for the HTTP API: any origin, or only the allowed ones. */
export const corsFor = (env: object) =>
  cors({
    origin: (origin) => (allowedOrigins(env) === undefined ? '*' : originAllowed(env, origin) ? origin : null),
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    allowHeaders: ['content-type', 'authorization', 'accept'],
    maxAge: 86_400,
  });
