/**
 * Every frame on the wire, as a zod schema. Types are inferred from the
 * schemas so they cannot drift from what the server accepts.
 *
 * DriftDB frames (push, get, ping in; push, init, stream_size, pong, error
 * out) keep DriftDB's exact shapes. Extension frames are documented in
 * docs/protocol.md and are only sent to sockets that used an extension.
 */
import * as z from './zod.ts';
import { ERROR_CODES, MAX_ID_LENGTH, MAX_LEAVES, MAX_TAIL, MIN_SECRET_LENGTH } from './limits.ts';
import type * as shapes from './shapes.ts';

const seq = z.number().check(z.int(), z.gte(0), z.lte(Number.MAX_SAFE_INTEGER));
const key = z.string();
const id = z.string().check(z.minLength(1), z.maxLength(MAX_ID_LENGTH));
/** A hello's secret, or a counted push's origin (an outbox's secret). */
const secret = z.string().check(z.minLength(MIN_SECRET_LENGTH), z.maxLength(MAX_ID_LENGTH));
/** Opaque user data. DriftDB treats a missing value as null. */
const value = z.pipe(
  z.unknown(),
  z.transform((v) => (v === undefined ? null : v)),
);

export const Action = z.discriminatedUnion('type', [
  z.object({ type: z.literal('relay') }),
  z.object({ type: z.literal('append') }),
  z.object({ type: z.literal('replace') }),
  z.object({ type: z.literal('compact'), seq }),
]);
export type Action = z.infer<typeof Action>;

// ---- client → server -------------------------------------------------------

/**
 * Publish to a subject. `id` (extension) makes the publish idempotent and acknowledged.
 *
 * `n` and `origin` (extension) make it a counted push: `n` is a number its
 * minter increases for every push it mints, `origin` the minter's secret (an
 * outbox's, kept across reloads and shared by the tabs that recover it). The
 * room then drops a resend by (origin, n) instead of by `id`, within
 * ORIGIN_WINDOW of the origin's highest n, however many others publish
 * meanwhile. Both come together, and with an `id`, which the ack and any error
 * carry back. See docs/protocol.md, "Counted pushes".
 */
export const PushIn = z
  .object({
    type: z.literal('push'),
    key,
    value,
    action: Action,
    id: z.optional(id),
    n: z.optional(z.number().check(z.int(), z.gte(1), z.lte(Number.MAX_SAFE_INTEGER))),
    origin: z.optional(secret),
  })
  .check(
    z.superRefine((push, ctx) => {
      const missing = (field: 'n' | 'origin' | 'id', why: string) =>
        ctx.addIssue({ code: 'custom', path: [field], input: undefined, message: `is missing: ${why}` });
      if (push.n !== undefined && push.origin === undefined) missing('origin', 'a push with n names its origin');
      else if (push.origin !== undefined && push.n === undefined) missing('n', 'a push with an origin carries its n');
      else if (push.n !== undefined && push.id === undefined) missing('id', 'a push with n carries an id for its ack');
    }),
  );
/** DriftDB: replay retained values with seq > `seq` (absent = 0, null = none). */
export const GetIn = z.object({ type: z.literal('get'), key, seq: z.optional(z.nullable(seq)) });
export const PingIn = z.object({ type: z.literal('ping'), nonce: z.optional(z.nullable(z.number())) });

/**
 * Extension: identify the client; switches the socket to explicit subscriptions.
 * The client ID is derived by the server from `secret`, which no other client
 * ever sees, so knowing a client ID (from presence or pushes) is not enough to
 * claim it. Without a secret the server picks a fresh client ID.
 */
