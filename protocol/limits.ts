/**
 * Named limits shared by the worker and the client. The worker reads
 * overrides from wrangler vars (see worker/config.ts); these are the defaults.
 * The client imports them for its own checks, so it never needs zod.
 */
export const PROTOCOL_VERSION = 1;

export const DEFAULT_LIMITS = {
  /** Largest inbound frame, in bytes (JSON text measured as UTF-8). */
  maxMessageBytes: 256 * 1024,
  /** Longest subject (key), in UTF-16 code units. */
  maxSubjectLength: 256,
  /** Explicit subscriptions one socket may hold at once. */
  maxSubscriptions: 1000,
  /** Sockets one room accepts at once (the platform allows 32,768). */
  maxConnections: 10_000,
  /** Largest presence state, in bytes of JSON. Kept in the socket attachment (16 KiB max). */
  maxPresenceBytes: 2048,
  /**
   * In a room where LARGE_AUDIENCE (64) or more sockets said hello, presence
   * announcements wait up to this long and go out together, each socket getting
   * them in one frame: otherwise a room of N costs N sends per join. Smaller
   * rooms announce at once.
   */
  presenceBatchMs: 50,
  /**
   * Most peers a socket is shown: a room's roster (`welcome.peers` and the
   * presence events after it) covers its first this-many members by arrival,
   * and a member past them is shown when one of them leaves. Every member still
   * counts (`members` frames carry the total) and can be sent dms. Unbounded,
   * N members joining cost N² peers sent: 250,000 for a room of 500.
   */
  maxRosterPeers: 100,
  /**
   * How often at most a socket is told a new `members` count (how many members
   * its roster leaves out). In a connect storm the count changes every presence
   * window: sent each time, it cost more than the roster it replaces.
   */
  membersEveryMs: 1000,
  /** Seconds without a write before a room's data is wiped. */
  retentionSeconds: 86_400,
  /**
   * Seconds a socket that said hello may go without a frame or a ping before it
   * is presumed gone (close 4004); it leaves presence within 1.5 × this.
   */
  halfOpenSeconds: 30,
  /**
   * What the room may hold for one socket that reports receipts (its hello said
   * `acks`): sent and not yet acknowledged by its `ack`, held for this turn's
   * batch, or queued behind a replay. Text frames count their length in UTF-16
   * units, binary ones their bytes. A socket more than this behind for
   * `slowConsumerSeconds`, or more than BACKLOG_HARD_FACTOR times this at all,
   * is closed with 4291. Its client acks every quarter of this (`ackEveryBytes`
   * in welcome.limits); replays wait for its acks instead of tripping it.
   */
  maxSocketBacklogBytes: 2 * 1024 * 1024,
  /**
   * Seconds a socket that reports receipts may stay more than maxSocketBacklogBytes
   * behind. A burst goes past the bound before the client's receipt can come
   * back, and in a busy room receipts wait their turn behind other frames: a
   * reader that keeps up is back under it well within this.
   */
  slowConsumerSeconds: 2,

  // ---- rates (token buckets: a steady rate, and a burst the bucket holds) ----
  /**
   * Frames of any kind one socket may send per second. Past the burst: close 4290.
   * The burst holds what a client sends on (re)connecting: a hello, one `sub` per
   * subscription (up to maxSubscriptions) and a burst of queued publishes.
   */
  framesPerSecond: 200,
  frameBurst: 1200,
  /** Publishes (push of any action) and direct messages per socket per second. Past the burst: `rate_limited`. */
  publishesPerSecond: 50,
  publishBurst: 100,
  /** Presence announcements per socket per second. Faster updates are coalesced: the latest state wins. */
  presencePerSecond: 10,
  presenceBurst: 20,
  /**
   * Publishes refused in a row (each told its `retryAfter`) before the socket is
   * closed with 4290: a client that waits as told is never refused twice in a row.
   */
  refusalsBeforeClose: 50,
  /**
   * How far a token's `limits` claim may raise a socket's rates: at most this
   * many times the room's own (frames, publishes, presence). A token may lower them freely.
   */
  maxTokenRateFactor: 10,
  /** Publishes per room per second, from every socket and HTTP together. Past it: `rate_limited`. */
  roomPublishesPerSecond: 1000,
  /** Deliveries per room per second: each publish costs one per recipient. Past it: `rate_limited`. */
  roomDeliveriesPerSecond: 50_000,

  // ---- what a room keeps ----
  /** Subjects one room may hold: with stored values, or with subscribers. Past it: `too_many_subjects`. */
  maxSubjects: 10_000,
  /** Entries one stream keeps; older ones are trimmed, and resuming clients get `reset`. */
  maxStreamEntries: 100_000,
  /** Bytes of values one stream keeps; older entries are trimmed, as above. */
  maxStreamBytes: 16 * 1024 * 1024,
  /** Bytes of values one room keeps across all subjects. Past it: `room_storage_full`. */
  maxRoomBytes: 256 * 1024 * 1024,
} as const;

export type Limits = { -readonly [K in keyof typeof DEFAULT_LIMITS]: number };

/** A socket that reports receipts and is this many times maxSocketBacklogBytes behind is closed at once. */
export const BACKLOG_HARD_FACTOR = 4;

/**
 * How often a client that reports receipts sends one: every quarter of
 * `maxSocketBacklogBytes` received. Rare enough to cost little of the frame
 * rate, and below half the bound, where a replay waits for a receipt, so a
 * waiting replay always gets one. Sent in `welcome.limits`, not a var of its own.
 */
