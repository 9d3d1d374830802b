import type { Peer } from '../protocol/shapes.ts';
import type { RoomError } from './errors.ts';

export type { Peer };

/** `connecting` (first attempt) → `open` (welcomed) ⇄ `reconnecting` → `closed` (terminal). */
export type Status = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** What a subscription listener receives. */
export type SubjectEvent<T = unknown> =
  /** A stored or relayed value, in seq order, each seq at most once. `own` marks your own publish echoed back. */
  | { type: 'message'; subject: string; value: T; seq: number; client?: string; own: boolean }
  /**
   * The room can no longer replay from your checkpoint (compacted or wiped).
   * The current state follows as `message` events; treat it as a fresh start.
   */
  | { type: 'reset'; subject: string }
  /** The server rejected your `set`; `value` is what `get(subject)` returns now. */
  | { type: 'rollback'; subject: string; value: T | undefined; error: RoomError };

export type Listener<T = unknown> = (event: SubjectEvent<T>) => void;

export interface SubscribeOptions {
  /** Deliver values with seq greater than this (a checkpoint you kept). Wins over `last` and `replay`. */
  seq?: number;
  /** Deliver only the last N stored values, then live ones (a chat timeline). */
  last?: number;
  /** `false`: deliver only values published from now on. */
  replay?: boolean;
}

export type PresenceEvent =
  | { event: 'join' | 'update' | 'leave'; peer: Peer }
  /** A fresh snapshot after (re)connecting: read `room.peers`. */
  | { event: 'sync' };

export interface RoomEvents {
  status: Status;
  presence: PresenceEvent;
  /**
   * How many members of the room `peers` leaves out, you not counted: a roster shows a
   * room's first `maxRosterPeers` (100) members by arrival. Fires when that changed, to 0
   * included, at most once a second, so the room holds `peers.size + 1 + hidden` within a
   * second of a change; 0 until it first fires, and again at each welcome (`sync`).
   * (The frame as received: `type: 'members'` too.)
   */
  members: { hidden: number };
  /** A direct message; `from` is the sender's connection ID, stamped by the server. (The frame as received: it has `type: 'dm'` too.) */
  dm: { from: string; value: unknown };
  /** An error frame that no publish promise or listener could take. */
  error: RoomError;
  /**
   * The round trip of a ping, in ms: one as each socket opens, then one per heartbeat.
   * The runtime answers pings without waking the room, so this is the network and the edge.
   */
  latency: number;
}

/** The part of a WebSocket the client uses: the browser's, Node 22's, or the `ws` package's. */
export interface WebSocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number): void;
  onopen: unknown;
  onmessage: unknown;
  onclose: unknown;
  onerror: unknown;
}
/** Called with the subprotocols to offer: `edgeroom.v1`, and the early frames (docs/protocol.md) when they fit. */
export type WebSocketConstructor = new (url: string, protocols?: string[]) => WebSocketLike;

export interface RoomOptions {
  /** Defaults to `globalThis.WebSocket`. Pass `ws`'s constructor on Node 20. */
  WebSocket?: WebSocketConstructor;
  /**
   * Proves who this client is (16–64 characters, kept private): the server
   * derives the public client ID from it. Defaults to one random secret per
   * room per tab (sessionStorage) or per process; a second connection to the
   * same room in one tab gets its own.
   */
  secret?: string;
  /** Most publishes waiting for an acknowledgement, sent or queued offline. Default 1000. */
  queueLimit?: number;
  /** Upper bound of the first retry's delay, in ms; it doubles per attempt. Default 250. */
  minDelay?: number;
  /** Cap of the reconnect delay, in ms. Default 15,000. */
  maxDelay?: number;
  /** Ping period, in ms. A socket silent for two periods is dropped as half-open. Default 10,000. */
  heartbeat?: number;
  /** Presence state announced in every hello. `connect` throws `presence_too_large` if it is over 2 KiB. */
  presence?: unknown;
  /**
   * `false`: stay in presence (others see you, your state, your leave) without being
   * sent the roster: `peers` stays empty and `on('presence')` never fires. Saves the
   * room's bytes when the app does not show who is here. Default true.
   */
  roster?: boolean;
  /** For tests: the jitter source. */
  random?: () => number;
  /**
   * Where unacknowledged publishes wait, by ID, in send order (edgeroom/offline passes one
   * that keeps them on disk). The room sets an entry before it sends its frame, deletes it
   * on the frame's ack or error, and sends at each (re)connect the entries not sent on the
   * current socket, in order: entries put here before `connect` are resent with their frames
   * as they are. `close()` rejects every entry and deletes none.
   */
  outbox?: Map<string, Publish>;
}

/**
 * A `push` frame as the client sends it (protocol/messages.ts's PushIn, written out:
 * the client's types import no zod). `n` and `origin` make it a counted push.
 */
export interface PushFrame {
  type: 'push';
  key: string;
  value: unknown;
  action: { type: 'relay' | 'append' | 'replace' } | { type: 'compact'; seq: number };
  id: string;
  n?: number;
  origin?: string;
}

/** A frame that costs a token of the server's publish bucket: a push or a dm. */
export interface Outgoing {
  frame: PushFrame | { type: 'dm'; to: string; value: unknown; id: string };
  /** The socket it went out on: one not sent on the current socket is due. */
  ws?: unknown;
}

/** A publish waiting for its acknowledgement: an entry of `RoomOptions.outbox`. */
export interface Publish extends Outgoing {
  frame: PushFrame;
  resolve(seq: number): void;
  reject(error: RoomError): void;
}

/** One room, reconnecting until `close()`. */
export interface Room {
  readonly status: Status;
  /**
   * Our public client ID, as the last welcome gave it (derived from the secret);
   * undefined until the first welcome. It changes only after close code 4001.
   */
  readonly clientId: string | undefined;
  /** This socket's connection ID, from the last welcome. */
  readonly conn: string | undefined;
  /** Other connections in the room and their presence state, keyed by connection ID. */
  readonly peers: ReadonlyMap<string, Peer>;
  subscribe<T = unknown>(subject: string, listener: Listener<T>, options?: SubscribeOptions): () => void;
  /** Pub/sub: deliver to current subscribers, store nothing. Resolves with the seq. */
  publish(subject: string, value: unknown): Promise<number>;
  /** Key/value: replace the subject's value. `get` returns it at once; rolled back if rejected. */
  set(subject: string, value: unknown): Promise<number>;
  /** Stream: append a value. */
  append(subject: string, value: unknown): Promise<number>;
  /** Drop values with seq ≤ `seq` and keep `value` as the snapshot at `seq`. */
  compact(subject: string, seq: number, value: unknown): Promise<number>;
  /** The latest value of a subject known here: your pending `set`, else the last one received. */
  get<T = unknown>(subject: string): T | undefined;
  /** Announce your presence state now and in every later hello. Throws `presence_too_large` over `maxPresenceBytes`. */
  setPresence(state: unknown): void;
  /**
   * A direct message to a connection, paced like publishes (ahead of them).
   * Not queued offline: one made, or not yet sent, when the socket drops is dropped.
   * Returns the frame's ID: an `error` event about this dm (`no_such_connection`,
   * `too_large`, `rate_limited`, `forbidden`) carries it as `RoomError.id`.
   */
  dm(to: string, value: unknown): string;
  on<E extends keyof RoomEvents>(event: E, listener: (value: RoomEvents[E]) => void): () => void;
  /** Terminal and idempotent: closes the socket, stops every timer, rejects pending publishes; no listener hears anything after. */
  close(): void;
}
