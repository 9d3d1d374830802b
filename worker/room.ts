/**
 * One room: a Durable Object with SQLite storage and hibernatable sockets.
 * Everything the room knows is in storage or socket attachments, so the
 * object can be evicted between any two messages and rebuilt on wake.
 */
import { DurableObject } from 'cloudflare:workers';
import { CLOSE_CODES, ORIGIN_WINDOW, type Limits } from '../protocol/limits.ts';
import type { ClientMessage, HttpMessage, PushOut, ServerMessage } from '../protocol/messages.ts';
import { containsBytes, toCbor, toJson } from './codec.ts';
import { limitsFrom } from './config.ts';
import { AUTO_PONG } from './backlog.ts';
import { Connections, Outgoing, type Connection } from './connections.ts';
import { GroupCommit } from './group-commit.ts';
import { newConnId } from './ids.ts';
import { originScopeOf } from './identity.ts';
import { forbidden } from './access.ts';
import { FanoutSwitch, fanoutThreshold, LEAVES_HEADER, MISDIRECTED } from './fanout-switch.ts';
import { acceptUpgrade } from './accept.ts';
import type { Grant } from './grant.ts';
import { Guard } from './guard.ts';
import type { Revocation } from './revocations.ts';
import { Presence } from './presence.ts';
import { RoomRates, type Refusal, type SocketRates } from './rate-limits.ts';
import { initFrames, pagedInitFrames, REPLAY_FRAME_BYTES, replayPage } from './replay.ts';
import { entriesAfter, takeChunk, type ReplayChunk } from './replay-chunks.ts';
import { AlarmClock } from './alarm-clock.ts';
import { Retention } from './retention.ts';
import { Sweep } from './sweep.ts';
import { RejectedPush, Store, tooManySubjects, type StoredEntry, type StoredValue } from './store.ts';
import type { Unseen } from './counters.ts';
import type { SubjectRules } from './subjects.ts';
import { CONFIG_HEADER, misbuilt, roomFingerprint } from './options.ts';
import { errorFrame, parseFrame } from './validate.ts';
import { LeafLinks, type LinkReply, type RootCounters } from './leaf-links.ts';
import type { MemberChange } from './leaf-presence.ts';
import { RootRoster } from './root-presence.ts';
import type { Peer } from '../protocol/messages.ts';

type PushIn = Extract<ClientMessage, { type: 'push' }>;

/** The plain class's options: none in code. */
const PLAIN = roomFingerprint({});

/** Answered by the runtime (AUTO_PONG) without waking the object: heartbeats cost nothing. */
const PING = '{"type":"ping"}';

/** A push a leaf forwards to the root (worker/leaf.ts), with what the leaf knows of its sender. */
export interface ForwardedPush {
  m: PushIn;
  binary: boolean;
  client: string | undefined;
  scope: string;
  /** The token's user, if any: a counted push's origin is scoped by it (worker/identity.ts). */
  user: string | undefined;
}

/**
 * What the root answers a leaf's publish: the replies for each push's sender,
 * and the batch that holds them all. The leaf sends the replies once it has
 * applied that batch, so a sender sees its echo (and a compaction has reached
 * the leaf's tail cache) before its ack.
 */
export interface Published {
  epoch: number;
  n: number;
  replies: ServerMessage[][];
}

/** A replay a leaf asks for on a socket's behalf, up to the leaf's position. */
export interface ReplayQuery {
  key: string;
  after: number;
  last?: number;
  /** `sub` may answer with a reset; DriftDB's `get` never does. */
  resets: boolean;
  upTo: number;
  cbor: boolean;
  extended: boolean;
  /** The rest of a replay (worker/replay-chunks.ts): whether it is a reset was decided by its first chunk. */
  reset?: boolean;
}

/** A room's counters for `GET /room/:id/stats` (see Room.stats). */
export type RootStats = RootCounters & {
  epoch: number;
  /** When this object started (ms since the epoch): the counters count from then. */
  since: number;
  seq: number;
  /** Leaves linked now. */
  leaves: number;
  /** Calls from leaves: publish calls and the pushes in them, replay chunks, links. */
  publishes: number;
  pushes: number;
  replays: number;
  links: number;
};

