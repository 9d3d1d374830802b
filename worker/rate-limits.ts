/**
 * Rate limits inside a room: what one socket may send, and what the whole
 * room may fan out. Checked before any work is done for a frame, so a flood
 * costs the room little more than counting it.
 *
 * - Frames (every frame a socket sends): past the burst, the socket is closed
 *   with 4290. A client that paces itself never gets near it.
 * - Publishes (pushes and direct messages) per socket, publishes per room, and
 *   deliveries per room (a publish costs one per recipient, since fan-out is
 *   where a room's time goes): over any of them the publish is refused with
 *   `rate_limited` and a `retryAfter`, the socket stays open, and nothing is
 *   applied, so a resend with the same ID still applies once.
 * - Presence announcements per socket: faster updates are coalesced, not refused.
 */
import type { Limits } from '../protocol/limits.ts';
import { TokenBucket } from './token-bucket.ts';

/** The buckets of one socket. */
export class SocketRates {
  readonly frames: TokenBucket;
  readonly publishes: TokenBucket;
  readonly presence: TokenBucket;
  /** Publishes refused since the last one admitted. */
  refusedInARow = 0;

  constructor(limits: Limits, now = Date.now()) {
    this.frames = new TokenBucket(limits.framesPerSecond, limits.frameBurst, now);
    this.publishes = new TokenBucket(limits.publishesPerSecond, limits.publishBurst, now);
    this.presence = new TokenBucket(limits.presencePerSecond, limits.presenceBurst, now);
  }
}

/** Why a publish was refused, and when to try again. */
export interface Refusal {
  message: string;
  retryAfter: number;
}

export class RoomRates {
  #limits: Limits;
  readonly publishes: TokenBucket;
  readonly deliveries: TokenBucket;

  constructor(limits: Limits, now = Date.now()) {
    this.#limits = limits;
    // A room's buckets hold one second's worth.
    this.publishes = new TokenBucket(limits.roomPublishesPerSecond, limits.roomPublishesPerSecond, now);
    this.deliveries = new TokenBucket(limits.roomDeliveriesPerSecond, limits.roomDeliveriesPerSecond, now);
  }

  /**
   * Takes what one publish costs: a token from the socket's bucket (none for
   * HTTP), one from the room's, and one delivery per recipient. All or nothing.
   */
  admit(socket: SocketRates | undefined, recipients: number, now = Date.now()): Refusal | undefined {
    // A publish to more recipients than the budget holds waits for a full budget, then goes.
    const cost = Math.min(recipients, this.deliveries.burst);
    const refusal = this.#refusal(socket, cost, now);
    if (socket) socket.refusedInARow = refusal ? socket.refusedInARow + 1 : 0;
    if (refusal) return refusal;
    socket?.publishes.take(1, now);
    this.publishes.take(1, now);
    this.deliveries.take(cost, now);
    return undefined;
  }

  /**
   * Deliveries made elsewhere and counted after the fact: a fanned-out room's
   * leaves report them to its object (docs/hot-rooms.md). The room's budget may
   * go into debt (one second's worth at most); until it is paid back, every
   * publish is refused as over roomDeliveriesPerSecond, whatever its audience.
   */
  charge(deliveries: number, now = Date.now()): void {
    if (deliveries > 0) this.deliveries.charge(deliveries, now);
  }

  #refusal(socket: SocketRates | undefined, cost: number, now: number): Refusal | undefined {
    const l = this.#limits;
    if (socket && socket.publishes.available(now) < 1) {
      return {
        message: `Over publishesPerSecond (${l.publishesPerSecond}/s, burst ${l.publishBurst}) for this socket`,
        retryAfter: socket.publishes.wait(1, now),
      };
    }
    if (this.publishes.available(now) < 1) {
      return {
        message: `Over roomPublishesPerSecond (${l.roomPublishesPerSecond}/s) for this room`,
        retryAfter: this.publishes.wait(1, now),
      };
    }
    if (this.deliveries.available(now) < cost) {
      return {
        message: `Over roomDeliveriesPerSecond (${l.roomDeliveriesPerSecond}/s) for this room`,
        retryAfter: this.deliveries.wait(cost, now),
      };
    }
    return undefined;
  }
}

/**
 * Addresses whose socket this room closed for flooding (4290). A reconnect
 * from one while its penalty lasts is closed again at once, before it can send
 * a frame, so reconnecting does not buy a flooder a fresh frame burst. Each
 * offence within PENALTY_MEMORY_MS of the last doubles the penalty, from the
 * backoff a client is told (5 s) up to PENALTY_MAX_MS. Kept in memory: a
 * flooder keeps the room awake.
 */
export const PENALTY_MAX_MS = 60_000;
const PENALTY_MEMORY_MS = 5 * 60_000;

export class PenaltyBox {
  #entries = new Map<string, { until: number; strikes: number; last: number }>();
  #ms: number;

  constructor(ms: number) {
    this.#ms = ms;
  }

  add(address: string, now = Date.now()): void {
    // Bounded: entries long forgotten go whenever the box grows.
    if (this.#entries.size >= 1000) {
      for (const [a, e] of this.#entries) if (now - e.last > PENALTY_MEMORY_MS) this.#entries.delete(a);
    }
    const before = this.#entries.get(address);
    const strikes = before && now - before.last <= PENALTY_MEMORY_MS ? before.strikes + 1 : 1;
    const penalty = Math.min(this.#ms * 2 ** (strikes - 1), PENALTY_MAX_MS);
    this.#entries.set(address, { until: now + penalty, strikes, last: now });
  }

  /** Milliseconds the address must still wait (0 when it may connect). */
  remaining(address: string, now = Date.now()): number {
    const entry = this.#entries.get(address);
    return entry && entry.until > now ? entry.until - now : 0;
  }
}
