/**
 * The HTTP front door (Hono). It validates and forwards; all room state lives
 * in the Room Durable Object, one per room ID. Built per set of options by
 * createEdgeroom (worker/server.ts); the routes work at the root or under any
 * prefix they are mounted at.
 */
import { Hono, type Context } from 'hono';
import { basePath as mountPath } from 'hono/route';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { CLOSE_CODES, RATE_LIMITED_BACKOFF_MS, type ErrorCode } from '../protocol/limits.ts';
import { HttpClient, NewRoomRequest, RevokeRequest, type RoomResult } from '../protocol/messages.ts';
import { AUTH_CLOSE_CODES, AUTH_HTTP_STATUS, SUBPROTOCOL } from './auth/index.ts';
import { admit, admitAdmin, offersSubprotocol, PRIVATE_PREFIX } from './gate.ts';
import { corsFor, originAllowed } from './origins.ts';
import { earlyClientId } from './early.ts';
import { demoFile } from './demo.ts';
import { GRANT_HEADER } from './grant.ts';
import {
  ADDRESS_HEADER,
  ADDRESS_WINDOW_SECONDS,
  clientAddress,
  refusedSocket,
  userLimitKey,
  withinAddressLimit,
} from './address-limits.ts';
import { limitsFrom } from './config.ts';
import { badRoomPage } from './bad-room-page.ts';
import { CONFIG_HEADER, envWith, roomFingerprint, type EdgeroomOptions } from './options.ts';
import { isRoomId, newRoomId } from './ids.ts';
import { checkHttpMessage, errorFrame } from './validate.ts';
import { leafFor, leafName, leavesOf, MAX_ROUTING_KEY, newFanoutRoomId, ROUTING_PARAM } from './fanout.ts';
import { LEAF_HEADER, ROOM_HEADER } from './leaf.ts';
import { LEAVES_HEADER, SwitchedRooms } from './fanout-switch.ts';
import { MAX_LEAVES } from '../protocol/limits.ts';

type App = { Bindings: Env };

