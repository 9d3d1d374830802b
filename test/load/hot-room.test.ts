/**
 * The hot room, the fast version of `npm run bench -- --only=hot-room` (same
 * code, bench/load/lib/hot-room.mjs): 100 subscribers and 20 relays, in a room
 * of one object and in a room fanned out over 4 leaves, each on its own server.
 * Every subscriber must receive every relay exactly once and in order, with no
 * error frame and no close it did not ask for; the fanned-out room must really
 * spread its subscribers over several leaves, and the CPU time the model rests
 * on must be read. Throughput, latency and CPU are printed, not asserted: the
 * machine is shared.
 */
import { expect, it } from 'vitest';
import { describeHotRoom, hotRoom } from '../../bench/load/lib/hot-room.mjs';

const PLAN = { subscribers: 100, publishes: 20, rate: 50, timeoutMs: 20_000, idleSampleMs: 0 };

it('delivers every relay exactly once, in order, to 100 subscribers of one object', async () => {
  const r = await hotRoom({ ...PLAN, leaves: 1 });
  console.log(describeHotRoom(r));
  expect({ exact: r.exact, errors: r.errors }).toEqual({ exact: 100, errors: 0 });
  expect(r.occupiedLeaves).toBe(1);
  expect(r.cpuSeconds).toBeGreaterThan(0);
});

it('delivers every relay exactly once, in order, to 100 subscribers spread over 4 leaves', async () => {
  const r = await hotRoom({ ...PLAN, leaves: 4 });
  console.log(describeHotRoom(r));
  expect({ exact: r.exact, errors: r.errors }).toEqual({ exact: 100, errors: 0 });
  // 100 sockets land on 4 leaves at random: all 4 hold some, but for a chance of 4 · (3/4)^100.
  expect(r.occupiedLeaves).toBe(4);
  expect(r.cpuSeconds).toBeGreaterThan(0);
});
