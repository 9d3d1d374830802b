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
  /** Seconds without a write before a room's data is wiped. */
  retentionSeconds: 86_400,
} as const;

export type Limits = { -readonly [K in keyof typeof DEFAULT_LIMITS]: number };

/** Largest `last` a subscriber may ask for (the tail of a stream). */
export const MAX_TAIL = 10_000;
/** Longest client ID and client message ID. */
export const MAX_ID_LENGTH = 64;
/** How many recent client message IDs a room remembers to drop resent duplicates. */
export const DEDUP_WINDOW = 10_000;

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
} as const;

/** Machine-readable `code` of every `error` frame and HTTP error body. */
export const ERROR_CODES = [
  'bad_frame', // not JSON or CBOR
  'bad_message', // decoded, but not a valid message
  'too_large', // frame over maxMessageBytes
  'subject_too_long', // key over maxSubjectLength
  'too_many_subscriptions', // over maxSubscriptions
  'presence_too_large', // presence state over maxPresenceBytes
  'no_such_connection', // direct message to a connection that is gone
  'unsupported_protocol',
  'bad_room_id',
  'room_full',
  'not_found',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
