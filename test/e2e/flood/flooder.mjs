// The attacker of the flood test, in a thread of its own so its busy loop does
// not slow the witnesses it is measured against. It knows only a room's URLs
// and floods as fast as its socket drains, reconnecting the moment it is
// closed, as an attacker would. Reports what it sent and what it was told.
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';

/** @type {{ mode: 'relay' | 'dm' | 'http', socketUrl: string, httpUrl: string, target?: string, durationMs: number }} */
const { mode, socketUrl, httpUrl, target, durationMs } = workerData;
const deadline = Date.now() + durationMs;
const stats = {
  sent: 0,
  accepted: 0,
  rateLimited: 0,
  otherErrors: 0,
  connects: 0,
  closes: /** @type {Record<string, number>} */ ({}),
  http: /** @type {Record<string, number>} */ ({}),
};
const payload = 'x'.repeat(1024);
let n = 0;

function floodSocket() {
  return new Promise((resolve) => {
    const ws = new WebSocket(socketUrl);
    stats.connects++;
    let timer;
    const pump = () => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (Date.now() >= deadline) return ws.close();
      // As fast as the socket drains: keep about 1 MB in flight, and let replies in between.
      const inflight = Number(process.env.FLOOD_INFLIGHT) || 1 << 20;
      for (let i = 0; i < 1000 && ws.bufferedAmount < inflight; i++) send(ws);
      // A full socket is waited on with a timer, not spun on: a spinning load generator would take
      // a core from the server it shares this machine with, which no remote attacker can.
      if (ws.bufferedAmount >= inflight) timer = setTimeout(pump, 1);
      else timer = setImmediate(pump);
    };
    ws.on('open', pump);
    ws.on('message', (data) => {
      const text = data.toString();
      for (const m of [JSON.parse(text)].flat()) {
        if (m.type === 'ack') stats.accepted++;
        else if (m.type === 'error' && m.code === 'rate_limited') stats.rateLimited++;
        else if (m.type === 'error') stats.otherErrors++;
      }
    });
    ws.on('error', () => {});
    ws.on('close', (code) => {
      clearImmediate(timer);
      clearTimeout(timer);
      stats.closes[code] = (stats.closes[code] ?? 0) + 1;
      resolve(undefined);
    });
  });
}

function send(ws) {
  n++;
  stats.sent++;
  if (mode === 'ping') ws.send(JSON.stringify({ type: 'ping', nonce: n }));
  else if (mode === 'dm') ws.send(JSON.stringify({ type: 'dm', to: target, value: payload, id: `d${n}` }));
  else ws.send(JSON.stringify({ type: 'push', key: 'flood', value: payload, action: { type: 'relay' }, id: `f${n}` }));
}

async function floodHttp() {
  // 16 requests in flight at all times.
  const one = async () => {
    while (Date.now() < deadline) {
      n++;
      stats.sent++;
      try {
        const res = await fetch(`${httpUrl}?client=flooder`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'push', key: 'flood', value: payload, action: { type: 'relay' }, id: `h${n}` }),
        });
        stats.http[res.status] = (stats.http[res.status] ?? 0) + 1;
        const body = await res.json();
        if (body?.type === 'ack') stats.accepted++;
        else if (body?.code === 'rate_limited') stats.rateLimited++;
      } catch {
        stats.http.failed = (stats.http.failed ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, one));
}

if (mode === 'http') await floodHttp();
else while (Date.now() < deadline) await floodSocket();
parentPort?.postMessage(stats);
