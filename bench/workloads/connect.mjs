/**
 * Connect: open many sockets to one room at once, then time the first
 * broadcast to all of them. Edgeroom's sockets stay DriftDB-style (no `sub`),
 * which receive every push in the room, so an open socket is a ready one for
 * every contender.
 */
import { messageIndex, pushFrame } from '../lib/payload.mjs';
import { closeAll, openMany, openSocket, waitFor } from '../lib/sockets.mjs';

/**
 * @param {import('../contenders/contender.mjs').Contender} contender
 * @param {{ sockets: number }} options
 */
export async function connectStorm(contender, { sockets: count }) {
  const room = await contender.openRoom();
  const publisher = await openSocket(room.url, () => {});
  /** @type {import('ws').WebSocket[]} */
  let sockets = [];
  try {
    await room.quiet(publisher);
    let received = 0;
    const everyone = waitFor(() => received === count, 20_000, 'the first broadcast');
    const onFrame = (/** @type {Buffer} */ frame) => {
      if (messageIndex(frame) !== 0) return;
      received++;
      everyone.poke();
    };
    const start = performance.now();
    sockets = await openMany(count, count, () => openSocket(room.url, onFrame, 60_000));
    const connectMs = performance.now() - start;
    const sentAt = performance.now();
    publisher.send(pushFrame(contender.action, 'k', 0));
    await everyone.done;
    return { connectMs, firstBroadcastMs: performance.now() - sentAt };
  } finally {
    await closeAll([publisher, ...sockets]);
  }
}
