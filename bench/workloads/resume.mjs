/**
 * Resume (edgeroom): a subscriber's connection drops, `missed` appends land
 * meanwhile, then it reconnects and subscribes from the last seq it saw.
 * Measures from the start of the reconnect until the last missed entry.
 */
import { closeAll, openSocket, waitFor } from '../lib/sockets.mjs';
import { pushFrame } from '../lib/payload.mjs';
import { appendMany, checkEntries, collectReplay } from './stream.mjs';

const KEY = 'k';

/**
 * @param {import('../contenders/contender.mjs').Contender} contender
 * @param {{ missed: number }} options
 */
export async function resumeOnce(contender, { missed }) {
  const room = await contender.openRoom();
  const publisher = await openSocket(room.url, () => {});
  /** @type {import('ws').WebSocket[]} */
  const sockets = [publisher];
  try {
    await room.quiet(publisher);
    let lastSeq = -1;
    const seenFirst = waitFor(() => lastSeq >= 0, 10_000, 'the first live push');
    const first = await openSocket(room.url, (frame) => {
      const message = JSON.parse(frame.toString());
      if (message.type !== 'push') return;
      lastSeq = message.seq;
      seenFirst.poke();
    });
    sockets.push(first);
    await room.subscribe(first, KEY);
    publisher.send(pushFrame('append', KEY, 0));
    await seenFirst.done;
    await closeAll([first]);

    await appendMany(room, publisher, { key: KEY, count: missed, firstIndex: 1 });

    const start = performance.now();
    const again = await openSocket(room.url, () => {});
    sockets.push(again);
    const connectMs = performance.now() - start;
    const replay = collectReplay(again, KEY, 30_000);
    again.send(JSON.stringify({ type: 'sub', key: KEY, seq: lastSeq }));
    const { entries, at } = await replay;
    checkEntries(entries, missed, 1);
    return { caughtUpMs: at - start, connectMs };
  } finally {
    await closeAll(sockets);
  }
}
