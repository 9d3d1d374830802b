import { z } from 'zod';
import { DEFAULT_LIMITS, type Limits } from '../protocol/limits.ts';

const positiveInt = z.coerce.number().int().positive();

// Each limit can be overridden by a wrangler var; a bad value fails loudly
// at the first request rather than silently falling back.
const EnvLimits = z.object({
  MAX_MESSAGE_BYTES: positiveInt.default(DEFAULT_LIMITS.maxMessageBytes),
  MAX_SUBJECT_LENGTH: positiveInt.default(DEFAULT_LIMITS.maxSubjectLength),
  MAX_SUBSCRIPTIONS: positiveInt.default(DEFAULT_LIMITS.maxSubscriptions),
  MAX_CONNECTIONS: positiveInt.max(32_768).default(DEFAULT_LIMITS.maxConnections),
  MAX_PRESENCE_BYTES: positiveInt.max(8192).default(DEFAULT_LIMITS.maxPresenceBytes),
  RETENTION_SECONDS: positiveInt.default(DEFAULT_LIMITS.retentionSeconds),
});

/** The limits in force, from wrangler vars over the protocol defaults. */
export function limitsFrom(env: object): Limits {
  const parsed = EnvLimits.safeParse(env);
  if (!parsed.success) throw new Error(`Bad limit in wrangler vars: ${z.prettifyError(parsed.error)}`);
  const v = parsed.data;
  return {
    maxMessageBytes: v.MAX_MESSAGE_BYTES,
    maxSubjectLength: v.MAX_SUBJECT_LENGTH,
    maxSubscriptions: v.MAX_SUBSCRIPTIONS,
    maxConnections: v.MAX_CONNECTIONS,
    maxPresenceBytes: v.MAX_PRESENCE_BYTES,
    retentionSeconds: v.RETENTION_SECONDS,
  };
}
