/**
 * A leaf of a fanned-out room (docs/hot-rooms.md): a Durable Object that holds
 * some of the room's sockets. The room's own object (the root, worker/room.ts)
 * stays the only sequencer and store; a leaf checks its sockets' frames
 * (schema, frame rate, publish rate, token rights), forwards their pushes to
 * the root once per turn, and delivers the root's batches to its sockets with
 * the same subject filtering and frame batching as a room of one object.
 *
 * Order: the root numbers its batches; a leaf applies them strictly in that
 * order, and one that finds a number missing fetches the missing batches from
 * the root before it delivers anything newer. Its position (the last batch and
 * seq applied) is stored, so a leaf that was evicted or hibernated knows on
 * waking what it still needs.
 */
import { DurableObject } from 'cloudflare:workers';
import { CLOSE_CODES, type Limits } from '../protocol/limits.ts';
import type { ClientMessage, ServerMessage } from '../protocol/messages.ts';
import { forbidden } from './access.ts';
import { AlarmClock } from './alarm-clock.ts';
import { AUTO_PONG } from './backlog.ts';
import { toCbor, toJson } from './codec.ts';
import { limitsFrom } from './config.ts';
import { Connections, Outgoing, type Connection, type Frame } from './connections.ts';
import { Guard } from './guard.ts';
import { leavesOf } from './fanout.ts';
import { LEAVES_HEADER } from './fanout-switch.ts';
import { connIdOn, LeafDirect } from './leaf-direct.ts';
import { acceptUpgrade } from './accept.ts';
import { LeafHello } from './leaf-hello.ts';
import { LeafPresence, type MemberChange } from './leaf-presence.ts';
import { LeafOutbox } from './leaf-outbox.ts';
import { LeafSubjects } from './leaf-subjects.ts';
import { CONFIG_HEADER, misbuilt, roomFingerprint } from './options.ts';
import type { LinkReply } from './leaf-links.ts';
import { decodeBatch, type LinkBatch } from './link-batch.ts';
import { RoomRates, type Refusal } from './rate-limits.ts';
import { initFrames, REPLAY_FRAME_BYTES } from './replay.ts';
import { replayInChunks, type ReplayChunk } from './replay-chunks.ts';
import type { Revocation } from './revocations.ts';
import { scopeOf, type ForwardedPush, type Published, type ReplayQuery, type Room } from './room.ts';
import { Store, tooManySubjects } from './store.ts';
import { Sweep } from './sweep.ts';
import { TailCache } from './tail-cache.ts';
import { errorFrame, parseFrame } from './validate.ts';

/** Set by the Worker on the upgrade it forwards: the room, and this leaf's name (worker/fanout.ts). */
export const ROOM_HEADER = 'x-edgeroom-room';
export const LEAF_HEADER = 'x-edgeroom-leaf';

const PING = '{"type":"ping"}';
/** The plain class's options: none in code. */
const PLAIN = roomFingerprint({});
/**
 * A leaf left with no socket unlinks from the root after this long, so that an
 * idle leaf is not woken (and billed) for every batch. Long enough that a
 * reconnect storm finds its tail cache still there.
 */
export const UNLINK_AFTER_MS = 60_000;
const NAMES = 'CREATE TABLE IF NOT EXISTS leaf_names (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;';

/** The root's methods a leaf calls, typed by hand: RPC's mapped types refuse a push's `unknown` value. */
type RootCalls = Pick<Room, 'link' | 'unlink' | 'presence' | 'holdSubject' | 'releaseSubject'> & {
  publish(pushes: ForwardedPush[]): Promise<Published>;
  replayFor(q: ReplayQuery): Promise<ReplayChunk>;
};

interface Chain {
  epoch: number;
  n: number;
  seq: number;
}

