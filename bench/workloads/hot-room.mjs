/**
 * Hot room: one room with N subscribers, as one object (K = 1) and fanned out
 * over K leaves, side by side (issue 14, docs/hot-rooms.md). Each trial starts
 * its own server, so no state carries over between K's; the run itself is
 * bench/load/lib/hot-room.mjs, which bench/load/hot-room.mjs runs standalone.
 */
import { hotRoom } from '../load/lib/hot-room.mjs';

export { describeHotRoom } from '../load/lib/hot-room.mjs';

/**
 * @param {ReturnType<typeof import('../lib/args.mjs').plan>['hotRoom']} plan
 * @param {number} leaves
 */
export async function hotRoomTrial(plan, leaves) {
  const r = await hotRoom({ subscribers: plan.subscribers, publishes: plan.publishes, rate: plan.rate, leaves });
  // Kept as a result (the report lists it as a delivery problem) rather than thrown: the figures still mean something.
  return { ...r, inexact: r.subscribers - r.exact };
}