export const HelloIn = z.object({
  type: z.literal('hello'),
  protocol: z.number().check(z.int()),
  secret: z.optional(secret),
  presence: z.optional(z.unknown()),
  /** Extension: this client sends `ack` receipts, so the room bounds its backlog (see AckIn). */
  acks: z.optional(z.boolean()),
  /**
   * Extension: `false` declines the roster. The socket is still a presence member
   * (others see it join, update and leave), but its welcome carries `peers: []` and it
   * is sent no `presence` frames. Absent = true. The first hello on a socket decides.
   */
  roster: z.optional(z.boolean()),
});
/** Extension: subscribe. Replays seq > `seq`, or only the `last` N values, unless `replay` is false. */
export const SubIn = z.object({
  type: z.literal('sub'),
  key,
  seq: z.optional(seq),
  last: z.optional(z.number().check(z.int(), z.gte(1), z.lte(MAX_TAIL))),
  replay: z.optional(z.boolean()),
});
export const UnsubIn = z.object({ type: z.literal('unsub'), key });
/** Extension: set this connection's presence state (null clears it). */
export const PresenceIn = z.object({ type: z.literal('presence'), state: z.unknown() });
/** Extension: a direct message to one connection; never stored, never broadcast. */
export const DirectIn = z.object({ type: z.literal('dm'), to: id, value, id: z.optional(id) });

/**
 * Extension: a fresh token for this socket, before the old one ends. It must
 * name the same user and room; the socket keeps its subscriptions and position.
 */
export const AuthIn = z.object({ type: z.literal('auth'), token: z.string().check(z.minLength(1), z.maxLength(4096)) });

/**
 * Extension: a receipt. `received` is the running total of what this socket has
 * received: the length of each text frame (UTF-16 units) and the bytes of each
 * binary one, except the runtime's bare `{"type":"pong","nonce":null}`, the
 * units the room counts when it sends. A client whose hello said `acks` sends
 * one whenever `welcome.limits.ackEveryBytes` more have arrived.
 */
export const AckIn = z.object({
  type: z.literal('ack'),
  received: z.number().check(z.int(), z.gte(0), z.lte(Number.MAX_SAFE_INTEGER)),
});