export class RoomLeaf extends DurableObject<Env> {
  #limits: Limits;
  #store: Store;
  #conns: Connections;
  #guard: Guard;
  #hello: LeafHello;
  #presence: LeafPresence;
  #direct: LeafDirect;
  #sweep: Sweep;
  #clock: AlarmClock;
  /** Socket publish rates; the room's own budgets are the root's. */
  #rates: RoomRates;
  #cache: TailCache;
  #room: string | undefined;
  #name: string | undefined;
  /** How many leaves the room has: in its ID (`f<K>_`), or told by the Worker for a room that switched. */
  #leaves = 0;
  #rootStub: RootCalls | undefined;
  /** The last batch applied, as stored; undefined until this leaf first linked. */
  #chain: Chain | undefined;
  /** Linked (or relinked) since this instance started: on a wake the stored chain may be behind. */
  #synced = false;
  /** While a new leaf first links: frames wait for it. */
  #linking: Promise<void> | undefined;
  /** Batches and repairs, one at a time, in arrival order. */
  #queue: Promise<void> = Promise.resolve();
  #outbox: LeafOutbox;
  /** The subjects this leaf's sockets subscribe to, held at the root for maxSubjects. */
  #subjects: LeafSubjects;
  /** Deliveries made and not yet reported to the root (see deliver). */
  #deliveries = 0;
  /** What this leaf did, for tests and benchmarks (not stored). */
  readonly stats = { cacheHits: 0, rootReplays: 0, repairs: 0, resets: 0, received: 0, batches: 0, forwards: 0 };

  /** The options this class was built with, as the router names them (worker/options.ts). */
  #fingerprint: string;

