/**
 * Reconnect delay with "full jitter": uniform in [0, min(cap, base · 2^attempt)).
 * Attempt 0 is the fast first retry. A deploy drops every socket of a room at
 * once; spreading each client over the whole window keeps them from returning
 * in lockstep.
 *
 * @example
 * setTimeout(reconnect, backoff(attempt++, 250, 15_000));
 */
export const backoff = (attempt: number, base: number, cap: number, random: () => number = Math.random): number =>
  random() * Math.min(cap, base * 2 ** attempt);
