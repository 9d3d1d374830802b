/**
 * The sockets of one room, rebuilt from the runtime after every wake.
 * Per-socket state lives in the socket attachment (at most 16 KiB), and
 * explicit subscriptions in SQLite, so hibernation loses nothing. What a
 * socket has not read yet (backlog.ts) is counted in memory only.
 */
import { ackEveryBytes, BACKLOG_HARD_FACTOR, type Limits } from '../protocol/limits.ts';
import type { Peer, ServerMessage } from '../protocol/messages.ts';
import { Backlog, frameLength } from './backlog.ts';
import { BATCH_BYTES, BatchWindows, HeldFrames, LARGE_AUDIENCE, Turns, type Batched } from './batching.ts';
import { toCbor, toJson } from './codec.ts';
import { expired, rightsOf, type Grant } from './grant.ts';
import { SocketRates } from './rate-limits.ts';
import type { Store } from './store.ts';

export interface Attachment {
  /** Server-assigned connection ID. */
  conn: string;
  /** Outbound frames in CBOR rather than JSON. */
  cbor: boolean;
  /** Said hello: an edgeroom client that may be sent extension frames and presence. */
  hello?: boolean;
  /** Sent `sub`: receives only the subjects it subscribed to. */
  explicit?: boolean;
  /** Stable client ID: from hello's secret, or the token's user. */
  client?: string;
  presence?: unknown;
  /** What the socket's token grants (absent in an open room without one). */
  grant?: Grant;
  /** With a token, the client ID its secret would give: tells one user's tabs apart. */
  device?: string;
  /** Its hello said `acks`: it sends receipts, so its backlog is bounded (maxSocketBacklogBytes). */
  acks?: boolean;
  /** Its first hello said `roster: false`: a presence member that is shown nobody (no peers, no presence frames). */
  roster?: false;
  /** In the room's roster (one of its first maxRosterPeers members): the others were told of it. */
  shown?: true;
  /** When its first hello made it a member (ms): who has waited longest for the roster, after a wake too. */
  arrived?: number;
  /** On a leaf of a fanned-out room: a member the room counts but does not show yet (worker/leaf-presence.ts). */
  waits?: true;
}

/** The room's limits as a socket sees them: with the receipt interval its welcome announces. */
export type SocketLimits = Limits & { ackEveryBytes: number };

export interface ConnectionOptions {
  /** Called when a socket that sends receipts falls past maxSocketBacklogBytes: the room closes it. */
  onSlow?: (c: Connection) => void;
  /** Accepted by this object, so every frame it was sent was counted here; false when found on a wake. */
  exact?: boolean;
  /** The room's turn counter, shared by its sockets. */
  turns?: Turns;
}

export type Frame = string | Uint8Array;

export class Connection implements Batched {
  readonly ws: WebSocket;
  readonly a: Attachment;
  /** Explicit subscriptions; empty for a socket that receives every push. */
  readonly subs = new Set<string>();
  /** The client's address, as the Worker saw it; only in memory (see PenaltyBox). */
  address?: string;
  /** When the room last heard from this socket (or saw it, on accept and on wake). */
  lastSeen = Date.now();
  /** Closed by the room (rate limit): its frames still in flight are ignored. */
  closing = false;
  /** A presence announcement held back by the presence rate; it will carry the latest state. */
  heldAnnouncement: ReturnType<typeof setTimeout> | undefined;
  /** The `members.hidden` it was last told (worker/presence-roster.ts): 0 until told otherwise. */
  hiddenTold = 0;
  /** Sent, and acknowledged by the client's receipts. */
  readonly backlog: Backlog;
  #windows: BatchWindows;
  #limits: Limits;
  #onSlow: (c: Connection) => void;
  #rates?: SocketRates;
  /** Frames held while this socket's batch window is open (see batching.ts). */
  #held: HeldFrames | null = null;
  /** Inside `unbatched`: frames go out at once. */
  #unbatched = false;
  /** A long replay in progress (or one still being fetched: a Slot), and every frame for this socket that waits behind it. */
  #behind: (Frame | Iterator<Frame> | Slot)[] = [];
  /** The length of the frames (not replays) in #behind: held in this isolate's memory. */
  #queued = 0;
  /** The replay in front waits for a receipt (see #mustWait). */
  #waiting = false;
  /** Fell too far behind: nothing more is sent to it, so its memory stops growing. */
  #dropped = false;
  /** Since when it has been more than maxSocketBacklogBytes behind (a socket that reports receipts). */
  #overSince: number | undefined;
  /** Ends the grace that began at #overSince (see #tooSlow). */
  #graceEnd: ReturnType<typeof setTimeout> | null = null;
  #turns: Turns;
  /** The turn of its last live frame, and what it held unread before that turn's first one. */
  #turn = -1;
  #beforeTurn = 0;