/** What `POST /room/:id/send` gets back: a JSON body (already encoded) and its status. */
export interface HttpReply {
  status: 200 | 400 | 401 | 403 | 429 | 500;
  body: string;
  /** With 429: milliseconds until the same push would be accepted. */
  retryAfter?: number;
}

export class Room extends DurableObject<Env> {
  #limits: Limits;
  #store: Store;
  #conns: Connections;
  #retention: Retention;
  #sweep: Sweep;
  #clock: AlarmClock;
  #presence: Presence;
  #rates: RoomRates;
  #guard: Guard;
  /** Typed subjects, when the room class came from createEdgeroom with a `subjects` map. */
  #subjects: SubjectRules | undefined;
  /** The options this class was built with, as the router names them (worker/options.ts). */
  #fingerprint: string;
  #loop = new GroupCommit((err) => console.error('room: task failed', err));
  /** The leaves of a fanned-out room (none in any other). */
  #links: LeafLinks;
  /** A fanned-out room's presence, ordered here for every leaf (worker/root-presence.ts). */
  #roster: RootRoster;
  /** Every seq this incarnation assigns is above it: what a relinking leaf may have missed is at or below. */
  #epochStart: number;
  /** Whether this room has fanned out, or will at its next empty moment, because of its crowd. */
  #switch: FanoutSwitch;
  /** The leaves' calls since this object started (see stats). */
  #calls = { publishes: 0, pushes: 0, replays: 0, links: 0 };
  #startedAt = Date.now();

