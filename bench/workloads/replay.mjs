/**
 * Replay (edgeroom): a new subscriber asks for a whole stored stream while
 * other subscribers in the same room receive a steady live feed on another
 * subject. Measures the time from `sub` to the last entry, and the live
 * feed's latency before and during the replay (does the replay block the room?).
 */
import { latencySummary } from '../lib/stats.mjs';
import { forEachMessage, pushFrame } from '../lib/payload.mjs';
import { closeAll, openMany, openSocket } from '../lib/sockets.mjs';
import { appendMany, checkEntries, collectReplay } from './stream.mjs';

const KEY = 'k';
const LIVE_KEY = 'live';

/**
 * A room holding one stream of `entries` appends, reused by every round.
 * @param {import('../contenders/contender.mjs').Contender} contender
 * @param {{ entries: number }} options
 */
export async function prepareReplayRoom(contender, { entries }) {
  const room = await contender.openRoom();
  const publisher = await openSocket(room.url, () => {});
  try {
    await room.quiet(publisher);
    const start = performance.now();
    await appendMany(room, publisher, { key: KEY, count: entries });
    return { room, entries, fillMs: performance.now() - start };
  } finally {
    publisher.terminate();
  }
}

/**
 * @param {Awaited<ReturnType<typeof prepareReplayRoom>>} prepared
 * @param {{ liveSubscribers: number, liveRate: number, baselineMs: number }} options
 */
export async function replayOnce({ room, entries }, { liveSubscribers, liveRate, baselineMs }) {
  const maxMessages = Math.ceil(((baselineMs + 30_000) / 1000) * liveRate);
  const sendTime = new Float64Array(maxMessages);
  const baseline = new Float64Array(maxMessages * liveSubscribers);
  const during = new Float64Array(maxMessages * liveSubscribers);
  let baselineCount = 0;
  let duringCount = 0;
  let sent = 0;
  let replayStart = Infinity;
  let replayEnd = Infinity;
  const onLive = (/** @type {Buffer} */ frame) => forEachMessage(frame, onLiveMessage);
  const onLiveMessage = (/** @type {number} */ index) => {
    if (index >= sent) return;
    const at = /** @type {number} */ (sendTime[index]);
    const latency = performance.now() - at;
    if (at < replayStart) baseline[baselineCount++] = latency;
    else if (at <= replayEnd) during[duringCount++] = latency;
  };
  const sockets = await openMany(liveSubscribers, 50, async () => {
    const socket = await openSocket(room.url, onLive);
    await room.subscribe(socket, LIVE_KEY);
    return socket;
  });
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let feed;
  try {
    const publisher = await openSocket(room.url, () => {});
    sockets.push(publisher);
    await room.quiet(publisher);
    const reader = await openSocket(room.url, () => {});
    sockets.push(reader);
    feed = setInterval(() => {
      if (sent >= maxMessages) return;
      sendTime[sent] = performance.now();
      publisher.send(pushFrame('relay', LIVE_KEY, sent++));
    }, 1000 / liveRate);
    await new Promise((resolve) => setTimeout(resolve, baselineMs));

    const replay = collectReplay(reader, KEY, 30_000);
    replayStart = performance.now();
    reader.send(JSON.stringify({ type: 'sub', key: KEY, seq: 0 }));
    const { entries: got, frames, at } = await replay;
    replayEnd = at;
    checkEntries(got, entries, 0);
    // Let live messages sent during the replay arrive before summarising.
    await new Promise((resolve) => setTimeout(resolve, 300));
    return {
      replayMs: replayEnd - replayStart,
      frames,
      liveBefore: latencySummary(baseline, baselineCount),
      liveDuring: latencySummary(during, duringCount),
    };
  } finally {
    clearInterval(feed);
    await closeAll(sockets);
  }
}