export const ClientMessage = z.discriminatedUnion('type', [
  PushIn,
  GetIn,
  PingIn,
  HelloIn,
  SubIn,
  UnsubIn,
  PresenceIn,
  DirectIn,
  AuthIn,
  AckIn,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;
export type ClientMessageInput = z.input<typeof ClientMessage>;

// ---- server → client -------------------------------------------------------

export const Entry = z.object({ value: z.unknown(), seq, client: z.optional(z.string()) });
export type Entry = z.infer<typeof Entry>;

export const Peer = z.object({ conn: z.string(), client: z.string(), state: z.unknown() });
export type Peer = shapes.Peer;
sameShape<z.infer<typeof Peer>, Peer>(true);

export const PushOut = z.object({
  type: z.literal('push'),
  key,
  value: z.unknown(),
  seq,
  client: z.optional(z.string()),
});
export const InitOut = z.object({
  type: z.literal('init'),
  key,
  data: z.array(Entry),
  /** Extension: more `init` frames for this key follow (a replay split to fit the frame limit). */
  more: z.optional(z.literal(true)),
  /** Extension: the requested seq is older than what the room still holds; data is the current state. */
  reset: z.optional(z.literal(true)),
});
export const StreamSizeOut = z.object({ type: z.literal('stream_size'), key, size: z.number().check(z.int()) });
export const PongOut = z.object({ type: z.literal('pong'), nonce: z.nullable(z.number()) });
export const ErrorOut = z.object({
  type: z.literal('error'),
  message: z.string(),
  code: z.enum(ERROR_CODES),
  /** The client message ID of the push or dm that failed, when it had one. */
  id: z.optional(z.string()),
  key: z.optional(z.string()),
  /** With `rate_limited`: milliseconds until the same publish would be accepted. */
  retryAfter: z.optional(z.number().check(z.int(), z.gte(0))),
});
export const WelcomeOut = z.object({
  type: z.literal('welcome'),
  protocol: z.number(),
  conn: z.string(),
  client: z.string(),
  /** The room's latest sequence number. */
  seq,
  limits: z.record(z.string(), z.number()),
  peers: z.array(Peer),
  /** With a token: when it ends, in seconds since the epoch. Refresh before then (`auth`). */
  exp: z.optional(z.number()),
});
/** A refreshed token was taken: it now ends at `exp` (seconds since the epoch). */
export const AuthOkOut = z.object({ type: z.literal('auth_ok'), exp: z.number() });
export const AckOut = z.object({ type: z.literal('ack'), id, seq, duplicate: z.optional(z.literal(true)) });
export const PresenceOut = z.object({
  type: z.literal('presence'),
  event: z.enum(['join', 'update', 'leave']),
  peer: Peer,
});
/**
 * How many members of the room this socket's roster does not list (itself not
 * counted), when the room has more than `maxRosterPeers`: the roster lists only
 * that many. Sent when the number changed, 0 included, at most every
 * `membersEveryMs`, so the room's size is `peers + 1 + hidden` within that long.
 */
export const MembersOut = z.object({ type: z.literal('members'), hidden: z.number().check(z.int(), z.gte(0)) });
export const DirectOut = z.object({ type: z.literal('dm'), from: z.string(), value: z.unknown() });

export const ServerMessage = z.discriminatedUnion('type', [
  PushOut,
  InitOut,
  StreamSizeOut,
  PongOut,
  ErrorOut,
  WelcomeOut,
  AckOut,
  PresenceOut,
  MembersOut,
  DirectOut,
  AuthOkOut,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;
export type PushOut = z.infer<typeof PushOut>;
export type InitOut = z.infer<typeof InitOut>;
export type ErrorOut = z.infer<typeof ErrorOut>;
export type WelcomeOut = z.infer<typeof WelcomeOut>;
export type PresenceOut = z.infer<typeof PresenceOut>;
export type MembersOut = z.infer<typeof MembersOut>;

// ---- HTTP ------------------------------------------------------------------

/**
 * `POST /room/:id/send?client=C`: the caller-chosen scope of its message IDs.
 * Required with a push `id`, so two HTTP callers never claim each other's IDs.
 */
export const HttpClient = id;

/**
 * `POST /new`'s optional body: none (DriftDB), `{"private": true}` (with an admin
 * token) for a private room, `{"leaves": K}` for a fanned-out room whose sockets
 * K objects hold (docs/hot-rooms.md).
 */
export const NewRoomRequest = z.strictObject({
  private: z.optional(z.boolean()),
  leaves: z.optional(z.number().check(z.int(), z.gte(2), z.lte(MAX_LEAVES))),
});

/**
 * `POST /room/:id/revoke` (an admin token): every token issued before a time
 * (seconds; default now), one user's tokens issued before it, or one token by `jti`.
 */
export const RevokeRequest = z.union([
  z.strictObject({ jti: z.string().check(z.minLength(1), z.maxLength(64)) }),
  z.strictObject({
    user: z.string().check(z.minLength(1), z.maxLength(64)),
    before: z.optional(z.number().check(z.int())),
  }),
  z.strictObject({ before: z.optional(z.number().check(z.int())) }),
]);
export type RevokeRequest = z.infer<typeof RevokeRequest>;

/** The body of `POST /new` and `GET /room/:id`, exactly as DriftDB returns it. */
export const RoomResult = z.object({ room: z.string(), socket_url: z.string(), http_url: z.string() });
export type RoomResult = shapes.RoomResult;
sameShape<z.infer<typeof RoomResult>, RoomResult>(true);

/** Messages `POST /room/:id/send` accepts: those that make sense without a socket. */
export const HttpMessage = z.discriminatedUnion('type', [PushIn, GetIn, PingIn]);
export type HttpMessage = z.infer<typeof HttpMessage>;

/** Compiles only when a schema parses to exactly the plain shape of shapes.ts. */
function sameShape<A, B>(_same: [A] extends [B] ? ([B] extends [A] ? true : false) : false): void {}
