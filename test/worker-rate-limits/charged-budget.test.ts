// The room's delivery budget charged after the fact (a fanned-out room's leaves report their
// deliveries, docs/hot-rooms.md): the debt, what it refuses, and how long it lasts.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../protocol/limits.ts';
import { RoomRates } from '../../worker/rate-limits.ts';
import { TokenBucket } from '../../worker/token-bucket.ts';

describe('a delivery budget charged after the fact', () => {
  it('goes into debt by at most one burst, paid back at its rate', () => {
    const bucket = new TokenBucket(20, 20, 0);
    bucket.charge(30, 0);
    expect(bucket.available(0)).toBe(-10);
    bucket.charge(1000, 0);
    expect(bucket.available(0)).toBe(-20);
    expect(bucket.wait(0, 0)).toBe(1000);
    expect(bucket.available(500)).toBe(-10);
    expect(bucket.available(1000)).toBe(0);
  });

  it('refuses every publish while in debt, with the room-of-one-object message, and none after', () => {
    const rates = new RoomRates({ ...DEFAULT_LIMITS, roomDeliveriesPerSecond: 20 }, 0);
    expect(rates.admit(undefined, 0, 0)).toBeUndefined();
    rates.charge(25, 0);
    expect(rates.admit(undefined, 0, 100)).toEqual({
      message: 'Over roomDeliveriesPerSecond (20/s) for this room',
      retryAfter: 150,
    });
    expect(rates.admit(undefined, 0, 250)).toBeUndefined();
  });
});