  /** As Room's: createEdgeroom's subclass passes `env` overlaid with the options given in code. */
  constructor(ctx: DurableObjectState, env: Env, built: { fingerprint: string } = { fingerprint: PLAIN }) {
    super(ctx, env);
    this.#fingerprint = built.fingerprint;
    this.#limits = limitsFrom(env);
    this.#store = new Store(ctx.storage, this.#limits);
    this.#conns = new Connections(ctx.getWebSockets(), this.#store, this.#limits, (c) => this.#guard.slowConsumer(c));
    this.#guard = new Guard(this.#conns, this.#limits, env, ctx.storage.sql, (c) => this.#leave(c.ws));
    this.#presence = new LeafPresence(
      this.#conns,
      this.#limits,
      {
        report: (changes: MemberChange[]) => this.#root().presence(this.#name!, changes),
        broken: () => {
          this.#rootStub = undefined;
          // An unlinked leaf has no member left to tell of; its next socket links afresh anyway.
          this.#serial(() => (this.#chain ? this.#sync(true) : undefined)).catch(() => {});
        },
        relink: () => this.#serial(() => (this.#presence.knowsRoom ? undefined : this.#sync(true))),
      },
      this.#store,
    );
    this.#hello = new LeafHello(this.#conns, this.#presence, (c) => this.#leave(c.ws));
    // A failed call breaks its stub: the next one opens another.
    const broken = (err: unknown): never => {
      this.#rootStub = undefined;
      throw err;
    };
    this.#subjects = new LeafSubjects(
      () => ({
        hold: (key) => this.#root().holdSubject(this.#name!, key).catch(broken),
        release: (key) => this.#root().releaseSubject(this.#name!, key).catch(broken),
      }),
      (key) => this.#conns.subscribed(key),
    );
    this.#direct = new LeafDirect(this.#conns, env.LEAVES);
    this.#outbox = new LeafOutbox(this.#conns, {
      publish: (pushes) => {
        this.stats.forwards++;
        return this.#root().publish(pushes);
      },
      broken: () => {
        this.#rootStub = undefined;
      },
      position: () => this.#chain,
    });
    this.#clock = new AlarmClock(ctx.storage, undefined);
    this.#sweep = new Sweep(ctx, this.#conns, this.#clock, this.#limits.halfOpenSeconds);
    this.#rates = new RoomRates({
      ...this.#limits,
      roomPublishesPerSecond: Number.MAX_SAFE_INTEGER,
      roomDeliveriesPerSecond: Number.MAX_SAFE_INTEGER,
    });
    ctx.storage.sql.exec(NAMES);
    for (const row of ctx.storage.sql.exec<{ name: string; value: string }>('SELECT * FROM leaf_names')) {
      if (row.name === 'room') this.#room = row.value;
      if (row.name === 'leaf') this.#name = row.value;
      if (row.name === 'leaves') this.#leaves = Number(row.value);
    }
    // A leaf that stored its names before rooms could switch: its room's ID says K.
    if (!this.#leaves && this.#room) this.#leaves = leavesOf(this.#room);
    const epoch = this.#store.meta('link_epoch');
    if (epoch) this.#chain = { epoch, n: this.#store.meta('link_n'), seq: this.#store.meta('link_seq') };
    this.#cache = new TailCache(this.#chain?.seq ?? 0);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, AUTO_PONG));
  }

  /** The WebSocket upgrade, forwarded by the Worker to the leaf this client lands on. */
  override async fetch(request: Request): Promise<Response> {
    const wrong = misbuilt(request.headers.get(CONFIG_HEADER), this.#fingerprint, 'RoomLeaf');
    if (wrong) return new Response(wrong, { status: 500 });
    this.#remember(
      request.headers.get(ROOM_HEADER),
      request.headers.get(LEAF_HEADER),
      request.headers.get(LEAVES_HEADER),
    );
    const { server, added, early, response } = acceptUpgrade(
      this.ctx,
      request,
      this.#guard,
      this.#conns,
      connIdOn(this.#index),
    );
    if (added) this.#clock.set('unlink', undefined);
    // A new leaf links before it handles any frame (see #firstLink); a client sends
    // its hello and subs right behind the upgrade, so they wait for it, in order.
    if (added && !this.#chain) {
      try {
        await this.#firstLink();
      } catch (err) {
        console.error('leaf: could not link to the room', err);
        this.#leave(server);
        server.close(1011, 'room unavailable: reconnect');
      }
    }
    // The upgrade's early frames (worker/early.ts), as the socket's first, once the leaf is linked.
    for (const frame of early) void this.webSocketMessage(server, frame);
    return response;
  }

  override async webSocketMessage(ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    // Frames wait for a first link in arrival order: each awaits the same promise.
    if (this.#linking) await this.#linking.catch(() => {});
    const c = this.#conns.get(ws);
    if (!c || c.closing) return;
    c.lastSeen = Date.now();
    if (!this.#guard.admitFrame(c)) return;
    const inbound = parseFrame(frame, this.#limits);
    if (!inbound.ok) return c.send(inbound.error);
    try {
      this.#handle(c, inbound.message, inbound.binary);
    } catch (err) {
      console.error('leaf: message handler failed', err);
      c.send(errorFrame('internal', 'Internal error'));
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.#leave(ws);
    try {
      ws.close(code, reason);
    } catch {
      // Already answered, or a code that cannot be echoed (1005/1006).
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#leave(ws);
  }

  override async alarm(): Promise<void> {
    this.#clock.fired();
    for (const c of this.#sweep.run()) {
      c.close(CLOSE_CODES.silent, `no frame or ping for ${this.#limits.halfOpenSeconds} s`);
      this.#leave(c.ws);
    }
    if (this.#conns.size === 0 && this.#chain) await this.#serial(() => this.#unlink());
  }

  /**
   * No socket left: the root stops sending, and the leaf forgets its chain, so
   * its next socket links afresh. One that arrived while the root was being
   * told relinks at once with the chain it has, and the ring fills the gap.
   */
  async #unlink(): Promise<void> {
    if (this.#conns.size > 0 || !this.#chain) return;
    await this.#root().unlink(this.#name!);
    if (this.#conns.size > 0) return this.#sync(true);
    this.#chain = undefined;
    this.#synced = false;
    this.#presence.forget();
    for (const name of ['link_epoch', 'link_n', 'link_seq']) this.#store.setMeta(name, 0);
    this.#cache.reset(0);
  }

  // ---- from the root ----------------------------------------------------------

  /**
   * A leaf with no chain yet must learn where the room's order stands (the seq
   * in its welcomes, where its replays stop) before it handles a frame. Later
   * wakes need no call: the chain is stored, and a batch repairs it if needed.
   */
  #firstLink(): Promise<void> {
    this.#linking ??= this.#serial(() => this.#sync(false)).finally(() => {
      this.#linking = undefined;
    });
    return this.#linking;
  }

  /**
   * One batch from the root, applied in the chain's order (after any repair).
   * Returns the deliveries made since the last answer (repairs' too), which the
   * root charges to the room's delivery budget.
   */
  async deliver(bytes: Uint8Array): Promise<number> {
    this.stats.received++;
    const batch = decodeBatch(bytes);
    await this.#serial(() => this.#take(batch));
    const made = this.#deliveries;
    this.#deliveries = 0;
    return made;
  }

  /** The root's nudge after a failed call: fetch what was missed now, not at the next batch. */
  async catchUp(epoch: number, n: number): Promise<void> {
    await this.#serial(async () => {
      if (this.#chain && (epoch !== this.#chain.epoch || n > this.#chain.n)) await this.#sync(true);
    });
  }

  /** `GET /room/:id/stats`: this leaf's counters since it started (not stored), and its sockets now. */
  async counters(): Promise<RoomLeaf['stats'] & { sockets: number }> {
    return { ...this.stats, sockets: this.#conns.size };
  }

  /** A dm from a socket on another leaf of this room: false when no socket here has that connection ID. */
  async direct(to: string, from: string, value: unknown, hasBytes: boolean): Promise<boolean> {
    return this.#direct.deliver(to, from, value, hasBytes);
  }

  /** A revocation recorded at the root: this leaf's sockets it reaches go too (4102). */
  async revoke(r: Revocation): Promise<number> {
    return this.#guard.revoke(r);
  }

  async #take(batch: LinkBatch): Promise<void> {
    // Sent before the root heard this leaf unlink: nobody here to deliver it to.
    if (!this.#chain) return;
    const chain = this.#chain;
    if (!this.#synced || !chain || batch.epoch !== chain.epoch || batch.n > chain.n + 1) await this.#sync(true);
    const now = this.#chain!;
    // Applied already, by the repair that fetched it.
    if (batch.epoch !== now.epoch || batch.n <= now.n) return;
    this.#apply(batch);
  }

  /**
   * Links to the root with the last batch applied, and applies what it missed,
   * in order. When the root can no longer give it (its ring was passed, or it
   * restarted after storing values this leaf never saw), every socket here is
   * closed with 4005 to reconnect and resume from its own seq.
   */
  async #sync(repair: boolean): Promise<void> {
    if (this.#synced && !repair) return;
    const have = this.#chain;
    const holding = this.#subjects.holding(this.#store.subscriptions().map((s) => s.key));
    const reply: LinkReply = await this.#root().link(
      this.#name!,
      have,
      this.#presence.members(),
      this.#presence.knowsRoom,
      holding,
    );
    if (repair) this.stats.repairs++;
    this.#synced = true;
    if (have && reply.missed === undefined) return this.#reset(reply);
    if (!have || have.epoch !== reply.epoch) {
      // The cache can vouch only for what comes after this: a new leaf saw nothing before, and
      // after the root restarted a compaction between the two incarnations would go unseen.
      this.#cache.reset(reply.seq);
    }
    if (!have) {
      this.#presence.relinked(reply);
      return this.#save({ epoch: reply.epoch, n: reply.n, seq: reply.seq });
    }
    if (have.epoch !== reply.epoch) this.#chain = { epoch: reply.epoch, n: 0, seq: have.seq };
    for (const bytes of reply.missed!) {
      const batch = decodeBatch(bytes);
      if (batch.n === this.#chain!.n + 1) this.#apply(batch);
    }
    // The ring no longer held all of this epoch's batches.
    if (this.#chain!.n < reply.n) return this.#reset(reply);
    this.#presence.relinked(reply);
    this.#save(this.#chain!);
  }

  #reset(reply: LinkReply): void {
    this.stats.resets++;
    console.error('leaf: lost the room order; its sockets reconnect and resume');
    for (const c of [...this.#conns.all()]) {
      c.closing = true;
      c.close(CLOSE_CODES.relink, 'the room restarted: reconnect and resume');
      this.#leave(c.ws);
    }
    this.#cache.reset(reply.seq);
    this.#outbox.clear();
    // What its members were told no longer matters (they are gone); new ones start from the root's roster.
    this.#presence.forget();
    this.#presence.relinked(reply);
    this.#save({ epoch: reply.epoch, n: reply.n, seq: reply.seq });
  }

  #apply(batch: LinkBatch): void {
    this.stats.batches++;
    let seq = this.#chain!.seq;
    for (const item of batch.items) {
      if (item.t === 'push') {
        seq = Math.max(seq, item.out.seq);
        // Counted as a room of one object counts a publish's cost: its audience.
        this.#deliveries += this.#conns.audience(item.out.key);
        this.#conns.broadcast(item.out.key, new Outgoing(item.out, item.bytes));
        for (const gone of this.#conns.takeExpired()) this.#guard.expire(gone);
      } else if (item.t === 'presence') {
        this.#presence.apply(item);
        continue;
      } else if (item.t === 'wipe') {
        for (const c of [...this.#conns.all()]) {
          c.closing = true;
          c.close(CLOSE_CODES.roomExpired, 'room data expired');
          this.#leave(c.ws);
        }
        this.#presence.wiped();
      }
      this.#cache.apply(item, seq);
    }
    this.#save({ epoch: batch.epoch, n: batch.n, seq });
    this.#outbox.release();
  }

  #save(chain: Chain): void {
    this.#chain = chain;
    this.#store.setMeta('link_epoch', chain.epoch);
    this.#store.setMeta('link_n', chain.n);
    this.#store.setMeta('link_seq', chain.seq);
  }

  // ---- from the sockets -------------------------------------------------------

  #handle(c: Connection, m: ClientMessage, binary: boolean): void {
    const denied = forbidden(c.a.grant, m);
    if (denied !== undefined) {
      const key = 'key' in m ? { key: m.key } : {};
      c.send(errorFrame('forbidden', denied, { ...('id' in m && m.id !== undefined ? { id: m.id } : {}), ...key }));
      if (m.type !== 'hello') return;
      m = { ...m, presence: undefined };
    }
    switch (m.type) {
      case 'push': {
        const refusal = this.#rates.admit(c.rates, 0);
        if (refusal) {
          c.send(rateLimited(refusal, m.id, m.key));
          return this.#guard.afterPublish(c);
        }
        return this.#outbox.forward(c, { m, binary, client: c.a.client, scope: scopeOf(c), user: c.a.grant?.user });
      }
      case 'get':
        if (m.seq !== null) this.#replay(c, m.key, m.seq ?? 0, undefined, false);
        return;
      case 'ping':
        return c.send({ type: 'pong', nonce: m.nonce ?? null });
      case 'hello':
        this.#hello.hello(c, m, this.#chain?.seq ?? 0);
        return this.#sweep.schedule();
      case 'sub':
        if (!c.subs.has(m.key) && c.subs.size >= this.#limits.maxSubscriptions) {
          return c.send(
            errorFrame(
              'too_many_subscriptions',
              `A socket may hold ${this.#limits.maxSubscriptions} subscriptions (maxSubscriptions)`,
              { key: m.key },
            ),
          );
        }
        if (!c.subs.has(m.key) && !this.#subjects.has(m.key)) return this.#admitThenSubscribe(c, m);
        this.#conns.subscribe(c, m.key);
        if (m.replay === false) return;
        return this.#replay(c, m.key, m.seq ?? 0, m.seq === undefined ? m.last : undefined, true);
      case 'unsub':
        this.#subjects.cancel(c, m.key);
        this.#conns.unsubscribe(c, m.key);
        return this.#subjects.release(m.key);
      case 'presence':
        return this.#presence.set(c, m.state);
      case 'dm': {
        const refusal = this.#rates.admit(c.rates, 1);
        if (refusal) {
          c.send(rateLimited(refusal, m.id));
          return this.#guard.afterPublish(c);
        }
        return this.#direct.send(c, m, binary, this.#room!, this.#index, this.#leaves);
      }
      case 'auth':
        this.#guard.refresh(c, m.token).catch((err) => {
          console.error('leaf: refresh failed', err);
          c.send(errorFrame('internal', 'Internal error'));
        });
        return;
      case 'ack': {
        const refused = c.ack(m.received);
        if (refused) c.send(errorFrame('bad_message', `Invalid ack: received: ${refused}`));
        return;
      }
    }
  }

  /**
   * A subscription to a subject no socket here subscribes to yet: the root
   * admits it first (maxSubjects), as a room of one object checks its own. The
   * socket's frames are held meanwhile, so its replay and what follows keep
   * their order; the subscription starts when the answer comes, and its replay
   * goes up to the leaf's position then.
   */
  #admitThenSubscribe(c: Connection, m: Extract<ClientMessage, { type: 'sub' }>): void {
    const release = c.hold();
    const ticket = this.#subjects.ticket(c, m.key);
    this.#subjects.admit(m.key).then(
      (admitted) => {
        // Gone, or unsubscribed (or subscribed again) while it waited.
        if (!this.#subjects.current(c, m.key, ticket) || this.#conns.get(c.ws) !== c || c.closing) {
          release([].values());
          return this.#subjects.release(m.key);
        }
        if (!admitted) {
          const refusal = errorFrame('too_many_subjects', tooManySubjects(this.#limits.maxSubjects), { key: m.key });
          return release([encode(c, refusal)].values());
        }
        this.#conns.subscribe(c, m.key);
        if (m.replay === false) return release([].values());
        this.#replay(c, m.key, m.seq ?? 0, m.seq === undefined ? m.last : undefined, true, release);
      },
      (err: unknown) => {
        console.error('leaf: the room did not admit a subject', err);
        this.#rootStub = undefined;
        release(
          [
            encode(c, errorFrame('internal', `Could not subscribe to ${m.key}: subscribe again`, { key: m.key })),
          ].values(),
        );
      },
    );
  }

  /**
   * A replay for one socket, up to this leaf's position: what is newer reaches
   * the socket live, behind it. From the tail cache when it can tell (a resume),
   * else from the root, with the socket's frames held until it comes.
   */
  #replay(
    c: Connection,
    key: string,
    after: number,
    last: number | undefined,
    resets: boolean,
    held?: (frames: Iterator<Frame>, more?: boolean) => void,
  ): void {
    const o = {
      cbor: c.a.cbor,
      extended: c.extended,
      reset: false,
      maxBytes: Math.min(this.#limits.maxMessageBytes, REPLAY_FRAME_BYTES),
    };
    const cached = last === undefined && after > 0 ? this.#cache.after(key, after) : undefined;
    if (cached) {
      this.stats.cacheHits++;
      return held ? held(initFrames(key, cached, o)) : c.sendStream(initFrames(key, cached, o));
    }
    this.stats.rootReplays++;
    const release = held ?? c.hold();
    const q = { key, after, ...(last === undefined ? {} : { last }), resets, upTo: this.#chain?.seq ?? 0 };
    replayInChunks(
      (query) => this.#root().replayFor(query),
      { ...q, cbor: c.a.cbor, extended: c.extended },
      release,
      (err) => {
        console.error('leaf: replay from the room failed', err);
        this.#rootStub = undefined;
        release([encode(c, errorFrame('internal', `Could not replay ${key}: subscribe again`, { key }))].values());
      },
    );
  }

  #leave(ws: WebSocket): void {
    const c = this.#conns.get(ws);
    if (!c) return;
    this.#hello.forget(c);
    this.#presence.left(c);
    this.#conns.remove(c);
    for (const key of c.subs) this.#subjects.release(key);
    if (this.#conns.size === 0) this.#clock.set('unlink', Date.now() + UNLINK_AFTER_MS);
  }

  // ---- plumbing -----------------------------------------------------------------

  /** This leaf's number in its room: its name is `<room>#<n>` (worker/fanout.ts). */
  get #index(): number {
    return Number(this.#name?.slice(this.#name.lastIndexOf('#') + 1) ?? 0);
  }

  #root(): RootCalls {
    if (!this.#room) throw new Error('leaf: no room yet (the Worker names it on the first upgrade)');
    return (this.#rootStub ??= this.env.ROOMS.get(this.env.ROOMS.idFromName(this.#room)) as unknown as RootCalls);
  }

  #remember(room: string | null, leaf: string | null, leavesHeader: string | null): void {
    const leaves = leavesOf(room ?? '') || Number(leavesHeader);
    if (!room || !leaf || (room === this.#room && leaf === this.#name && leaves === this.#leaves)) return;
    this.#room = room;
    this.#name = leaf;
    this.#leaves = leaves;
    for (const [name, value] of [
      ['room', room],
      ['leaf', leaf],
      ['leaves', String(leaves)],
    ] as const)
      this.ctx.storage.sql.exec('INSERT OR REPLACE INTO leaf_names (name, value) VALUES (?, ?)', name, value);
  }

  /** Runs `task` after every batch and repair before it. */
  #serial(task: () => void | Promise<void>): Promise<void> {
    const run = this.#queue.then(task);
    this.#queue = run.catch((err: unknown) => {
      console.error('leaf: batch failed', err);
      // The chain is where it was: the next batch (or the root's nudge) repairs from there.
      this.#synced = false;
      this.#rootStub = undefined;
    });
    return run;
  }
}

function encode(c: Connection, m: ServerMessage): Frame {
  return c.a.cbor ? toCbor(m) : toJson(m);
}

function rateLimited(r: Refusal, id: string | undefined, key?: string): ServerMessage {
  return errorFrame('rate_limited', r.message, {
    ...(id === undefined ? {} : { id }),
    ...(key === undefined ? {} : { key }),
    retryAfter: r.retryAfter,
  });
}
