// @ts-check
/**
 * Many sockets in rooms: `rooms` rooms × `perRoom` sockets, plain
 * (DriftDB-style: no hello, no sub; they receive every push in the room) or
 * hello+sub (our protocol: hello, then `sub` to the broadcast subject). One
 * publisher per room (hello, subscribed to nothing) sends `broadcasts` relays
 * at once. Checked: every socket received every broadcast exactly once and in
 * order, no error frame, no close it did not ask for. Measured: the time to
 * open them all (each one answered a ping), the time until every broadcast
 * reached every socket, and the room process's resident memory before opening,
 * after opening, after the broadcasts, and after every socket closed.
 */
import { percentile } from '../../lib/stats.mjs';
import { rssMiB, runtimePid } from './memory.mjs';
import { RawSocket } from './raw.mjs';
import { newRoom } from './server.mjs';
import { lanes, until, within } from './wait.mjs';

const SUBJECT = 'b';

/**
 * @typedef {object} ManyPlan
 * @property {number} rooms
 * @property {number} perRoom
 * @property {boolean} hello
 * @property {number} broadcasts
 * @property {number} [parallel] handshakes in flight (default 50)
 * @property {number} [settleMs] how long memory is watched after the close (default 5,000)
 * @property {number} [timeoutMs] for each wait: opening, the broadcasts, the closes (default 60,000)
 * @property {(text: string) => void} [log] progress lines
 */

/**
 * @param {{ url: string, persist: string }} server
 * @param {ManyPlan} plan
 */
