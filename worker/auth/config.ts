/**
 * Auth settings from wrangler vars and secrets: `AUTH_KEYS` (a secret: see
 * keys.ts) and `MAX_TOKEN_SECONDS`, the longest lifetime a token may claim.
 * A bad value fails loudly, as worker/config.ts does for the limits.
 */
import * as z from '../../protocol/zod.ts';
import { DEFAULT_MAX_TOKEN_SECONDS } from './verify.ts';

const AuthEnv = z.object({
  AUTH_KEYS: z.optional(z.string()),
  MAX_TOKEN_SECONDS: z._default(z.coerce.number().check(z.int(), z.positive()), DEFAULT_MAX_TOKEN_SECONDS),
});

export type AuthConfig = { keys: string | undefined; maxTokenSeconds: number };

export function authConfigFrom(env: object): AuthConfig {
  const parsed = AuthEnv.safeParse(env);
  if (!parsed.success) throw new Error(`Bad auth setting in wrangler vars: ${z.prettifyError(parsed.error)}`);
  return { keys: parsed.data.AUTH_KEYS, maxTokenSeconds: parsed.data.MAX_TOKEN_SECONDS };
}
