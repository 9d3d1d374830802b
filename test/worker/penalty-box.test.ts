// The penalty box: a flooding address waits 5 s, twice that for each offence soon after, up to a minute.
import { describe, expect, it } from 'vitest';
import { RATE_LIMITED_BACKOFF_MS } from '../../protocol/limits.ts';
import { PENALTY_MAX_MS, PenaltyBox } from '../../worker/rate-limits.ts';

describe('penalty box', () => {
  it('doubles the wait for repeat offences, up to PENALTY_MAX_MS, and forgets after five quiet minutes', () => {
    const box = new PenaltyBox(RATE_LIMITED_BACKOFF_MS);
    const waits: number[] = [];
    let now = 0;
    for (let i = 0; i < 6; i++) {
      box.add('a', now);
      waits.push(box.remaining('a', now));
      now += box.remaining('a', now) + 1; // reoffends as soon as it is let back in
    }
    expect(waits).toEqual([5000, 10_000, 20_000, 40_000, PENALTY_MAX_MS, PENALTY_MAX_MS]);
    expect(box.remaining('b', now)).toBe(0);
    now += 5 * 60_000 + 1;
    box.add('a', now);
    expect(box.remaining('a', now)).toBe(5000);
  });
});
