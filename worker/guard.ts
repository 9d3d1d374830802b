/**
 * The room's doorman: who may come in, and who must go. It applies, to every
 * socket, the limits and tokens the room enforces by closing a socket: the
 * frame rate and refusals ignored (4290, and a short penalty for the address),
 * a token's end (4101) and its revocation (4102). It also takes in-band token
 * refreshes and revocations. Each closed socket leaves presence through the
 * room's message loop, in order with the frames before it.
 */
import { CLOSE_CODES, RATE_LIMITED_BACKOFF_MS, type Limits } from '../protocol/limits.ts';
import { authConfigFrom, verifyToken } from './auth/index.ts';
import type { Connection, Connections } from './connections.ts';
import { expired, grantOf, type Grant } from './grant.ts';
import { PenaltyBox } from './rate-limits.ts';
import { Revocations, type Revocation } from './revocations.ts';
import { errorFrame } from './validate.ts';

export class Guard {
  #conns: Connections;
  #limits: Limits;
  #env: Env;
  #revocations: Revocations;
  #penalties = new PenaltyBox(RATE_LIMITED_BACKOFF_MS);
  /** Runs `leave` for a closed socket in the room's loop. */
  #leave: (c: Connection) => void;

  constructor(conns: Connections, limits: Limits, env: Env, sql: SqlStorage, leave: (c: Connection) => void) {
    this.#conns = conns;
    this.#limits = limits;
    this.#env = env;
    this.#revocations = new Revocations(sql);
    this.#leave = leave;
  }

  /** Why a new socket from `address` with `grant` must be closed at once, or undefined to let it in. */
  refusal(address: string, grant: Grant | undefined): { code: number; reason: string } | undefined {
    const penalty = this.#penalties.remaining(address);
    if (penalty > 0)
      return { code: CLOSE_CODES.rateLimited, reason: `flooding from this address: reconnect after ${penalty} ms` };
    if (grant && this.#revocations.revoked(grant)) return { code: CLOSE_CODES.tokenRevoked, reason: 'Token revoked' };
    if (this.#conns.size >= this.#limits.maxConnections) {
      return { code: CLOSE_CODES.roomFull, reason: `room is full (${this.#limits.maxConnections} connections)` };
    }
    return undefined;
  }

  /** Counts a frame and checks the socket's token; false (and the socket closed) when it must go. */
  admitFrame(c: Connection): boolean {
    // Counted before anything else is done for the frame, so a flood costs little more than this.
    if (!c.rates.frames.take()) return (this.#flooding(c), false);
    if (c.a.grant && expired(c.a.grant)) return (this.expire(c), false);
    if (c.a.grant && this.#revocations.revoked(c.a.grant))
      return (this.#close(c, CLOSE_CODES.tokenRevoked, 'token_revoked', 'Token revoked'), false);
    return true;
  }

  /** A socket that keeps publishing while told to wait is flooding, whatever its frame rate. */
  afterPublish(c: Connection): void {
    if (c.rates.refusedInARow < this.#limits.refusalsBeforeClose || c.closing) return;
    this.#flooding(c, `${c.rates.refusedInARow} publishes refused in a row (refusalsBeforeClose)`);
  }

  /** A token's end: checked on every frame a socket sends and every push it would receive. */
  expire(c: Connection): void {
    this.#close(c, CLOSE_CODES.tokenExpired, 'token_expired', 'Token expired');
  }

  /** Whether an HTTP caller's token was revoked. */
  revoked(grant: Grant): boolean {
    return this.#revocations.revoked(grant);
  }

  /** Records a revocation and closes every open socket it reaches, at once. Returns how many. */
  revoke(r: Revocation): number {
    this.#revocations.add(r);
    let closed = 0;
    for (const c of [...this.#conns.all()]) {
      if (!c.a.grant || c.closing || !this.#revocations.revoked(c.a.grant)) continue;
      this.#close(c, CLOSE_CODES.tokenRevoked, 'token_revoked', 'Token revoked');
      closed++;
    }
    return closed;
  }

  /**
   * An in-band refresh: a new token for the same user and room replaces the
   * socket's grant, which keeps its subscriptions and position. A refused one
   * leaves the old grant to run out.
   */
  async refresh(c: Connection, token: string): Promise<void> {
    const old = c.a.grant;
    if (!old) return c.send(errorFrame('unauthorized', 'Only a socket that connected with a token can refresh it'));
    const config = authConfigFrom(this.#env);
    const result = await verifyToken(token, {
      keys: config.keys,
      room: old.room,
      maxTokenSeconds: config.maxTokenSeconds,
    });
    if (c.closing || this.#conns.get(c.ws) !== c) return;
    if (!result.ok) return c.send(errorFrame(result.code, result.message));
    if (result.claims.sub !== old.user)
      return c.send(errorFrame('forbidden', 'A refreshed token must name the same user'));
    const grant = grantOf(result.claims, result.rights, old.room);
    if (this.#revocations.revoked(grant)) return c.send(errorFrame('token_revoked', 'Token revoked'));
    c.a.grant = grant;
    c.save();
    c.send({ type: 'auth_ok', exp: grant.exp });
  }

  /**
   * A socket that sends receipts fell more than maxSocketBacklogBytes behind
   * what it was sent: it goes (4291) and leaves. No error frame: it would be
   * read only after the whole backlog.
   */
  slowConsumer(c: Connection): void {
    if (c.closing) return;
    c.closing = true;
    c.close(
      CLOSE_CODES.slowConsumer,
      `over maxSocketBacklogBytes (${this.#limits.maxSocketBacklogBytes}) unread: reconnect and resume`,
    );
    this.#leave(c);
  }

  /** Past its frame burst, or ignoring refusals: the socket goes, and its address waits out the backoff. */
  #flooding(
    c: Connection,
    why = `over framesPerSecond (${this.#limits.framesPerSecond}/s, burst ${this.#limits.frameBurst})`,
  ): void {
    if (c.address !== undefined) this.#penalties.add(c.address);
    c.closing = true;
    c.close(CLOSE_CODES.rateLimited, `${why}: reconnect after ${RATE_LIMITED_BACKOFF_MS} ms`);
    this.#leave(c);
  }

  /** Tells the socket why (its frames still in flight are ignored from now on), closes it, and it leaves. */
  #close(c: Connection, code: number, error: 'token_expired' | 'token_revoked', reason: string): void {
    c.closing = true;
    c.send(errorFrame(error, reason));
    c.close(code, reason);
    this.#leave(c);
  }
}