  constructor(
    ws: WebSocket,
    attachment: Attachment,
    windows: BatchWindows,
    limits: Limits,
    { onSlow = () => {}, exact = true, turns = new Turns() }: ConnectionOptions = {},
  ) {
    this.ws = ws;
    this.a = attachment;
    this.#windows = windows;
    this.#limits = limits;
    this.#onSlow = onSlow;
    this.#turns = turns;
    this.backlog = new Backlog(exact);
  }

  /** This socket's rate buckets, made full on its first frame (and again after a wake). */
  get rates(): SocketRates {
    return (this.#rates ??= new SocketRates(this.limits));
  }

  /** The room's limits, with the rates the socket's token names (within maxTokenRateFactor). */
  get limits(): SocketLimits {
    const merged = { ...this.#limits, ackEveryBytes: ackEveryBytes(this.#limits) };
    const own = this.a.grant?.limits;
    if (!own) return merged;
    for (const [name, value] of Object.entries(own)) {
      const key = name as keyof Limits;
      if (key in merged) merged[key] = Math.min(value, this.#limits[key] * this.#limits.maxTokenRateFactor);
    }
    return merged;
  }

  /** Used an extension, so extension frames and fields are understood. */
  get extended(): boolean {
    return !!(this.a.hello || this.a.explicit);
  }

  get peer(): Peer {
    return { conn: this.a.conn, client: this.a.client ?? this.a.conn, state: this.a.presence ?? null };
  }

  save(): void {
    this.ws.serializeAttachment(this.a);
  }

  send(message: ServerMessage, hasBytes = false): void {
    this.sendFrame(this.a.cbor ? toCbor(message) : toJson(message, hasBytes));
  }

  /**
   * Sends a pre-encoded frame, after any replay in progress. `wide` marks a
   * broadcast to a large audience: see LARGE_AUDIENCE in batching.ts.
   *
   * A socket that sends receipts and falls too far behind is a slow consumer
   * (see #tooSlow): the room closes it, and it gets nothing more. The runtime
   * would otherwise buffer for it without bound.
   */
  sendFrame(frame: Frame, wide = false): void {
    if (this.#dropped) return;
    const length = frameLength(frame);
    if (this.a.acks && this.#tooSlow(length)) return this.#drop();
    if (this.#behind.length > 0) {
      this.#behind.push(frame);
      this.#queued += length;
    } else this.#deliver(frame, wide);
  }

  /** Too slow: nothing more is sent to it, what waits for it is let go, and the room closes it. */
  #drop(): void {
    clearTimeout(this.#graceEnd);
    this.#dropped = true;
    this.#behind = [];
    this.#queued = 0;
    this.#onSlow(this);
  }

  /** What the room holds for this socket: sent and not acknowledged, held for this turn's batch, queued behind a replay. */
  #unread(): number {
    return this.backlog.unacked + (this.#held?.length ?? 0) + this.#queued;
  }

  /**
   * Whether this socket must go rather than be sent `length` more. A burst takes
   * it past the bound before the client's receipt can come back, so that alone
   * is not enough: it must have stayed past the bound for slowConsumerSeconds,
   * or have been past BACKLOG_HARD_FACTOR times the bound before this turn's
   * frames (a receipt for those cannot have come back yet). The clock is read
   * only while it is past the bound.
   */
  #tooSlow(length: number): boolean {
    const unread = this.#unread();
    const turn = this.#turns.now();
    if (turn !== this.#turn) {
      this.#turn = turn;
      this.#beforeTurn = unread;
    }
    const bound = this.#limits.maxSocketBacklogBytes;
    if (unread + length <= bound) return false;
    if (this.#beforeTurn > bound * BACKLOG_HARD_FACTOR) return true;
    const now = Date.now();
    const grace = this.#limits.slowConsumerSeconds * 1000;
    if (this.#overSince === undefined) {
      this.#overSince = now;
      // Checked again when the grace ends, whether or not anything more is sent by then:
      // a room that goes quiet must not leave a reader that stopped holding its backlog.
      this.#graceEnd = setTimeout(() => {
        if (!this.#dropped && this.ws.readyState <= 1 && this.#unread() > bound) this.#drop();
      }, grace + 1);
    }
    return now - this.#overSince > grace;
  }

  /** A receipt: the client's running total received. Returns why it is refused, if it is. */
  ack(received: number): string | undefined {
    const refused = this.backlog.ack(received);
    if (this.#unread() <= this.#limits.maxSocketBacklogBytes) {
      this.#overSince = undefined;
      clearTimeout(this.#graceEnd);
    }
    if (this.#waiting && !this.#mustWait()) {
      this.#waiting = false;
      this.#pump();
    }
    return refused;
  }

  /**
   * A replay to a socket that sends receipts goes no faster than the client
   * reads it: it waits while half the bound is unacknowledged, instead of
   * tripping the bound. The client acks every quarter of it, so it always gets
   * a receipt that lets the replay go on once the client has read that far.
   */
  #mustWait(): boolean {
    return !!this.a.acks && this.backlog.unacked >= this.#limits.maxSocketBacklogBytes / 2;
  }

  /**
   * Sends a sequence of frames (a replay) one per turn of the event loop, so
   * a long one never holds up the room; frames sent to this socket meanwhile
   * wait behind it, which keeps a subject's replay ahead of its live pushes.
   * A replay of one frame goes at once.
   */
  sendStream(frames: Iterator<Frame>): void {
    if (this.#dropped) return;
    if (this.#behind.length > 0) {
      this.#behind.push(frames);
      return;
    }
    const first = frames.next();
    if (first.done) return;
    const second = frames.next();
    this.#deliver(first.value);
    if (second.done) return;
    this.#behind.push(prepend(second.value, frames));
    setTimeout(() => this.#pump(), 0);
  }

  /**
   * Holds every frame for this socket from now on, until `release` gives the
   * frames that go first: a replay a leaf of a fanned-out room fetches from the
   * room's object (worker/leaf.ts). What the room sends meanwhile queues behind
   * it, in order, as behind a replay. With `more`, the frames go and the hold
   * stays, for the rest of a replay that comes in chunks.
   */
  hold(): (frames: Iterator<Frame>, more?: boolean) => void {
    const slot = new Slot();
    this.#behind.push(slot);
    return (frames, more = false) => {
      const at = this.#behind.indexOf(slot);
      if (at < 0) return; // dropped, or gone: nobody to send them to
      if (more) this.#behind.splice(at, 0, frames);
      else slot.frames = frames;
      if (at === 0) this.#pump();
    };
  }

  /** Sends the next frame of the replay in front, then whatever waited behind it. */
  #pump(): void {
    // A socket that went away needs the rest of its replay no more.
    if (this.ws.readyState > 1) {
      this.#behind = [];
      this.#queued = 0;
    }
    while (this.#behind.length > 0) {
      if (this.#mustWait()) {
        this.#waiting = true;
        return;
      }
      let head = this.#behind[0]!;
      if (head instanceof Slot) {
        if (!head.frames) return; // its release pumps
        head = this.#behind[0] = head.frames;
      }
      if (typeof head === 'string' || head instanceof Uint8Array) {
        this.#behind.shift();
        this.#queued -= frameLength(head);
        this.#deliver(head);
        continue;
      }
      const next = head.next();
      if (next.done) {
        this.#behind.shift();
        continue;
      }
      this.#deliver(next.value);
      setTimeout(() => this.#pump(), 0);
      return;
    }
  }

  /**
   * Runs `handle` with every frame it sends this socket going out at once, none
   * held for a batch: for a new socket's early frames, handled before its 101
   * is returned (room.ts). Nothing can join them in a batch before the socket
   * opens, and a batch window would cost a timer on every connect.
   */
  unbatched(handle: () => void): void {
    this.#unbatched = true;
    try {
      handle();
    } finally {
      this.#unbatched = false;
    }
  }

  /** Sends a frame, or holds it for this turn's batch. */
  #deliver(frame: Frame, wide = false): void {
    if (typeof frame !== 'string' || !this.a.hello || this.a.cbor || (this.#unbatched && !this.#held))
      return this.#send(frame);
    if (!this.#held) {
      this.#held = new HeldFrames();
      this.#windows.open(this);
      if (wide) this.#held.hold(frame);
      else this.#send(frame);
    } else if (frame.length >= BATCH_BYTES) {
      // A large frame (a replay) goes alone, after what is held.
      this.#send(this.#held.take());
      this.#send(frame);
    } else {
      this.#send(this.#held.hold(frame));
    }
  }

  flush(): void {
    const held = this.#held;
    this.#held = null;
    this.#send(held?.take());
  }

  /** A socket that is already gone is ignored: its close handler cleans up. */
  #send(frame: Frame | undefined): void {
    if (frame === undefined || this.#dropped) return;
    this.backlog.sent(frameLength(frame));
    try {
      this.ws.send(frame);
    } catch {
      // Closed between the runtime's close event and ours.
    }
  }

  close(code: number, reason: string): void {
    try {
      this.ws.close(code, reason);
    } catch {
      // Already closing.
    }
  }
}

/** A place in a socket's queue for frames not fetched yet (see Connection.hold). */
class Slot {
  frames: Iterator<Frame> | undefined;
}

function* prepend(first: Frame, rest: Iterator<Frame>): Generator<Frame> {
  yield first;
  for (let r = rest.next(); !r.done; r = rest.next()) yield r.value;
}

/** One message, encoded at most once per encoding however many sockets get it. */
export class Outgoing {
  #message: ServerMessage;
  #hasBytes: boolean;
  #json?: string;
  #cbor?: Uint8Array;

  constructor(message: ServerMessage, hasBytes = false) {
    this.#message = message;
    this.#hasBytes = hasBytes;
  }

  to(c: Connection, wide = false): void {
    if (c.a.cbor) c.sendFrame((this.#cbor ??= toCbor(this.#message)));
    else c.sendFrame((this.#json ??= toJson(this.#message, this.#hasBytes)), wide);
  }
}

export class Connections {
  #byWs = new Map<WebSocket, Connection>();
  #byConn = new Map<string, Connection>();
  /** Sockets with no explicit subscriptions: they receive every push (DriftDB's model). */
  #firehose = new Set<Connection>();
  #bySubject = new Map<string, Set<Connection>>();
  #windows = new BatchWindows();
  #turns = new Turns();
  #store: Store;
  #limits: Limits;
  #onSlow: ConnectionOptions['onSlow'];

  constructor(sockets: WebSocket[], store: Store, limits: Limits, onSlow?: ConnectionOptions['onSlow']) {
    this.#store = store;
    this.#limits = limits;
    this.#onSlow = onSlow;
    for (const ws of sockets) {
      const a = ws.deserializeAttachment() as Attachment | null;
      // Found on a wake: what was sent to it before is unknown here (see Backlog).
      if (a) this.#register(new Connection(ws, a, this.#windows, limits, { onSlow, exact: false, turns: this.#turns }));
    }
    // Subscriptions of sockets that died while the object was gone are dropped.
    for (const { conn, key } of store.subscriptions()) {
      const c = this.#byConn.get(conn);
      if (c) this.#index(c, key);
      else store.forgetConnection(conn);
    }
  }

  get size(): number {
    return this.#byConn.size;
  }

  add(ws: WebSocket, attachment: Attachment): Connection {
    ws.serializeAttachment(attachment);
    return this.#register(
      new Connection(ws, attachment, this.#windows, this.#limits, { onSlow: this.#onSlow, turns: this.#turns }),
    );
  }

  get(ws: WebSocket): Connection | undefined {
    return this.#byWs.get(ws);
  }

  byConn(conn: string): Connection | undefined {
    return this.#byConn.get(conn);
  }

  /** Every other connection that said hello: the audience for presence. */
  *present(except?: Connection): Iterable<Connection> {
    for (const c of this.#byConn.values()) if (c.a.hello && c !== except) yield c;
  }

  remove(c: Connection): boolean {
    if (!this.#byWs.delete(c.ws)) return false;
    this.#byConn.delete(c.a.conn);
    if (c.heldAnnouncement !== undefined) clearTimeout(c.heldAnnouncement);
    this.#firehose.delete(c);
    for (const key of c.subs) this.#unindex(c, key);
    if (c.a.explicit) this.#store.forgetConnection(c.a.conn);
    return true;
  }

  /**
   * From now on `c` receives only the subjects it subscribes to. `save: false`
   * when the caller saves the attachment itself right after (a hello).
   */
  makeExplicit(c: Connection, save = true): void {
    if (c.a.explicit) return;
    c.a.explicit = true;
    if (save) c.save();
    this.#firehose.delete(c);
  }

  /** Idempotent: subscribing twice is one subscription. Returns false if already subscribed. */
  subscribe(c: Connection, key: string): boolean {
    if (c.subs.has(key)) return false;
    this.makeExplicit(c);
    this.#store.subscribe(c.a.conn, key);
    this.#index(c, key);
    return true;
  }

  unsubscribe(c: Connection, key: string): void {
    if (!c.subs.delete(key)) return;
    this.#unindex(c, key);
    this.#store.unsubscribe(c.a.conn, key);
  }

  /** Whether any socket subscribes to `key` explicitly. */
  subscribed(key: string): boolean {
    return this.#bySubject.has(key);
  }

  /** How many sockets a push of `key` reaches: what it costs the room's delivery budget. */
  audience(key: string): number {
    return this.#firehose.size + (this.#bySubject.get(key)?.size ?? 0);
  }

  broadcast(key: string, out: Outgoing): void {
    const subscribers = this.#bySubject.get(key);
    const wide = this.#firehose.size + (subscribers?.size ?? 0) >= LARGE_AUDIENCE;
    const now = Date.now();
    for (const c of this.#firehose) if (this.#mayReceive(c, key, now)) out.to(c, wide);
    if (subscribers) for (const c of subscribers) if (this.#mayReceive(c, key, now)) out.to(c, wide);
  }

  /** Sockets whose token expired while they only listened; the room closes them (see takeExpired). */
  #expired: Connection[] = [];

  /**
   * A socket with a token receives a push only while the token lasts (one that
   * never sends would otherwise listen forever) and only for subjects it may
   * read (a DriftDB socket subscribes to nothing and gets every push).
   */
  #mayReceive(c: Connection, key: string, now: number): boolean {
    const grant = c.a.grant;
    if (!grant) return true;
    if (expired(grant, now)) {
      if (!c.closing) {
        c.closing = true;
        this.#expired.push(c);
      }
      return false;
    }
    return rightsOf(grant).canRead(key);
  }

  takeExpired(): Connection[] {
    const taken = this.#expired;
    this.#expired = [];
    return taken;
  }

  all(): Iterable<Connection> {
    return this.#byConn.values();
  }

  #register(c: Connection): Connection {
    this.#byWs.set(c.ws, c);
    this.#byConn.set(c.a.conn, c);
    if (!c.a.explicit) this.#firehose.add(c);
    return c;
  }

  #index(c: Connection, key: string): void {
    c.subs.add(key);
    let set = this.#bySubject.get(key);
    if (!set) this.#bySubject.set(key, (set = new Set()));
    set.add(c);
  }

  #unindex(c: Connection, key: string): void {
    const set = this.#bySubject.get(key);
    if (set?.delete(c) && set.size === 0) this.#bySubject.delete(key);
  }
}
