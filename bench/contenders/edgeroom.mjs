/**
 * The edgeroom contender: the real worker (root wrangler.toml) in workerd.
 * Subscribers declare an explicit subscription without replay, the way
 * edgeroom's own client does; the publisher subscribes to an unused subject
 * so it gets no echo, like partyserver's broadcast that skips the sender.
 */
import { fileURLToPath } from 'node:url';
import { openSocket, waitFor } from '../lib/sockets.mjs';
import { startWorkerd } from './workerd.mjs';

export const EDGEROOM_CONFIG = fileURLToPath(new URL('../../wrangler.toml', import.meta.url));

let nonce = 0;

/**
 * Sends a ping and resolves on its pong. The room handles one socket's frames
 * in order, so a pong means every earlier frame has been applied.
 * @param {import('ws').WebSocket} socket
 * @param {number} [timeoutMs]
 */
export function roundTrip(socket, timeoutMs = 15_000) {
  const mine = ++nonce;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('message', onFrame);
      reject(new Error(`no pong within ${timeoutMs} ms`));
    }, timeoutMs);
    function onFrame(/** @type {Buffer} */ data) {
      if (data.indexOf('"pong"') < 0) return;
      // A hello'd socket may get its pong inside a batch (a JSON array).
      const parsed = JSON.parse(data.toString());
      const messages = Array.isArray(parsed) ? parsed : [parsed];
      if (!messages.some((m) => m.type === 'pong' && m.nonce === mine)) return;
      clearTimeout(timer);
      socket.off('message', onFrame);
      resolve(undefined);
    }
    socket.on('message', onFrame);
    socket.send(JSON.stringify({ type: 'ping', nonce: mine }));
  });
}

/** @param {string} origin */
export async function newEdgeroomRoom(origin) {
  const response = await fetch(`${origin}/new`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`POST /new answered ${response.status}`);
  const body = /** @type {{ socket_url?: unknown }} */ (await response.json());
  if (typeof body.socket_url !== 'string') throw new Error(`POST /new gave no socket_url: ${JSON.stringify(body)}`);
  return body.socket_url;
}

/**
 * Whether subscribers say hello first, as edgeroom's own client does: they then
 * get batched frames under load (docs/protocol.md, Batches) and take part in
 * presence. `'no-roster'`: a hello with `roster: false`, as `connect(url, { roster:
 * false })` sends: still members, but sent no roster and no presence events.
 * @typedef {boolean | 'no-roster'} Hello
 */

/**
 * @param {string} url
 * @param {Hello} hello
 * @returns {import('./contender.mjs').Room}
 */
function edgeroomRoom(url, hello) {
  /** @param {string} key */
  const helloFrames = (key) => [
    // With a secret, as our client sends one: the room derives the client ID from it.
    { type: 'hello', protocol: 1, secret: crypto.randomUUID(), ...(hello === 'no-roster' ? { roster: false } : {}) },
    { type: 'sub', key, replay: false },
  ];
  return {
    url,
    // As our client (re)connects: the hello and sub in the upgrade (`early.`, URI-encoded with
    // `(` and `)` escaped, docs/protocol.md), connected at the welcome the room sends from the accept.
    ...(hello
      ? {
          async join(onFrame, key, timeoutMs) {
            const early = encodeURIComponent(JSON.stringify(helloFrames(key))).replace(
              /[()]/g,
              (c) => `%${c.charCodeAt(0).toString(16)}`,
            );
            let welcomed = false;
            const welcome = waitFor(() => welcomed, timeoutMs, 'the welcome');
            const [socket] = await Promise.all([
              openSocket(
                url,
                (frame) => {
                  if (!welcomed && frame.indexOf('"welcome"') >= 0) {
                    welcomed = true;
                    welcome.poke();
                  }
                  onFrame(frame);
                },
                timeoutMs,
                ['edgeroom.v1', `early.${early}`],
              ),
              welcome.done,
            ]);
            return socket;
          },
        }
      : {}),
    async subscribe(socket, key) {
      // Hello and sub as frames, then a round trip (the other workloads' hello sockets).
      if (hello) for (const frame of helloFrames(key)) socket.send(JSON.stringify(frame));
      else socket.send(JSON.stringify({ type: 'sub', key, replay: false }));
      await roundTrip(socket);
    },
    async quiet(socket) {
      socket.send(JSON.stringify({ type: 'sub', key: '_bench_nothing', replay: false }));
      await roundTrip(socket);
    },
  };
}

/**
 * @param {string} origin
 * @param {'relay' | 'append'} action
 * @param {string} [name] for variants of the worker compared side by side
 * @param {Hello} [hello] see Hello
 * @returns {import('./contender.mjs').Contender}
 */
export function edgeroomContender(origin, action, name = 'edgeroom', hello = false) {
  const roster = hello === 'no-roster';
  return {
    id: `${name}-${action}${hello ? '-hello' : ''}${roster ? '-no-roster' : ''}`,
    label: `${name} ${action}${hello ? ` (hello${roster ? ', no roster' : ''})` : ''}`,
    action,
    openRoom: async () => edgeroomRoom(await newEdgeroomRoom(origin), hello),
  };
}

/**
 * The benchmarks measure what a room can carry, not the abuse limits that keep
 * one client from taking all of it: one publisher sends thousands of messages
 * a second, and hundreds of sockets connect from one address at once. So the
 * rate limits are raised far above any figure here, and the per-address ones
 * are off. The limits' own cost (a few token-bucket checks per frame) remains.
 */
export const BENCH_VARS = {
  ADDRESS_LIMITS: 'off',
  FRAMES_PER_SECOND: '10000000',
  FRAME_BURST: '10000000',
  PUBLISHES_PER_SECOND: '10000000',
  PUBLISH_BURST: '10000000',
  ROOM_PUBLISHES_PER_SECOND: '10000000',
  ROOM_DELIVERIES_PER_SECOND: '100000000',
};

export async function startEdgeroom(config = EDGEROOM_CONFIG, name = 'edgeroom') {
  const server = await startWorkerd(config, BENCH_VARS);
  return {
    server,
    relay: edgeroomContender(server.origin, 'relay', name),
    relayHello: edgeroomContender(server.origin, 'relay', name, true),
    relayHelloNoRoster: edgeroomContender(server.origin, 'relay', name, 'no-roster'),
    append: edgeroomContender(server.origin, 'append', name),
  };
}

/**
 * Fails unless the worker answers `POST /new` and a socket round trip, so a
 * half-built worker is reported as unavailable instead of skewing figures.
 * @param {import('./contender.mjs').Contender} contender
 */
export async function probeEdgeroom(contender) {
  const { openSocket } = await import('../lib/sockets.mjs');
  const room = await contender.openRoom();
  const socket = await openSocket(room.url, () => {}, 10_000);
  try {
    await room.subscribe(socket, 'probe');
  } finally {
    socket.terminate();
  }
}
