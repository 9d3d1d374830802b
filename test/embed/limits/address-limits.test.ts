// The per-address limits in an embedding Worker (test/embed/fixture), with
// ADDRESS_LIMITS left on: the host's own [[ratelimits]] bindings, named as ours,
// reach edgeroom's routes under the prefix and through `fetch`, as standalone.
import { describe, expect, it } from 'vitest';
import { http } from '../../worker/helpers.ts';

/** The fixture's NEW_ROOM_LIMITER: 30 per 10 s, smoothed by a per-isolate bucket of 10. */
const NEW_ROOMS = { burst: 10, window: 30 };

let last = 0;
/** A documentation address (RFC 5737) no other test uses. */
const address = (): string => `198.51.100.${++last}`;

/** POSTs `path` from one address until it is refused; the refusal and how many got in first. */
async function newRoomsUntilRefused(path: string): Promise<{ allowed: number; refused: Response }> {
  // The local binding counts in fixed 10 s windows: a run that crosses one starts again, from a fresh address.
  for (let tries = 0; tries < 2; tries++) {
    const started = Math.floor(Date.now() / 10_000);
    const from = address();
    for (let allowed = 0; allowed <= 2 * NEW_ROOMS.window; allowed++) {
      const res = await http(path, { method: 'POST', headers: { 'cf-connecting-ip': from } });
      if (res.status !== 200) {
        if (Math.floor(Date.now() / 10_000) !== started) break;
        return { allowed, refused: res };
      }
    }
  }
  throw new Error(`${path}: never refused, or crossed a window boundary twice`);
}

describe('limits per client address, embedded', () => {
  for (const path of ['/rt/new', '/raw/new']) {
    it(`refuses room creation at ${path} past the limit with 429 and the typed error`, async () => {
      const { allowed, refused } = await newRoomsUntilRefused(path);
      expect(allowed).toBeGreaterThanOrEqual(NEW_ROOMS.burst);
      expect(allowed).toBeLessThanOrEqual(NEW_ROOMS.window);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('10');
      expect(await refused.json()).toEqual({
        type: 'error',
        code: 'rate_limited',
        retryAfter: 10_000,
        message: 'Too many new rooms from this address; try again in 10 s',
      });
      // Another address is not affected.
      expect((await http(path, { method: 'POST', headers: { 'cf-connecting-ip': address() } })).status).toBe(200);
    });
  }
});
