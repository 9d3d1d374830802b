/**
 * Fan-out: one publisher, N subscribers in one room. The publisher keeps at
 * most `window` messages in flight (sent but not yet received by every
 * subscriber), so a slow server builds no unbounded queue and the latency
 * figures mean "under saturation with this much in flight".
 */
import { latencySummary } from '../lib/stats.mjs';
import { messageIndex, pushFrame } from '../lib/payload.mjs';
import { closeAll, openMany, openSocket, waitFor } from '../lib/sockets.mjs';

const KEY = 'k';
const MAX_MESSAGES = 1 << 20;
const MAX_LATENCY_SAMPLES = 1 << 22;

/**
 * @param {import('../contenders/contender.mjs').Contender} contender
 * @param {{ subscribers: number, window: number, warmupMs: number, measureMs: number }} options
 */
export async function fanout(contender, { subscribers, window, warmupMs, measureMs }) {
  const room = await contender.openRoom();
  const sendTime = new Float64Array(MAX_MESSAGES);
  const remaining = new Int32Array(MAX_MESSAGES);
  const latencies = new Float64Array(MAX_LATENCY_SAMPLES);
  let latencyCount = 0;
  let sent = 0;
  let inFlight = 0;
  let delivered = 0;
  let duplicates = 0;
  let sending = false;
  let measureStart = Infinity;
  let measureEnd = Infinity;
  /** @type {import('ws').WebSocket | undefined} */
  let publisher;
  /** @type {ReturnType<typeof waitFor> | undefined} */
  let drained;

  function pump() {
    while (sending && inFlight < window && sent < MAX_MESSAGES) {
      sendTime[sent] = performance.now();
      remaining[sent] = subscribers;
      /** @type {import('ws').WebSocket} */ (publisher).send(pushFrame(contender.action, KEY, sent));
      sent++;
      inFlight++;
    }
  }

  function onFrame(/** @type {Buffer} */ frame) {
    const index = messageIndex(frame);
    if (index < 0 || index >= sent) return;
    const now = performance.now();
    if (now >= measureStart && now < measureEnd) delivered++;
    const at = /** @type {number} */ (sendTime[index]);
    if (at >= measureStart && at < measureEnd && latencyCount < MAX_LATENCY_SAMPLES) latencies[latencyCount++] = now - at;
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
  try {
    publisher = await openSocket(room.url, () => {});
    sockets.push(publisher);
    await room.quiet(publisher);

    const start = performance.now();
    measureStart = start + warmupMs;
    measureEnd = measureStart + measureMs;
    sending = true;
    drained = waitFor(() => !sending && inFlight === 0, warmupMs + measureMs + 20_000, 'fan-out to drain');
    pump();
    const stop = setTimeout(() => {
      sending = false;
      drained?.poke();
    }, warmupMs + measureMs);
    try {
      await drained.done;
    } finally {
      clearTimeout(stop);
    }
    let lost = 0;
    for (let i = 0; i < sent; i++) lost += Math.max(0, /** @type {number} */ (remaining[i]));
    return {
      deliveriesPerSecond: delivered / (measureMs / 1000),
      latency: latencySummary(latencies, latencyCount),
      messages: sent,
      lost,
      duplicates,
    };
  } finally {
    sending = false;
    await closeAll(sockets);
  }
}
