import { describe, expect, it, vi } from 'vitest';
import { backoff } from '../../client/backoff.ts';
import { FakeSocket, latest, openRoom, redial, useFakeSockets } from './fake-socket.ts';

describe('backoff', () => {
  it('stays inside [0, min(cap, base·2^attempt)) and doubles the window per attempt', () => {
    const almostOne = () => 0.999_999;
    expect(backoff(0, 250, 15_000, () => 0)).toBe(0);
    expect(backoff(0, 250, 15_000, almostOne)).toBeLessThan(250);
    expect(backoff(0, 250, 15_000, almostOne)).toBeGreaterThan(249);
    expect(backoff(3, 250, 15_000, almostOne)).toBeGreaterThan(1999);
    expect(backoff(3, 250, 15_000, almostOne)).toBeLessThan(2000);
    for (const attempt of [6, 7, 20, 1000]) expect(backoff(attempt, 250, 15_000, almostOne)).toBeLessThan(15_000);
    expect(backoff(1000, 250, 15_000, almostOne)).toBeGreaterThan(14_999);
  });

  it('spreads delays uniformly over the whole window (full jitter), so clients do not return in lockstep', () => {
    const window = 8000;
    const buckets = new Array<number>(10).fill(0);
    const samples = 20_000;
    for (let i = 0; i < samples; i++) {
      const delay = backoff(5, 250, 15_000); // 250·2^5 = 8000
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(window);
      buckets[Math.floor((delay / window) * 10)]!++;
    }
    // Each tenth of the window holds about 10% of the clients (±2 points: ~7 standard deviations).
    for (const count of buckets) expect(Math.abs(count / samples - 0.1)).toBeLessThan(0.02);
  });
});

describe('reconnect schedule', () => {
  useFakeSockets();

  it('retries fast first, then waits longer each time up to the cap, and resets after a welcome', () => {
    openRoom({ random: () => 0.999, minDelay: 250, maxDelay: 10_000 });
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      latest().drop();
      const dropped = Date.now();
      redial();
      delays.push(Date.now() - dropped);
    }
    expect(delays).toEqual([249, 499, 999, 1998, 3996, 7992, 9990, 9990]);
    latest().accept();
    latest().drop();
    const dropped = Date.now();
    redial();
    expect(Date.now() - dropped).toBe(249);
  });

  it('never dials again after close()', () => {
    const room = openRoom();
    latest().drop();
    room.close();
    vi.advanceTimersByTime(120_000);
    expect(FakeSocket.all).toHaveLength(1);
  });
});