/** One error type for the whole router, rendered as the same JSON as a socket `error` frame. */
class ApiError extends HTTPException {
  readonly code: ErrorCode;
  /** Seconds, for a 429's Retry-After. */
  readonly retryAfter?: number;
  constructor(status: ContentfulStatusCode, code: ErrorCode, message: string, retryAfter?: number) {
    super(status, { message });
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

const tooMany = (what: string, from: 'address' | 'user' = 'address') =>
  new ApiError(
    429,
    'rate_limited',
    `Too many ${what} from this ${from}; try again in ${ADDRESS_WINDOW_SECONDS} s`,
    ADDRESS_WINDOW_SECONDS,
  );

const ROOM_ID_RULE = 'Room IDs are 1-64 characters of A-Z, a-z, 0-9, _ and -';
const NEW_ROOM_BODY = `POST /new takes no body, or {"private"?: true, "leaves"?: 2 to ${MAX_LEAVES}}`;
/** The most POST /new reads: no body (DriftDB), or {"private": true, "leaves": K}. */
const NEW_ROOM_BODY_BYTES = 1024;

/**
 * The path these routes are mounted under, as the request spelt it: '' at the
 * root, `/rt` for `app.route('/rt', …)` or basePath `/rt` (Hono knows which
 * part of the path its route matched, parameters in the prefix included).
 */
const prefixOf = (c: Context<App>): string => mountPath(c).replace(/\/$/, '');

/**
 * URLs for a room, on the host and under the prefix the request came to.
 * `wss`/`https` when the request arrived over TLS (directly, or per
 * X-Forwarded-Proto behind a proxy). `socket_url` has no query string: the
 * DriftDB client appends `?cbor=true`.
 */
function roomResult(c: Context<App>, room: string, prefix: string): RoomResult {
  const url = new URL(c.req.url);
  const tls = url.protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
  return {
    room,
    socket_url: `${tls ? 'wss' : 'ws'}://${url.host}${prefix}/room/${room}/connect`,
    http_url: `${tls ? 'https' : 'http'}://${url.host}${prefix}/room/${room}/send`,
  };
}

function roomStub(c: Context<App>) {
  const id = c.req.param('id') ?? '';
  if (!isRoomId(id)) {
    throw new ApiError(400, 'bad_room_id', ROOM_ID_RULE);
  }
  return c.env.ROOMS.get(c.env.ROOMS.idFromName(id));
}

/** The methods each path answers, for a 405's Allow header (HEAD comes with every GET). */
const ALLOW = { get: 'GET, HEAD', post: 'POST' } as const;
const wrongMethod = (allow: string) => (c: Context<App>) =>
  c.json(errorFrame('bad_message', `${c.req.method} is not allowed here; use ${allow}`), 405, { allow });

/** The router for one set of options. The env it sees is overlaid with them (worker/options.ts). */
export function buildRouter(options: EdgeroomOptions = {}): Hono<App> {
  const envs = new WeakMap<object, Env>();
  const fingerprint = roomFingerprint(options);
  /**
   * How many leaves room `id` has here: 0 without a leaf binding (`LEAVES`, or the one
   * `leavesBinding` names, which the overlay puts under LEAVES). The leaf class comes from the
   * same createEdgeroom (edgeroom.RoomLeaf), so it reads the same options.
   */
  /** Rooms that fanned out by crossing the threshold, as their roots said (worker/fanout-switch.ts). */
  const switched = new SwitchedRooms();
  const leavesHere = (env: Env, id: string): number => (env.LEAVES ? leavesOf(id) || switched.leavesOf(id) : 0);
  /** The same, asking the root when this isolate does not know: it may have fanned out by itself since. */
  const leavesAsked = async (env: Env, id: string, root: { leaves(): Promise<number> }): Promise<number> =>
    leavesHere(env, id) || (env.LEAVES ? switched.remember(id, await root.leaves()) : 0);
  const base = options.basePath ? new Hono<App>().basePath(options.basePath) : new Hono<App>();
  const app = base
    // First: every later step (CORS, the gate, the limits) reads its settings from the overlaid env.
    // Put back afterwards, so the host app's own middleware sees its env as it was.
    .use('*', async (c, next) => {
      const own = c.env;
      c.env = envWith(own, options, envs);
      try {
        await next();
      } finally {
        c.env = own;
      }
    })
    // A 101 response's headers cannot be changed, so upgrades skip CORS (browsers do not apply it to sockets).
    .use('*', (c, next) => (c.req.header('upgrade') ? next() : corsFor(c.env)(c, next)));

  if (options.demo) {
    app
      // The demo pages: `/` makes a room and sends the browser to its shareable
      // URL; every browser that opens that URL joins the same room.
      .get('/', async (c) => {
        if (!(await withinAddressLimit(c, 'NEW_ROOM_LIMITER'))) throw tooMany('new rooms');
        c.header('cache-control', 'no-store');
        return c.redirect(`${prefixOf(c)}/r/${newRoomId()}`, 302);
      })
      .all('/', wrongMethod(ALLOW.get))
      .get('/r/:id', (c) => {
        // A person followed this link: tell them in a page, not in JSON.
        if (!isRoomId(c.req.param('id'))) return c.html(badRoomPage(c.req.param('id'), ROOM_ID_RULE), 400);
        // The page reads the room ID from its own address; the file is the same for every room.
        return demoFile(c, '/demo/') ?? c.notFound();
      })
      .all('/r/:id', wrongMethod(ALLOW.get))
      .get('/demo/*', (c) => demoFile(c, c.req.path.slice(prefixOf(c).length)) ?? c.notFound())
      .all('/demo/*', wrongMethod(ALLOW.get));
  }

  return (
    app
      .get('/lib/*', (c) => demoFile(c, c.req.path.slice(prefixOf(c).length)) ?? c.notFound())
      .all('/lib/*', wrongMethod(ALLOW.get))
      .post('/new', async (c) => {
        if (!(await withinAddressLimit(c, 'NEW_ROOM_LIMITER'))) throw tooMany('new rooms');
        // DriftDB posts no body; ours may ask for a private room, which takes an admin token.
        const text = await c.req.text();
        if (text.length > NEW_ROOM_BODY_BYTES) {
          throw new ApiError(413, 'too_large', `${NEW_ROOM_BODY}: at most ${NEW_ROOM_BODY_BYTES} bytes`);
        }
        let raw: unknown = {};
        try {
          if (text) raw = JSON.parse(text);
        } catch {
          throw new ApiError(400, 'bad_frame', 'Body is not JSON');
        }
        const body = NewRoomRequest.safeParse(raw);
        if (!body.success) throw new ApiError(400, 'bad_message', NEW_ROOM_BODY);
        const prefix = prefixOf(c);
        const { leaves } = body.data;
        if (leaves !== undefined && !c.env.LEAVES) {
          throw new ApiError(400, 'unsupported', 'This deployment has no LEAVES binding, so no fanned-out rooms');
        }
        const isPrivate = !!body.data.private;
        const id = leaves === undefined ? newRoomId() : newFanoutRoomId(leaves, isPrivate);
        if (!isPrivate) return c.json(roomResult(c, id, prefix));
        const room = leaves === undefined ? PRIVATE_PREFIX + id : id;
        const gate = await admitAdmin(c, room);
        if (!gate.ok) throw new ApiError(AUTH_HTTP_STATUS[gate.code], gate.code, gate.message);
        return c.json(roomResult(c, room, prefix));
      })
      .all('/new', wrongMethod(ALLOW.post))
      .post('/room/:id/revoke', async (c) => {
        const stub = roomStub(c);
        const gate = await admitAdmin(c, c.req.param('id'));
        if (!gate.ok) throw new ApiError(AUTH_HTTP_STATUS[gate.code], gate.code, gate.message);
        const body = RevokeRequest.safeParse(await c.req.json().catch(() => undefined));
        if (!body.success)
          throw new ApiError(
            400,
            'bad_message',
            'Revoke takes {"before"?: seconds}, {"user": sub, "before"?: seconds} or {"jti": id}',
          );
        const now = Math.floor(Date.now() / 1000);
        const r = body.data;
        const revocation =
          'jti' in r
            ? { jti: r.jti }
            : 'user' in r
              ? { user: r.user, before: r.before ?? now }
              : { before: r.before ?? now };
        let closed = await stub.revoke(revocation);
        // A fanned-out room's sockets are on its leaves: each records the revocation and closes what it reaches.
        const id = c.req.param('id');
        const leaves = await leavesAsked(c.env, id, stub);
        for (let i = 0; i < leaves; i++) {
          closed += await c.env.LEAVES.get(c.env.LEAVES.idFromName(leafName(id, i))).revoke(revocation);
        }
        return c.json({ revoked: revocation, closed });
      })
      .all('/room/:id/revoke', wrongMethod(ALLOW.post))
      // What a fanned-out room's object and leaves did since they started (docs/hot-rooms.md): for operators
      // and benchmarks, so an admin token, as for revoke. A room of one object answers zeros and no leaves.
      .get('/room/:id/stats', async (c) => {
        const stub = roomStub(c);
        const id = c.req.param('id');
        const gate = await admitAdmin(c, id);
        if (!gate.ok) throw new ApiError(AUTH_HTTP_STATUS[gate.code], gate.code, gate.message);
        const leaves = await leavesAsked(c.env, id, stub);
        const [room, ...each] = await Promise.all([
          stub.stats(),
          ...Array.from({ length: leaves }, (_, i) =>
            c.env.LEAVES.get(c.env.LEAVES.idFromName(leafName(id, i))).counters(),
          ),
        ]);
        return c.json({ room, leaves: each.map((counters, leaf) => ({ leaf, ...counters })) });
      })
      .all('/room/:id/stats', wrongMethod(ALLOW.get))
      .get('/room/:id', (c) => {
        roomStub(c);
        const id = c.req.param('id');
        return c.json(roomResult(c, id, prefixOf(c)));
      })
      .all('/room/:id', wrongMethod(ALLOW.get))
      .get('/room/:id/connect', async (c) => {
        const stub = roomStub(c);
        if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
          throw new ApiError(426, 'bad_message', 'This endpoint is a WebSocket: send Upgrade: websocket');
        }
        // The gate first, so that a verified token is limited per user, not per address
        // (userLimitKey). Everything else, a refused token included, counts against its address.
        const gate = await admit(c, c.req.param('id'));
        const user = gate.ok ? gate.grant?.user : undefined;
        // Echoed even on a refusal: a browser fails a handshake that drops it, and would see 1006, not why.
        const protocol = offersSubprotocol(c.req.raw) ? SUBPROTOCOL : undefined;
        if (!(await withinAddressLimit(c, 'CONNECT_LIMITER', user === undefined ? undefined : userLimitKey(user)))) {
          return refusedSocket(
            CLOSE_CODES.rateLimited,
            `too many connects from this ${user === undefined ? 'address' : 'user'}: reconnect after ${RATE_LIMITED_BACKOFF_MS} ms`,
            protocol,
          );
        }
        if (!originAllowed(c.env, c.req.header('origin')))
          return refusedSocket(CLOSE_CODES.forbidden, 'Origin not allowed', protocol);
        if (!gate.ok) return refusedSocket(AUTH_CLOSE_CODES[gate.code], gate.message, protocol);
        const forwarded = new Request(c.req.raw);
        // These headers are the Worker's word to the room: never what a client sent.
        forwarded.headers.set(ADDRESS_HEADER, clientAddress(c));
        forwarded.headers.set(CONFIG_HEADER, fingerprint);
        if (gate.grant) forwarded.headers.set(GRANT_HEADER, JSON.stringify(gate.grant));
        else forwarded.headers.delete(GRANT_HEADER);
        const id = c.req.param('id');
        let leaves = leavesHere(c.env, id);
        if (leaves === 0) {
          const answer = await stub.fetch(new Request(forwarded));
          // 421: the room fanned out when it crossed its threshold, and says into how many leaves.
          leaves = c.env.LEAVES ? switched.rememberAnswer(id, answer) : 0;
          if (leaves === 0) return answer;
        }
        // A fanned-out room: the socket goes to its leaf (worker/fanout.ts says which, and why).
        const hint = c.req.query(ROUTING_PARAM)?.slice(0, MAX_ROUTING_KEY);
        const early = gate.grant ? undefined : earlyClientId(c.req.header('sec-websocket-protocol') ?? null);
        const name = leafName(id, leafFor(leaves, gate.grant?.user ?? early ?? hint));
        forwarded.headers.set(ROOM_HEADER, id);
        forwarded.headers.set(LEAF_HEADER, name);
        forwarded.headers.set(LEAVES_HEADER, String(leaves));
        return c.env.LEAVES.get(c.env.LEAVES.idFromName(name)).fetch(forwarded);
      })
      .all('/room/:id/connect', wrongMethod(ALLOW.get))
      .post(
        '/room/:id/send',
        (c, next) => {
          const max = limitsFrom(c.env).maxMessageBytes;
          return bodyLimit({
            maxSize: max,
            onError: () => {
              throw new ApiError(413, 'too_large', `Body exceeds maxMessageBytes (${max} bytes)`);
            },
          })(c, next);
        },
        async (c) => {
          const stub = roomStub(c);
          // As for connects: a verified token counts per user (a backend posting for many rooms
          // from one address), anything else per address.
          const gate = await admit(c, c.req.param('id'));
          const user = gate.ok ? gate.grant?.user : undefined;
          if (!(await withinAddressLimit(c, 'SEND_LIMITER', user === undefined ? undefined : userLimitKey(user))))
            throw tooMany('sends', user === undefined ? 'address' : 'user');
          if (!gate.ok) throw new ApiError(AUTH_HTTP_STATUS[gate.code], gate.code, gate.message);
          const client = c.req.query('client');
          if (client !== undefined && !HttpClient.safeParse(client).success) {
            throw new ApiError(400, 'bad_message', 'client must be 1-64 characters');
          }
          const body = await c.req.json().catch(() => {
            throw new ApiError(400, 'bad_frame', 'Body is not JSON');
          });
          // Checked against HTTP's own union: a bad type is told the three types HTTP takes.
          const message = checkHttpMessage(body, limitsFrom(c.env));
          if (!message.ok) throw new ApiError(400, message.error.code, message.error.message);
          if (
            message.message.type === 'push' &&
            message.message.id !== undefined &&
            message.message.n === undefined &&
            client === undefined &&
            !gate.grant
          ) {
            // Without a scope, one caller could claim another's message IDs and make its writes vanish as
            // duplicates. A counted push (n) is scoped by its secret origin instead.
            throw new ApiError(400, 'bad_message', 'A push with an id needs ?client=<your scope for message IDs>');
          }
          const reply = await stub.send(message.message, client, gate.grant, fingerprint);
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (reply.retryAfter !== undefined)
            headers['retry-after'] = String(Math.max(1, Math.ceil(reply.retryAfter / 1000)));
          return c.body(reply.body, reply.status, headers);
        },
      )
      .all('/room/:id/send', wrongMethod(ALLOW.post))
      // Only used at the top level: a host app that mounts these routes answers its own unknown paths.
      .notFound((c) =>
        c.json(errorFrame('not_found', `No route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404),
      )
      .onError((err, c) => {
        if (err instanceof ApiError) {
          if (err.retryAfter !== undefined) c.header('retry-after', String(err.retryAfter));
          return c.json(
            errorFrame(
              err.code,
              err.message,
              err.retryAfter === undefined ? {} : { retryAfter: err.retryAfter * 1000 },
            ),
            err.status,
          );
        }
        if (err instanceof HTTPException) return c.json(errorFrame('bad_message', err.message), err.status);
        console.error(err);
        return c.json(errorFrame('internal', 'Internal error'), 500);
      })
  );
}