export async function manySockets(
  server,
  { rooms, perRoom, hello, broadcasts, parallel = 50, settleMs = 5000, timeoutMs = 60_000, log = () => {} },
) {
  const kind = hello ? 'hello+sub' : 'plain';
  const label = `${rooms} room${rooms > 1 ? 's' : ''} × ${perRoom} ${kind} sockets`;
  const count = rooms * perRoom;
  /** @type {string[]} */
  const problems = [];
  const urls = (await Promise.all(Array.from({ length: rooms }, () => newRoom(server.url)))).map((r) => r.socket_url);

  // One publisher per room; it also wakes the room, so what is measured next is the sockets.
  let acks = 0;
  // Who each publisher sees besides itself: the peers its roster shows, and how many it does not
  // (a roster shows the first maxRosterPeers members: docs/protocol.md, Presence).
  /** @type {{ peers: Set<string>, hidden: number }[]} */
  const views = [];
  const others = () => views.reduce((n, v) => n + v.peers.size + v.hidden, 0);
  const publishers = await Promise.all(
    urls.map(async (url) => {
      const view = { peers: new Set(), hidden: 0 };
      views.push(view);
      const p = new RawSocket(url, (m) => {
        if (m.type === 'ack') acks++;
        if (m.type === 'members') view.hidden = m.hidden;
        if (m.type === 'presence') m.event === 'leave' ? view.peers.delete(m.peer.conn) : view.peers.add(m.peer.conn);
      });
      await within(p.opened, 30_000, 'a publisher to open');
      p.send({ type: 'hello', protocol: 1 });
      await p.ping();
      return p;
    }),
  );
  const pid = runtimePid(server.persist);
  const rss = { before: rssMiB(pid), open: NaN, delivered: NaN, closed: NaN, closedMin: NaN };

  // Every socket records the index of each broadcast it receives, in arrival order.
  let delivered = 0;
  const started = performance.now();
  /** @type {number[]} */
  const readyAt = [];
  const sockets = await lanes(count, parallel, async (i) => {
    /** @type {number[]} */
    const got = [];
    const s = new RawSocket(urls[i % rooms] ?? '', (m) => {
      if (m.type === 'push' && m.key === SUBJECT) {
        got.push(m.value.i);
        delivered++;
      }
    });
    await within(s.opened, timeoutMs, `socket ${i} to open`);
    if (hello) {
      s.send({ type: 'hello', protocol: 1 });
      s.send({ type: 'sub', key: SUBJECT, replay: false });
    }
    await s.ping(timeoutMs);
    readyAt.push(performance.now() - started);
    if (i % 250 === 249) log(`${label}: ${i + 1} open`);
    return { s, got };
  });
  const openMs = performance.now() - started;
  rss.open = rssMiB(pid);

  // The broadcasts: every publisher sends all of its relays at once.
  const sentAt = performance.now();
  for (let i = 0; i < broadcasts; i++) {
    for (const p of publishers)
      p.send({ type: 'push', key: SUBJECT, value: { i }, action: { type: 'relay' }, id: `b${i}` });
  }
  const total = count * broadcasts;
  await until(
    () => acks === rooms * broadcasts,
    timeoutMs,
    () => `the publishers' acks (${acks} of ${rooms * broadcasts})`,
  );
  // A shortfall is reported below, socket by socket, rather than thrown here.
  await until(
    () => delivered >= total,
    timeoutMs,
    () => `every broadcast to every socket (${delivered} of ${total})`,
  ).catch((error) => problems.push(String(error)));
  const deliverMs = performance.now() - sentAt;
  // A duplicate would have been sent before the pong that follows it: wait for every pong.
  await Promise.all(sockets.map(({ s }) => s.ping(timeoutMs)));
  rss.delivered = rssMiB(pid);

  const expected = Array.from({ length: broadcasts }, (_, i) => i).join(',');
  let exact = 0;
  sockets.forEach(({ s, got }, i) => {
    if (got.join(',') === expected) exact++;
    else if (problems.length < 10) problems.push(`socket ${i} received [${got.join(',')}], not [${expected}]`);
  });
  for (const s of [...publishers, ...sockets.map((x) => x.s)]) {
    if (s.errors.length && problems.length < 20) problems.push(`errors: ${JSON.stringify(s.errors.slice(0, 3))}`);
    if (s.unexpectedClose !== undefined && problems.length < 20)
      problems.push(`a socket was closed with ${s.unexpectedClose}`);
  }

  // Close every socket, then watch whether the room's memory comes back.
  const closeStart = performance.now();
  await Promise.all(sockets.map(({ s }) => s.close()));
  // Hello sockets: the publishers (hello'd too) see the room empty out, so it has handled every close.
  if (hello)
    await until(
      () => others() === 0,
      timeoutMs,
      () => `every socket to leave (${count - others()} of ${count})`,
    ).catch((e) => problems.push(String(e)));
  const closeMs = performance.now() - closeStart;
  for (const p of publishers) {
    if (p.errors.length || p.unexpectedClose !== undefined)
      problems.push(`a publisher: errors ${JSON.stringify(p.errors)}, close ${p.unexpectedClose}`);
    await p.close();
  }
  const samples = [];
  for (const at = performance.now(); performance.now() - at < settleMs; ) {
    samples.push(rssMiB(pid));
    await new Promise((resolve) => setTimeout(resolve, 500)); // a sampling interval, not a synchronisation
  }
  rss.closed = rssMiB(pid);
  rss.closedMin = Math.min(rss.closed, ...samples);

  const sorted = readyAt.toSorted((a, b) => a - b);
  return {
    label,
    kind,
    rooms,
    perRoom,
    sockets: count,
    broadcasts,
    exact,
    problems,
    openMs,
    /** Time for half, and for 99%, of the sockets to be open and answering. */
    readyP50: percentile(sorted, 0.5),
    readyP99: percentile(sorted, 0.99),
    deliverMs,
    closeMs,
    rss,
    /** MiB of the room process per 1,000 open sockets. */
    perThousand: ((rss.open - rss.before) / count) * 1000,
  };
}

/** @param {Awaited<ReturnType<typeof manySockets>>} r */
export function describeMany(r) {
  const f = (/** @type {number} */ n) => (Number.isFinite(n) ? n.toFixed(0) : '?');
  return (
    `${r.label}: ${r.exact} of ${r.sockets} sockets got all ${r.broadcasts} broadcasts exactly once in order` +
    `${r.problems.length ? ` (${r.problems.length} problems)` : ', no errors, no unexpected closes'}; ` +
    `open in ${f(r.openMs)} ms, all ${r.broadcasts} delivered in ${f(r.deliverMs)} ms, closed in ${f(r.closeMs)} ms; ` +
    `room process ${f(r.rss.before)} → ${f(r.rss.open)} MiB open (${r.perThousand.toFixed(0)} MiB per 1,000 sockets) → ` +
    `${f(r.rss.delivered)} after the broadcasts → ${f(r.rss.closed)} MiB after closing (min ${f(r.rss.closedMin)})`
  );
}
