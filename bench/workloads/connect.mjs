/**
 * Connect: open many sockets to one room at once, then time the first
 * broadcast to all of them. The plain edgeroom contender's sockets stay
 * DriftDB-style (no `sub`): they receive every push in the room, so an open
 * socket is a ready one, as for every other contender. The hello contender's
 * sockets do what our client does when it reconnects: they offer `hello` (with
 * a secret) and `sub` as early frames in the upgrade (docs/protocol.md), and
 * count as connected at the welcome, which the room sends from the accept
 * (the sub is applied right behind it, before any later frame); "open all"
 * includes that for them. The hello, no roster contender's sockets say
 * `roster: false` in that hello: still presence members, but sent no roster and
 * no joins, which is what bounds the plain hello contender (RELIABILITY.md,
 * Connect path).
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
    sockets = await openMany(count, count, async () => {
      const hello = contender.id.includes('-hello');
      if (hello && room.join) return room.join(onFrame, 'k', 60_000);
      const socket = await openSocket(room.url, onFrame, 60_000);
      if (hello) await room.subscribe(socket, 'k');
      return socket;
    });
    const connectMs = performance.now() - start;
    const sentAt = performance.now();
    publisher.send(pushFrame(contender.action, 'k', 0));
    await everyone.done;
    return { connectMs, firstBroadcastMs: performance.now() - sentAt };
  } finally {
    await closeAll([publisher, ...sockets]);
  }
}
