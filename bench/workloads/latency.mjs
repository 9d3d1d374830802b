/**
 * Latency at a low rate: a few subscribers, a steady publish rate far below
 * saturation. Sends are scheduled on absolute times, so a late timer sends
 * its backlog at once instead of silently lowering the rate.
 *
 * `lowRateLatencyTogether` drives every contender's room from the same
 * ticks, so a pause caused by other work on the machine hits them all at
 * the same moment; at this rate they barely load each other.
 */
import { latencySummary } from '../lib/stats.mjs';
import { forEachMessage, pushFrame } from '../lib/payload.mjs';
import { closeAll, openMany, openSocket, waitFor } from '../lib/sockets.mjs';

const KEY = 'k';

/**
 * @typedef {{ subscribers: number, rate: number, warmupMs: number, measureMs: number }} LowRateOptions
 */

/**
 * @param {import('../contenders/contender.mjs').Contender} contender
 * @param {LowRateOptions} options
 */
async function openLowRate(contender, { subscribers, rate, warmupMs, measureMs }) {
  const room = await contender.openRoom();
  const total = Math.ceil(((warmupMs + measureMs) / 1000) * rate);
  const firstMeasured = Math.ceil((warmupMs / 1000) * rate);
  const sendTime = new Float64Array(total);
  const remaining = new Int32Array(total).fill(subscribers);
  const latencies = new Float64Array(total * subscribers);
  let latencyCount = 0;
  let sent = 0;
  let complete = 0;
  const allDelivered = waitFor(
    () => complete === total,
    warmupMs + measureMs + 15_000,
    `${contender.label}: every low-rate message`,
  );

  function onFrame(/** @type {Buffer} */ frame) {
    forEachMessage(frame, onMessage);
  }

  function onMessage(/** @type {number} */ index) {
    if (index >= sent) return;
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
  try {
    const publisher = await openSocket(room.url, () => {});
    sockets.push(publisher);
    await room.quiet(publisher);
    return {
      total,
      sendNext() {
        sendTime[sent] = performance.now();
        publisher.send(pushFrame(contender.action, KEY, sent));
        sent++;
      },
      done: allDelivered.done,
      result: () => ({ latency: latencySummary(latencies, latencyCount), messages: total }),
      close: () => closeAll(sockets),
    };
  } catch (error) {
    await closeAll(sockets);
    throw error;
  }
}

/**
 * Sends message k to every session at start + k / rate; the order of the
 * sessions rotates every tick so none is always first.
 * @param {Awaited<ReturnType<typeof openLowRate>>[]} sessions
 * @param {number} rate
 */
async function drive(sessions, rate) {
  const total = /** @type {number} */ (sessions[0]?.total);
  const interval = 1000 / rate;
  const start = performance.now();
  let sent = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const tick = () => {
    const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
    for (; sent < due; sent++) {
      for (let k = 0; k < sessions.length; k++)
        /** @type {typeof sessions[0]} */ (sessions[(sent + k) % sessions.length]).sendNext();
    }
    if (sent < total) timer = setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
  };
  try {
    tick();
    await Promise.all(sessions.map((s) => s.done));
  } finally {
    clearTimeout(timer);
  }
}

/**
 * @param {import('../contenders/contender.mjs').Contender} contender
 * @param {LowRateOptions} options
 */
export async function lowRateLatency(contender, options) {
  const session = await openLowRate(contender, options);
  try {
    await drive([session], options.rate);
    return session.result();
  } finally {
    await session.close();
  }
}

/**
 * @param {import('../contenders/contender.mjs').Contender[]} contenders
 * @param {LowRateOptions} options
 * @returns {Promise<Record<string, ReturnType<Awaited<ReturnType<typeof openLowRate>>['result']>>>}
 */
export async function lowRateLatencyTogether(contenders, options) {
  /** @type {Awaited<ReturnType<typeof openLowRate>>[]} */
  const sessions = [];
  try {
    for (const c of contenders) sessions.push(await openLowRate(c, options));
    await drive(sessions, options.rate);
    return Object.fromEntries(
      contenders.map((c, k) => [c.id, /** @type {typeof sessions[0]} */ (sessions[k]).result()]),
    );
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
}
