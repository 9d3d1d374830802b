// The throttle behind `members` counts (membersEveryMs): at once when it has
// been quiet, then at most once per interval, always with the latest state.
import { expect, it } from 'vitest';
import { Throttle } from '../../worker/throttle.ts';
import { waitFor } from '../e2e/wait.ts';

it('runs at once, then once more per interval with the latest state, however often it is asked', async () => {
  const runs: number[] = [];
  let state = 0;
  const throttle = new Throttle(50, () => runs.push(state));
  state = 1;
  throttle.request();
  expect(runs).toEqual([1]);
  for (state = 2; state <= 5; state++) throttle.request();
  state = 5;
  expect(runs).toEqual([1]);
  await waitFor(() => runs.length === 2, 1000, 'the trailing run');
  expect(runs).toEqual([1, 5]);
  // Asked again right after a run: it waits out the interval again.
  state = 6;
  throttle.request();
  expect(runs).toEqual([1, 5]);
  await waitFor(() => runs.length === 3, 1000, 'the next run');
  expect(runs).toEqual([1, 5, 6]);
});

it('a task that throws does not stop later runs', async () => {
  let runs = 0;
  const throttle = new Throttle(10, () => {
    runs++;
    throw new Error('boom');
  });
  throttle.request();
  throttle.request();
  await waitFor(() => runs === 2, 1000, 'the second run');
  throttle.cancel();
});
