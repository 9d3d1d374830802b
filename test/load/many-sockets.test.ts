/**
 * Many sockets, the fast version of bench/load/many-sockets.mjs (same code,
 * bench/load/lib/many.mjs): 300 sockets in one room and 5 rooms × 60, plain
 * (DriftDB-style) and hello+sub. Each room's publisher sends 20 relays at once;
 * every socket must receive each of them exactly once and in order, with no
 * error frame and no close it did not ask for. The figures (open and delivery
 * times, the room process's memory) are printed, not asserted: the machine is
 * shared. One server for the file, rates and per-address limits out of the way.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeMany, manySockets } from '../../bench/load/lib/many.mjs';
import { LOAD_VARS, startServer } from '../../bench/load/lib/server.mjs';
import type { TestServer } from '../e2e/server.ts';

const BROADCASTS = 20;
let server: TestServer | undefined;

beforeAll(async () => {
  server = await startServer(LOAD_VARS);
});
afterAll(async () => {
  await server?.stop();
});

const plans: [rooms: number, perRoom: number, hello: boolean][] = [
  [1, 300, false],
  [1, 300, true],
  [5, 60, false],
  [5, 60, true],
];
for (const [rooms, perRoom, hello] of plans) {
  it(`delivers ${BROADCASTS} broadcasts exactly once, in order, to ${rooms} × ${perRoom} ${hello ? 'hello+sub' : 'plain'} sockets`, async () => {
    // settleMs 0: memory after the close is read once, not watched (no waiting on a clock here);
    // a 10 s bound on each wait, so a lost broadcast fails with its socket named, inside the test timeout.
    const r = await manySockets(server!, {
      rooms,
      perRoom,
      hello,
      broadcasts: BROADCASTS,
      settleMs: 0,
      timeoutMs: 10_000,
    });
    console.log(describeMany(r));
    expect(r.problems).toEqual([]);
    expect(r.exact).toBe(rooms * perRoom);
  });
}
