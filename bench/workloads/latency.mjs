/**
 * Latency at a low rate: a few subscribers, a steady publish rate far below
 * saturation. Sends are scheduled on absolute times, so a late timer sends
 * its backlog at once instead of silently lowering the rate.
 */
import { latencySummary } from '../lib/stats.mjs';
import { messageIndex, pushFrame } from '../lib/payload.mjs';
import { closeAll, openMany, openSocket, waitFor } from '../lib/sockets.mjs';

const KEY = 'k';

/**
 * @param {import('../contenders/contender.mjs').Contender} contender
 * @param {{ subscribers: number, rate: number, warmupMs: number, measureMs: number }} options
 */
export async function lowRateLatency(contender, { subscribers, rate, warmupMs, measureMs }) {
  const room = await contender.openRoom();
  const total = Math.ceil(((warmupMs + measureMs) / 1000) * rate);
  const firstMeasured = Math.ceil((warmupMs / 1000) * rate);
  const sendTime = new Float64Array(total);
  const remaining = new Int32Array(total).fill(subscribers);
  const latencies = new Float64Array(total * subscribers);
  let latencyCount = 0;
  let sent = 0;
  let complete = 0;
  const allDelivered = waitFor(() => complete === total, warmupMs + measureMs + 15_000, 'low-rate messages');

  function onFrame(/** @type {Buffer} */ frame) {
    const index = messageIndex(frame);
    if (index < 0 || index >= sent) return;
    if (index >= firstMeasured) latencies[latencyCount++] = performance.now() - /** @type {number} */ (sendTime[index]);
    if (--/** @type {number} */ (remaining[index]) === 0) {
      complete++;
      allDelivered.poke();
    }
  }

  const sockets = await openMany(subscribers, 50, async () => {
    const socket = await openSocket(room.url, onFrame);
    await room.subscribe(socket, KEY);
    return socket;
  });
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  try {
    const publisher = await openSocket(room.url, () => {});
    sockets.push(publisher);
    await room.quiet(publisher);
    const start = performance.now();
    const interval = 1000 / rate;
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
      while (sent < due) {
        sendTime[sent] = performance.now();
        publisher.send(pushFrame(contender.action, KEY, sent));
        sent++;
      }
      if (sent < total) timer = setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
    };
    tick();
    await allDelivered.done;
    return { latency: latencySummary(latencies, latencyCount), messages: total };
  } finally {
    clearTimeout(timer);
    await closeAll(sockets);
  }
}
