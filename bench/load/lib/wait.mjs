// @ts-check
/** Bounded waits: every wait in the load scripts has a deadline and says what it waited for. */

/**
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {string | (() => string)} what
 * @returns {Promise<T>}
 */
export function within(promise, ms, what) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`)),
      ms,
    );
  });
  return /** @type {Promise<T>} */ (Promise.race([promise, deadline])).finally(() => clearTimeout(timer));
}

/**
 * Polls `condition` every 10 ms until it holds; rejects after `ms`.
 * @param {() => boolean} condition
 * @param {number} ms
 * @param {string | (() => string)} what
 */
export async function until(condition, ms, what) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Runs `task(i)` for i in [0, count), at most `parallel` at a time, in order of i.
 * @template T
 * @param {number} count
 * @param {number} parallel
 * @param {(index: number) => Promise<T>} task
 * @returns {Promise<T[]>}
 */
export async function lanes(count, parallel, task) {
  /** @type {T[]} */
  const results = new Array(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane));
  return results;
}

// One PRNG for the tests and the load scripts (Node strips the types).
export { seeded } from '../../../test/e2e/seeded.ts';