  /**
   * The runtime passes `ctx` and `env`. createEdgeroom's subclass passes `env`
   * overlaid with the options given in code, and the subject schemas.
   */
  constructor(
    ctx: DurableObjectState,
    env: Env,
    built: { subjects?: SubjectRules; fingerprint: string } = { fingerprint: PLAIN },
  ) {
    super(ctx, env);
    this.#subjects = built.subjects;
    this.#fingerprint = built.fingerprint;
    this.#limits = limitsFrom(env);
    this.#store = new Store(ctx.storage, this.#limits);
    this.#rates = new RoomRates(this.#limits);
    // A fanned-out room's deliveries are made on its leaves, which report them (docs/hot-rooms.md).
    this.#links = new LeafLinks(
      ctx.storage.sql,
      env.LEAVES,
      this.#store.fannedOut,
      () => this.#store.markFannedOut(),
      (deliveries) => this.#rates.charge(deliveries),
    );
    this.#epochStart = this.#store.seq;
    // Its leaves find it under ROOMS (createEdgeroom's overlay puts the room's binding there).
    const fansOut = env.LEAVES !== undefined && env.ROOMS !== undefined;
    this.#switch = new FanoutSwitch(this.#store, fansOut ? fanoutThreshold(env) : undefined);
    this.#roster = new RootRoster(ctx.storage.sql, this.#limits.presenceBatchMs, this.#limits.maxRosterPeers, (w) =>
      this.#links.add({ t: 'presence', ...w }),
    );
    this.#conns = new Connections(ctx.getWebSockets(), this.#store, this.#limits, (c) => this.#guard.slowConsumer(c));
    this.#clock = new AlarmClock(ctx.storage, this.#store.meta('alarm_at') || undefined);
    this.#retention = new Retention(this.#clock, this.#store, this.#limits.retentionSeconds);
    this.#sweep = new Sweep(ctx, this.#conns, this.#clock, this.#limits.halfOpenSeconds);
    this.#presence = new Presence(this.#conns, this.#limits, () => this.#store.seq);
    this.#guard = new Guard(this.#conns, this.#limits, env, ctx.storage.sql, (c) =>
      this.#loop.run(() => this.#presence.leave(c.ws), false),
    );
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, AUTO_PONG));
  }

  /** The WebSocket upgrade, forwarded by the router. */
  override async fetch(request: Request): Promise<Response> {
    const misbuilt = this.#misbuilt(request.headers.get(CONFIG_HEADER));
    if (misbuilt) return new Response(misbuilt, { status: 500 });
    // Fanned out (or due to, and empty now): the Worker sends the socket to a leaf instead.
    // Leaves still queued count as gone: a closed socket must not hold the switch back.
    if (this.#switch.due) this.#loop.flush();
    const leaves = this.#switch.leavesFor(this.#conns.size);
    if (leaves > 0) return new Response(null, { status: MISDIRECTED, headers: { [LEAVES_HEADER]: String(leaves) } });
    const { server, added, early, response } = acceptUpgrade(this.ctx, request, this.#guard, this.#conns, newConnId());
    if (added) this.#switch.counted(this.#conns.size);
    // The frames the upgrade carried (worker/early.ts), by the path every frame takes, before any
    // the socket can send (none can come before the 101): the welcome goes out from here.
    this.#conns.get(server)?.unbatched(() => {
      for (const frame of early) void this.webSocketMessage(server, frame);
    });
    return response;
  }

  override async webSocketMessage(ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    const c = this.#conns.get(ws);
    if (!c || c.closing) return; // closed by us (replaced, room full, rate limit) and not yet gone
    c.lastSeen = Date.now();
    if (!this.#guard.admitFrame(c)) return;
    const inbound = parseFrame(frame, this.#limits);
    if (!inbound.ok) return this.#loop.run(() => c.send(inbound.error), false);
    const { message, binary } = inbound;
    // A receipt only moves counters (and may let a waiting replay go on): taken at
    // once, not behind the frames queued for the next commit, or a busy room would
    // hold the receipts of readers that keep up against them.
    if (message.type === 'ack') return this.#ack(c, message.received);
    this.#loop.run(() => {
      try {
        this.#handle(c, message, binary);
      } catch (err) {
        // A bug must not cost the socket or the room; the client learns no internals.
        console.error('room: message handler failed', err);
        c.send(errorFrame('internal', 'Internal error'));
      }
    }, writes(message));
  }

  /** How many leaves this room fanned out to by itself (0: it is one object). The Worker asks before a revoke. */
  async leaves(): Promise<number> {
    return this.#switch.leaves;
  }

  /** `POST /room/:id/revoke` (an admin token; the router checked it). Returns how many sockets it closed. */
  async revoke(r: Revocation): Promise<number> {
    this.#loop.flush();
    return this.#guard.revoke(r);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.#loop.run(() => this.#presence.leave(ws), false);
    try {
      ws.close(code, reason);
    } catch {
      // The runtime already answered the close, or the code cannot be echoed (1005/1006).
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#loop.run(() => this.#presence.leave(ws), false);
  }

  /** The alarm: silent sockets (see sweep.ts), then the retention wipe when it is due. */
  override async alarm(): Promise<void> {
    this.#loop.flush();
    this.#clock.fired();
    for (const c of this.#sweep.run()) {
      c.close(CLOSE_CODES.silent, `no frame or ping for ${this.#limits.halfOpenSeconds} s`);
      this.#presence.leave(c.ws);
    }
    if (!this.#retention.due() || !this.#retention.expired()) return;
    this.#store.wipe();
    if (this.#links.active) this.#roster.wipe();
    this.#links.add({ t: 'wipe', floor: this.#store.wipeFloor });
    for (const c of [...this.#conns.all()]) {
      this.#conns.remove(c);
      c.close(CLOSE_CODES.roomExpired, 'room data expired');
    }
  }

  /**
   * `POST /room/:id/send`: one message without a socket. The router has
   * validated it. `client` is the caller's chosen scope for message IDs.
   */
  async send(message: HttpMessage, client?: string, grant?: Grant, config?: string): Promise<HttpReply> {
    const misbuilt = this.#misbuilt(config ?? null);
    if (misbuilt) return { status: 500, body: toJson(errorFrame('internal', misbuilt)) };
    this.#loop.flush();
    if (grant && this.#guard.revoked(grant)) {
      return { status: 401, body: toJson(errorFrame('token_revoked', 'Token revoked')) };
    }
    const denied = forbidden(grant, message);
    const reply =
      denied === undefined
        ? this.#reply(message, client, grant)
        : errorFrame('forbidden', denied, {
            key: (message as { key?: string }).key,
            ...(message.type === 'push' && message.id !== undefined ? { id: message.id } : {}),
          });
    const status =
      reply?.type !== 'error' ? 200 : reply.code === 'rate_limited' ? 429 : reply.code === 'forbidden' ? 403 : 400;
    return {
      status,
      body: reply ? toJson(reply, true) : 'null',
      retryAfter: reply?.type === 'error' ? reply.retryAfter : undefined,
    };
  }

  // ---- leaves of a fanned-out room (docs/hot-rooms.md) ---------------------

  /**
   * A leaf links, or relinks after a gap or a wake, with the last batch it
   * applied (`have`). It is told what it missed, from the ring of recent
   * batches. After this object restarted (a new epoch) it missed nothing if no
   * value was stored after its last seq before the restart (relays from before
   * are gone either way, as after any restart); otherwise `missed` is
   * undefined, and the leaf has its sockets reconnect and resume (4005).
   *
   * `members` (the leaf's presence members) replaces what the root had for
   * that leaf. The answer carries the room's roster as of its batch `n` when
   * the leaf has no view of it it can trust (`view` false, a first link, or
   * a restart of this object since), with the room's member count and which
   * of the leaf's members wait unshown (`maxRosterPeers`) as of the same batch.
   */
  async link(
    name: string,
    have?: { epoch: number; n: number; seq: number },
    members: Peer[] = [],
    view = false,
    holding?: string[],
  ): Promise<LinkReply> {
    this.#loop.flush();
    this.#calls.links++;
    // Before register, which sends what is queued: `n` then covers the events this causes.
    this.#roster.relink(name, members);
    this.#links.register(name);
    if (holding) this.#prune(name, holding);
    const links = this.#links;
    let missed: Uint8Array[] | undefined = [];
    if (have && have.epoch === links.epoch) missed = links.since(have.epoch, have.n);
    else if (have) {
      const clean = this.#store.wipeFloor <= have.seq && !this.#store.storedBetween(have.seq, this.#epochStart);
      missed = clean ? links.since(links.epoch, 0) : undefined;
    }
    const roster = view && have?.epoch === links.epoch ? undefined : this.#roster.roster();
    const reply = { epoch: links.epoch, n: links.n, seq: this.#store.seq, missed };
    return roster ? { ...reply, roster, ...this.#roster.count(name) } : reply;
  }

  /** A leaf whose last socket left a while ago: it is sent no more batches (it links again for its next socket). */
  async unlink(name: string): Promise<void> {
    this.#roster.drop(name);
    this.#links.unregister(name);
    this.#store.forgetConnection(name);
  }

  /**
   * `GET /room/:id/stats` (an admin token; the router checked it): what this
   * object did for its leaves since it started, as LeafLinks counts it and as
   * the leaves called it. Not stored: `epoch` changes when the object restarts.
   */
  async stats(): Promise<RootStats> {
    return {
      epoch: this.#links.epoch,
      since: this.#startedAt,
      seq: this.#store.seq,
      leaves: this.#links.linked,
      ...this.#links.counters,
      ...this.#calls,
    };
  }

  /**
   * A leaf's first socket subscribes to `key` (worker/leaf-subjects.ts): the
   * subject counts for maxSubjects while the leaf holds it, as a room of one
   * object counts its own sockets' subscriptions. False past maxSubjects.
   */
  async holdSubject(name: string, key: string): Promise<boolean> {
    this.#loop.flush();
    if (!this.#store.admits(key)) return false;
    this.#store.subscribe(name, key);
    return true;
  }

  /** A leaf's last socket that subscribed to `key` left it. */
  async releaseSubject(name: string, key: string): Promise<void> {
    this.#loop.flush();
    this.#store.unsubscribe(name, key);
  }

  /** Lets go of what a leaf held and no longer does (a release that was lost). */
  #prune(name: string, holding: string[]): void {
    const still = new Set(holding);
    for (const key of this.#store.subscribedBy(name)) if (!still.has(key)) this.#store.unsubscribe(name, key);
  }

  /** A leaf's presence changes of one turn (its members' joins, updates and leaves), in order. */
  async presence(name: string, changes: MemberChange[]): Promise<void> {
    this.#loop.flush();
    this.#roster.report(name, changes);
  }

  /** Pushes a leaf's sockets sent in one turn, applied in order (the leaf checked rights and socket rates). */
  async publish(pushes: ForwardedPush[]): Promise<Published> {
    this.#loop.flush();
    this.#calls.publishes++;
    this.#calls.pushes += pushes.length;
    const replies = pushes.map((f) => this.#push(f.m, f.binary, f.client, f.scope, undefined, f.user));
    await this.#links.settled();
    return { epoch: this.#links.epoch, n: this.#links.n, replies };
  }

  /**
   * A replay for a leaf's socket, as the frames the socket gets (as #subscribe
   * and `get` would send them here), a chunk at a time (worker/replay-chunks.ts).
   */
  async replayFor(q: ReplayQuery): Promise<ReplayChunk> {
    this.#loop.flush();
    this.#calls.replays++;
    const o = {
      cbor: q.cbor,
      extended: q.extended,
      reset: false,
      maxBytes: Math.min(this.#limits.maxMessageBytes, REPLAY_FRAME_BYTES),
    };
    let reset = q.reset ?? false;
    let entries: Iterable<StoredEntry>;
    if (q.last !== undefined) entries = this.#store.lastEntries(q.key, q.last).filter((e) => e.seq <= q.upTo);
    else {
      if (q.reset === undefined)
        reset =
          q.resets && q.after > 0 && (q.after < this.#store.subject(q.key).floor || q.after <= this.#store.wipeFloor);
      entries = entriesAfter(this.#store, q.key, reset && q.reset === undefined ? 0 : q.after, q.upTo);
    }
    const { taken, more } = takeChunk(entries);
    const frames = [...initFrames(q.key, taken, { ...o, reset, more })];
    return more ? { frames, reset, next: taken[taken.length - 1]!.seq } : { frames, reset };
  }

  /** Why this room must not serve a router built with other options (none when the caller names none). */
  #misbuilt(config: string | null): string | undefined {
    return misbuilt(config, this.#fingerprint, 'Room');
  }

  // ---- dispatch ------------------------------------------------------------

  #handle(c: Connection, m: ClientMessage, binary: boolean): void {
    const denied = forbidden(c.a.grant, m);
    if (denied !== undefined) {
      const key = 'key' in m ? { key: m.key } : {};
      c.send(errorFrame('forbidden', denied, { ...('id' in m && m.id !== undefined ? { id: m.id } : {}), ...key }));
      // A hello is still welcomed: only the presence it carried is refused.
      if (m.type !== 'hello') return;
      m = { ...m, presence: undefined };
    }
    switch (m.type) {
      case 'push':
        for (const reply of this.#push(m, binary, c.a.client, scopeOf(c), c.rates, c.a.grant?.user)) c.send(reply);
        return this.#guard.afterPublish(c);
      case 'get':
        if (m.seq !== null) this.#replay(c, m.key, m.seq ?? 0, false);
        return;
      case 'ping':
        return c.send({ type: 'pong', nonce: m.nonce ?? null });
      case 'hello':
        // Saved with the rest of the hello; once said, a later hello cannot take it back.
        if (m.acks) c.a.acks = true;
        this.#presence.hello(c, m);
        return this.#sweep.schedule();
      case 'sub':
        return this.#subscribe(c, m);
      case 'unsub':
        return this.#conns.unsubscribe(c, m.key);
      case 'presence':
        return this.#presence.set(c, m.state);
      case 'auth':
        this.#guard.refresh(c, m.token).catch((err) => {
          console.error('room: refresh failed', err);
          c.send(errorFrame('internal', 'Internal error'));
        });
        return;
      case 'ack':
        return this.#ack(c, m.received);
      case 'dm': {
        const refusal = this.#rates.admit(c.rates, 1);
        if (refusal) {
          c.send(rateLimited(refusal, m.id));
          return this.#guard.afterPublish(c);
        }
        return this.#presence.direct(c, m, binary);
      }
    }
  }

  /** A receipt: not a publish, so it counted against the frame rate only. */
  #ack(c: Connection, received: number): void {
    const refused = c.ack(received);
    if (refused) c.send(errorFrame('bad_message', `Invalid ack: received: ${refused}`));
  }

  #reply(m: HttpMessage, client: string | undefined, grant: Grant | undefined): ServerMessage | null {
    switch (m.type) {
      case 'push':
        // HTTP callers scope their message IDs by their token's user, or else by a
        // value of their choosing; the prefixes keep them apart from each other and
        // from every socket's (socket scopes never start with these).
        return (
          this.#push(
            m,
            false,
            grant?.user,
            grant ? `user:${grant.user}` : `http:${client ?? ''}`,
            undefined,
            grant?.user,
          )[0] ?? null
        );
      case 'get':
        // One page of at most a replay frame's size: `more: true` when values follow.
        return m.seq === null
          ? null
          : (JSON.parse(
              replayPage(
                this.#store,
                m.key,
                m.seq ?? 0,
                this.#store.resetsFrom(m.key, m.seq ?? 0),
                Math.min(this.#limits.maxMessageBytes, REPLAY_FRAME_BYTES),
              ),
            ) as ServerMessage);
      case 'ping':
        return { type: 'pong', nonce: m.nonce ?? null };
    }
  }

  // ---- publishing ----------------------------------------------------------

  /**
   * Applies a push and delivers it. Returns the replies for the sender, in
   * order after its own echo: `ack` (for a push with an ID), then `stream_size`.
   * `scope` is whose message IDs the push's `id` is among; a counted push
   * (`n`, `origin`) is deduplicated by its origin instead, which `user` (the
   * token's, if any) confines to one user.
   */
  #push(
    m: PushIn,
    binary: boolean,
    client: string | undefined,
    scope: string,
    rates: SocketRates | undefined,
    user: string | undefined,
  ): ServerMessage[] {
    // The schema lets n and origin come only together, and with an id.
    const counted =
      m.n === undefined || m.origin === undefined ? undefined : { origin: originScopeOf(m.origin, user), n: m.n };
    const msgKey = m.id === undefined || counted ? undefined : `${scope}|${m.id}`;
    let unseen: Unseen | undefined;
    if (counted && m.id !== undefined) {
      const seen = this.#store.seenCounted(counted);
      if (seen === 'expired') {
        return [
          errorFrame(
            'expired',
            `Push n=${counted.n} is ${ORIGIN_WINDOW} or more below the highest n of its origin (ORIGIN_WINDOW): it may have been applied, so it is not applied now`,
            { id: m.id, key: m.key },
          ),
        ];
      }
      if (seen.applied) return [{ type: 'ack', id: m.id, seq: seen.seq, duplicate: true }];
      unseen = seen;
    } else if (msgKey !== undefined && m.id !== undefined) {
      const seen = this.#store.seqOfMessage(msgKey);
      if (seen !== undefined) return [{ type: 'ack', id: m.id, seq: seen, duplicate: true }];
    }
    // Before the room's budgets: a refused value costs other clients nothing.
    const invalid = this.#subjects?.problem(m.key, m.value);
    if (invalid !== undefined) {
      return [
        errorFrame('invalid_value', `Invalid value for ${m.key}: ${invalid}`, {
          key: m.key,
          ...(m.id === undefined ? {} : { id: m.id }),
        }),
      ];
    }
    // Refused before anything is applied or remembered, so a resend with the same ID applies once.
    const refusal = this.#rates.admit(rates, m.action.type === 'compact' ? 0 : this.#conns.audience(m.key));
    if (refusal) return [rateLimited(refusal, m.id, m.key)];
    const hasBytes = binary && containsBytes(m.value);
    let applied: ReturnType<Store['apply']>;
    try {
      applied = this.#store.apply(m.key, m.action, storable(m, hasBytes), client, msgKey, unseen);
    } catch (err) {
      if (!(err instanceof RejectedPush)) throw err;
      return [errorFrame(err.code, err.message, { key: m.key, ...(m.id === undefined ? {} : { id: m.id }) })];
    }
    this.#retention.touch();
    if (m.action.type !== 'compact') {
      const out: PushOut = { type: 'push', key: m.key, value: m.value, seq: applied.seq };
      if (client !== undefined) out.client = client;
      this.#conns.broadcast(m.key, new Outgoing(out, hasBytes));
      for (const gone of this.#conns.takeExpired()) this.#guard.expire(gone);
      if (this.#links.active) {
        const act = m.action.type;
        this.#links.add({ t: 'push', out, bytes: hasBytes, act, floor: this.#store.subject(m.key).floor });
      }
    } else if (this.#links.active) this.#links.add({ t: 'compact', key: m.key, seq: applied.seq });
    const replies: ServerMessage[] = [];
    if (m.id !== undefined) replies.push({ type: 'ack', id: m.id, seq: applied.seq });
    if (applied.size > 1) replies.push({ type: 'stream_size', key: m.key, size: applied.size });
    return replies;
  }

  // ---- subscriptions and replay --------------------------------------------

  #subscribe(c: Connection, m: Extract<ClientMessage, { type: 'sub' }>): void {
    if (!c.subs.has(m.key) && c.subs.size >= this.#limits.maxSubscriptions) {
      return c.send(
        errorFrame(
          'too_many_subscriptions',
          `A socket may hold ${this.#limits.maxSubscriptions} subscriptions (maxSubscriptions)`,
          { key: m.key },
        ),
      );
    }
    if (!c.subs.has(m.key) && !this.#store.admits(m.key)) {
      return c.send(errorFrame('too_many_subjects', tooManySubjects(this.#limits.maxSubjects), { key: m.key }));
    }
    this.#conns.subscribe(c, m.key);
    if (m.replay === false) return;
    if (m.seq === undefined && m.last !== undefined) {
      return c.sendStream(initFrames(m.key, this.#store.lastEntries(m.key, m.last), this.#replayOptions(c, false)));
    }
    const after = m.seq ?? 0;
    // A replay with a silent gap is worse than none, so the client gets the whole
    // current state, flagged: when values after its checkpoint were folded into a
    // compaction snapshot, or when what it holds was wiped by retention.
    const reset = after > 0 && (after < this.#store.subject(m.key).floor || after <= this.#store.wipeFloor);
    this.#replay(c, m.key, reset ? 0 : after, reset);
  }

  #replay(c: Connection, key: string, after: number, reset: boolean): void {
    c.sendStream(pagedInitFrames(this.#store, key, after, this.#replayOptions(c, reset)));
  }

  #replayOptions(c: Connection, reset: boolean) {
    return {
      cbor: c.a.cbor,
      extended: c.extended,
      reset,
      maxBytes: Math.min(this.#limits.maxMessageBytes, REPLAY_FRAME_BYTES),
    };
  }
}

/**
 * Whose message IDs a socket's publishes share: its client ID, or with a token
 * its user and device (one user's tabs each have their own); a DriftDB socket's
 * connection ID. Derived IDs and connection IDs never hold `:`.
 */
export function scopeOf(c: Connection): string {
  if (c.a.grant) return `sock:${c.a.grant.user}:${c.a.device ?? c.a.conn}`;
  return c.a.client ?? c.a.conn;
}

function rateLimited(r: Refusal, id: string | undefined, key?: string): ServerMessage {
  return errorFrame('rate_limited', r.message, {
    ...(id === undefined ? {} : { id }),
    ...(key === undefined ? {} : { key }),
    retryAfter: r.retryAfter,
  });
}

/** Frames that write to SQLite go through the group commit. */
function writes(m: ClientMessage): boolean {
  if (m.type === 'push') return m.action.type !== 'relay' || m.id !== undefined || m.n !== undefined;
  return m.type === 'sub' || m.type === 'unsub';
}

/** The stored form of a push's value. Relays store nothing. */
function storable(m: PushIn, hasBytes: boolean): StoredValue {
  if (m.action.type === 'relay') return '';
  if (!hasBytes) return JSON.stringify(m.value);
  const bytes = toCbor(m.value);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
