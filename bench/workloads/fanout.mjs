/**
 * Fan-out: one publisher, N subscribers in one room. The sockets of every
 * contender stay open for all rounds (opening 500 of them takes seconds), so
 * rounds are short windows that alternate between contenders quickly.
 *
 * The publisher keeps at most `window` messages in flight (sent but not yet
 * received by every subscriber), so a slow server builds no unbounded queue
 * and the latency figures mean "under saturation with this much in flight".
 */
import { latencySummary } from '../lib/stats.mjs';
import { forEachMessage, pushFrame } from '../lib/payload.mjs';
import { closeAll, openMany, openSocket, waitFor } from '../lib/sockets.mjs';

const KEY = 'k';
const MAX_MESSAGES = 1 << 21;
const MAX_LATENCY_SAMPLES = 1 << 22;

/**
 * Opens the room, its subscribers and its publisher.
 * @param {import('../contenders/contender.mjs').Contender} contender
 * @param {{ subscribers: number }} options
 */
export async function openFanout(contender, { subscribers }) {
  const room = await contender.openRoom();
  const sendTime = new Float64Array(MAX_MESSAGES);
  const remaining = new Int32Array(MAX_MESSAGES);
  const latencies = new Float64Array(MAX_LATENCY_SAMPLES);
  let latencyCount = 0;
  // Message indexes keep counting across rounds, so a frame can never be
  // mistaken for one of another round.
  let sent = 0;
  let inFlight = 0;
  let delivered = 0;
  let duplicates = 0;
  let sending = false;
  let window = 1;
  let measureStart = Infinity;
  let measureEnd = Infinity;
  /** @type {ReturnType<typeof waitFor> | undefined} */
  let drained;

  function pump() {
    while (sending && inFlight < window && sent < MAX_MESSAGES) {
      sendTime[sent] = performance.now();
      remaining[sent] = subscribers;
      publisher.send(pushFrame(contender.action, KEY, sent));
      sent++;
      inFlight++;
    }
  }

  function onFrame(/** @type {Buffer} */ frame) {
    forEachMessage(frame, onMessage);
  }

  function onMessage(/** @type {number} */ index) {
    if (index >= sent) return;
    const now = performance.now();
    if (now >= measureStart && now < measureEnd) delivered++;
    const at = /** @type {number} */ (sendTime[index]);
    if (at >= measureStart && at < measureEnd && latencyCount < MAX_LATENCY_SAMPLES)
      latencies[latencyCount++] = now - at;
    const left = --/** @type {number} */ (remaining[index]);
    if (left < 0) duplicates++;
    if (left === 0) {
      inFlight--;
      pump();
      drained?.poke();
    }
  }

  const sockets = await openMany(subscribers, 50, async () => {
    const socket = await openSocket(room.url, onFrame);
    await room.subscribe(socket, KEY);
    return socket;
  });
  /** @type {import('ws').WebSocket} */
  let publisher;
  try {
    publisher = await openSocket(room.url, () => {});
    sockets.push(publisher);
    await room.quiet(publisher);
  } catch (error) {
    await closeAll(sockets);
    throw error;
  }

  return {
    /**
     * One round: send for warm-up + measure time, then wait for every message to arrive.
     * @param {{ window: number, warmupMs: number, measureMs: number }} options
     */
    async measure(options) {
      const first = sent;
      window = options.window;
      latencyCount = 0;
      delivered = 0;
      duplicates = 0;
      const start = performance.now();
      measureStart = start + options.warmupMs;
      measureEnd = measureStart + options.measureMs;
      sending = true;
      drained = waitFor(
        () => !sending && inFlight === 0,
        options.warmupMs + options.measureMs + 20_000,
        'fan-out to drain',
      );
      pump();
      const stop = setTimeout(() => {
        sending = false;
        drained?.poke();
      }, options.warmupMs + options.measureMs);
      try {
        await drained.done;
      } finally {
        clearTimeout(stop);
        sending = false;
      }
      let lost = 0;
      for (let i = first; i < sent; i++) lost += Math.max(0, /** @type {number} */ (remaining[i]));
      return {
        deliveriesPerSecond: delivered / (options.measureMs / 1000),
        latency: latencySummary(latencies, latencyCount),
        messages: sent - first,
        lost,
        duplicates,
      };
    },
    close: () => closeAll(sockets),
  };
}

/**
 * A single fan-out round in a fresh room (warm-ups, profiling).
 * @param {import('../contenders/contender.mjs').Contender} contender
 * @param {{ subscribers: number, window: number, warmupMs: number, measureMs: number }} options
 */
export async function fanout(contender, options) {
  const session = await openFanout(contender, options);
  try {
    return await session.measure(options);
  } finally {
    await session.close();
  }
}
