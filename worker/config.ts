/**
 * The limits in force: each limit in protocol/limits.ts can be overridden by a
 * wrangler var of the same name in SCREAMING_SNAKE_CASE (`publishesPerSecond`
 * is `PUBLISHES_PER_SECOND`). A bad value fails loudly at the first request
 * rather than silently falling back to the default.
 */
import * as z from '../protocol/zod.ts';
import { DEFAULT_LIMITS, type Limits } from '../protocol/limits.ts';

type LimitName = keyof typeof DEFAULT_LIMITS;

/** `maxMessageBytes` → `MAX_MESSAGE_BYTES`. */
export const varName = (limit: string): string => limit.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

const positiveInt = z.coerce.number().check(z.int(), z.positive());

/** Ceilings the platform imposes on a few limits. */
const CEILINGS: Partial<Record<LimitName, number>> = {
  maxConnections: 32_768,
  // Presence lives in the socket attachment, which holds 16 KiB in all.
  maxPresenceBytes: 8192,
};

const EnvLimits = z.object(
  Object.fromEntries(
    (Object.keys(DEFAULT_LIMITS) as LimitName[]).map((name) => {
      const ceiling = CEILINGS[name];
      return [
        varName(name),
        z._default(ceiling ? positiveInt.check(z.lte(ceiling)) : positiveInt, DEFAULT_LIMITS[name]),
      ];
    }),
  ),
);

let cached: { env: object; limits: Limits } | undefined;

export function limitsFrom(env: object): Limits {
  if (cached?.env === env) return cached.limits;
  const parsed = EnvLimits.safeParse(env);
  if (!parsed.success) throw new Error(`Bad limit in wrangler vars: ${z.prettifyError(parsed.error)}`);
  const v = parsed.data as Record<string, number>;
  const limits = Object.fromEntries(Object.keys(DEFAULT_LIMITS).map((name) => [name, v[varName(name)]])) as Limits;
  cached = { env, limits };
  return limits;
}
