/**
 * A token bucket: `rate` tokens per second, holding at most `burst`. Kept in
 * memory only. A room hibernates only after about 10 s without events, and
 * every bucket refills in under that, so what hibernation forgets is a full
 * bucket: nothing an abusive client could gain from. An abusive client keeps
 * the room awake, and with it its bucket.
 */
export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  #tokens: number;
  #at: number;

  constructor(rate: number, burst: number, now = Date.now()) {
    this.rate = rate;
    this.burst = burst;
    this.#tokens = burst;
    this.#at = now;
  }

  /** Tokens available now. */
  available(now = Date.now()): number {
    if (now > this.#at) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) * this.rate) / 1000);
      this.#at = now;
    }
    return this.#tokens;
  }

  /** Takes `n` tokens if there are that many; false (and takes nothing) otherwise. */
  take(n = 1, now = Date.now()): boolean {
    if (this.available(now) < n) return false;
    this.#tokens -= n;
    return true;
  }

  /**
   * Takes `n` tokens whether or not there are that many: for a cost known only
   * after the fact (a fanned-out room's deliveries, worker/leaf-links.ts). The
   * debt is at most one burst, so it is paid back within burst / rate seconds.
   */
  charge(n: number, now = Date.now()): void {
    this.#tokens = Math.max(-this.burst, this.available(now) - n);
  }

  /** Milliseconds until `n` tokens are available (0 if they are now). More than the burst never is: it waits for a full bucket. */
  wait(n = 1, now = Date.now()): number {
    const missing = Math.min(n, this.burst) - this.available(now);
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.rate);
  }
}