export const ackEveryBytes = (limits: Pick<Limits, 'maxSocketBacklogBytes'>): number =>
  Math.floor(limits.maxSocketBacklogBytes / 4);

/** Largest `last` a subscriber may ask for (the tail of a stream). */
export const MAX_TAIL = 10_000;
/** Longest client ID and client message ID. */
export const MAX_ID_LENGTH = 64;
/** How many recent client message IDs a room remembers to drop resent duplicates. */
export const DEDUP_WINDOW = 10_000;
/**
 * Counted pushes (`n` and `origin`, see PushIn): how far below the highest `n`
 * an origin has pushed the room still tells a resend from a new push. A push
 * with n ≤ highest − ORIGIN_WINDOW is refused with `expired`. A client keeps
 * every `n` it may resend within this (an outbox whose unacknowledged entries
 * span fewer than ORIGIN_WINDOW numbers), so its resends are never applied twice
 * however busy the room. Fixed: clients build it in.
 */
export const ORIGIN_WINDOW = 1000;

/** WebSocket close codes the server uses, beyond the standard ones. */
export const CLOSE_CODES = {
  /** The retention alarm wiped the room. Reconnect to resume; replays report a reset. */
  roomExpired: 4000,
  /** A newer socket said hello with the same client ID; this one is replaced. */
  replaced: 4001,
  /** The room already holds `maxConnections` sockets. */
  roomFull: 4002,
  /** The client asked for a protocol version this server does not speak. */
  unsupportedProtocol: 4003,
  /** No frame or ping for halfOpenSeconds: presumed gone. Reconnect and resume. */
  silent: 4004,
  /**
   * A fanned-out room's leaf lost track of the room's order (the room's own
   * object restarted while values were on their way). Reconnect and resume.
   */
  relink: 4005,
  /**
   * The socket sent frames far above `framesPerSecond` (past `frameBurst`).
   * Reconnect after a backoff of at least 5 s, then resume.
   */
  rateLimited: 4290,
  /**
   * A socket that reports receipts fell too far behind what the room sent it
   * (maxSocketBacklogBytes). Reconnect with the normal backoff and resume.
   */
  slowConsumer: 4291,
  /** No token, or a bad one, where one is required. Get a token, then connect again. */
  unauthorized: 4100,
  /** The token expired. Get a new one, then connect again and resume. */
  tokenExpired: 4101,
  /** The token was revoked. Get a new one; if the issuer refuses, stop. */
  tokenRevoked: 4102,
  /** A valid token, but not for this room. Do not retry with it. */
  forbidden: 4103,
} as const;

/**
 * Most leaves a fanned-out room may have (`POST /new` with `{"leaves": K}`).
 * The room's object makes one call per leaf per turn, and a Worker invocation
 * may make 1,000 subrequests at most on older plans: 16 keeps far below it.
 */
export const MAX_LEAVES = 16;

/**
 * A room of one object with this many sockets open at once fans out the next
 * time it has none (docs/hot-rooms.md, Crossing the threshold), with one leaf per
 * SOCKETS_PER_LEAF of that crowd (2 to MAX_LEAVES). `FANOUT_AT_SOCKETS` sets it
 * per deployment ("off": never).
 */
export const FANOUT_AT_SOCKETS = 2000;
export const SOCKETS_PER_LEAF = 500;

/**
 * Early frames (docs/protocol.md): the most characters the `early.` subprotocol
 * entry may carry after its prefix, URI-encoded. A socket's hello and subs fit
 * many times over; a client whose frames would not fit sends them as frames once
 * the socket is open. Small because it travels in a request header, beside a
 * token: proxies refuse long header lines (nginx's default is 8 KiB per line).
 * Fixed, not a var: a client must know it before it has heard from the room.
 */
export const MAX_EARLY_CHARS = 4096;
/** The early frames' subprotocol entry: `early.` and a URI-encoded JSON array of frames. */
export const EARLY_PREFIX = 'early.';

/** Smallest reconnect delay, in ms, after close 4290. */
export const RATE_LIMITED_BACKOFF_MS = 5000;
/** Shortest `hello.secret`: a client's identity is only as strong as its secret. */
export const MIN_SECRET_LENGTH = 16;

/** Machine-readable `code` of every `error` frame and HTTP error body. */
export const ERROR_CODES = [
  'bad_frame', // not JSON or CBOR
  'bad_message', // decoded, but not a valid message
  'too_large', // frame over maxMessageBytes
  'subject_too_long', // key over maxSubjectLength
  'too_many_subscriptions', // over maxSubscriptions
  'presence_too_large', // presence state over maxPresenceBytes
  'no_such_connection', // direct message to a connection that is gone
  'rate_limited', // over a publish rate; retry after `retryAfter` ms with the same id
  'too_many_subjects', // the room holds maxSubjects subjects
  'room_storage_full', // the room holds maxRoomBytes of values
  'invalid_value', // a value its subject's schema refuses (typed subjects); nothing was stored or relayed
  'expired', // a counted push (n, origin) too far below its origin's highest n: it may have been applied; not applied now
  'unauthorized', // no token where one is required, or a bad one
  'token_expired', // the token's exp has passed
  'token_revoked', // the token, its user, or every token issued before it, was revoked
  'forbidden', // the token does not grant this (room, subject, presence, dm, admin)
  'unsupported_protocol',
  'unsupported', // a feature this deployment does not offer (POST /new with leaves, without the LEAVES binding)
  'bad_room_id',
  'not_found',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
