import { PROTOCOL_VERSION, type Limits } from '../protocol/limits.ts';
import type { Action, ClientMessageInput, Entry, Peer, ServerMessage } from '../protocol/messages.ts';
import { backoff } from './backoff.ts';
import { RoomError } from './errors.ts';
import { randomId, stableSecret } from './ids.ts';
import type {
  Listener,
  Outgoing,
  Publish,
  Room,
  RoomEvents,
  RoomOptions,
  Status,
  SubscribeOptions,
  WebSocketConstructor,
} from './types.ts';
import { roomOf, socketUrl, type RoomAddress } from './url.ts';

/** One `subscribe` call. Each keeps its own checkpoint, so listeners never see a seq twice. */
interface Subscription {
  subject: string;
  listener: Listener;
  /** Highest seq delivered (or known to be covered); undefined until the first replay completes. */
  checkpoint?: number;
  last?: number;
  /** `replay: false` before its first replay: the tail only sets the checkpoint. */
  quiet?: boolean;
  /** Between an `init` with `more` and the last one: a `reset` is announced once per replay. */
  midReplay?: boolean;
}

/** Whether `frame` is over `max` bytes of UTF-8 as JSON. Measured every time: a length shortcut cost bytes the reconnect fix needed. */
const over = (frame: unknown, max: number): boolean => new Blob([JSON.stringify(frame)]).size > max;
// Secrets in use per room ID in this process: a second connection to the same
// room from one tab, whatever its URL, must not replace the first (close code 4001).
const inUse = new Set<string>();

/**
 * Open a room and keep it open until `close()`: reconnects with jittered
 * backoff, resubscribes from each listener's checkpoint, resends
 * unacknowledged publishes (the server drops resent duplicates by ID).
 *
 * @example
 * const room = connect('wss://rooms.example.com/room/abc/connect');
 * const off = room.subscribe('chat', (e) => e.type === 'message' && show(e.value), { last: 50 });
 * await room.append('chat', { text: 'hi' });
 */
export function connect(address: RoomAddress, options: RoomOptions = {}): Room {
  const url = socketUrl(address);
  const roomId = roomOf(url);
  // `let`: `presence` changes with setPresence, `secret` after a 4001. The secret is made
  // (and kept) before the presence check below may throw: the one a later connect would make.
  // Destructured with the rest, this pays for `roster` in the size budget.
  let {
    // Browsers, Workers and Node 22+ have one (on Node 20, pass `ws`'s); without one the first dial throws.
    WebSocket: Socket = globalThis.WebSocket as unknown as WebSocketConstructor,
    queueLimit = 1000,
    minDelay = 250,
    maxDelay = 15_000,
    heartbeat = 10_000,
    random,
    roster,
    presence,
    secret = stableSecret(roomId),
    // The seam of edgeroom/offline: a Map whose set and delete also write the publish to disk.
    outbox: publishes = new Map<string, Publish>(),
  } = options;
  // The room's limits come with each welcome; nothing is published before one.
  // Until then only presence is checked: DEFAULT_LIMITS.maxPresenceBytes, copied
  // because importing that object would bundle all of it (the unit tests check
  // the copy, as they do the close codes and the delay written as literals below).
  // A server older than the publish limits sends none: the pacing is then NaN,
  // `wait > 0` never holds, and nothing waits.
  let limits = { maxPresenceBytes: 2048 } as Limits & { ackEveryBytes: number };
  /** Throws, as the server would refuse it (and an oversized hello presence once kept us waiting). */
  const checkPresence = (state: unknown): void => {
    if (over(state ?? null, limits.maxPresenceBytes)) {
      throw new RoomError('presence_too_large');
    }
  };
  checkPresence(presence);
  if (inUse.has(roomId + secret)) secret = randomId();
  inUse.add(roomId + secret);
  /** The client IDs the server gave us (one more after each 4001): `own` compares with them. */
  const ownIds = new Set<string | undefined>();
  let clientId: string | undefined;

  let status: Status = 'connecting';
  let socket: InstanceType<typeof Socket> | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let lastHeard = 0;
  /** When the ping now out was sent: its pong's round trip is the `latency` event. */
  let pinged = 0;
  let roomSeq = 0;
  let conn: string | undefined;
  const idPrefix = randomId(10);
  let idCounter = 0;
  // The server's publish bucket for this socket, mirrored so that it never has to
  // refuse a push or dm. The server takes a token when it reads the frame, which
  // may be long after we sent it (a busy room reads in batches), so the mirror
  // counts each token as taken as late as it can have been: a push's when its
  // answer (ack or error) arrives, a dm's (never answered) when sent. `due` is
  // then the time the bucket is known to be empty until (one token per
  // `interval` ms), and pushes still in flight may be taken any moment.
  let due = 0;
  let inflight = 0;
  let interval = 0;
  let slack = 0;
  let pacer: ReturnType<typeof setTimeout> | undefined;
  /** Closed with 4290: wait out the backoff, even when the browser wakes us. */
  let limited = false;

  const subscriptions = new Map<string, Set<Subscription>>();
  /** Per subject, the subscriptions whose `sub` frames await their `init`, in send order. */
  const awaiting = new Map<string, Subscription[]>();
  const values = new Map<string, { value: unknown; seq: number }>();
  const optimistic = new Map<string, { id: string; value: unknown }>();
  const dms = new Map<string, Outgoing>();
  const peers = new Map<string, Peer>();
  const handlers: Record<string, Set<(value: unknown) => void>> = {};

  const emit = <E extends keyof RoomEvents>(event: E, value: RoomEvents[E]): void =>
    handlers[event]?.forEach((handler) => handler(value));

  const setStatus = (next: Status): void => {
    if (status !== next) emit('status', (status = next));
  };

  /**
   * Frames for the socket being dialled: its hello and subs go in its upgrade (early frames,
   * docs/protocol.md) when they fit; what does not, and what comes while it opens, when it opens.
   */
  let early: ClientMessageInput[] = [];
  const send = (frame: ClientMessageInput): void => {
    socket?.readyState === 1 /* OPEN */ ? socket.send(JSON.stringify(frame)) : early.push(frame);
  };

  const remember = (subject: string, value: unknown, seq: number): void => {
    // Nothing known yet: the comparison with undefined is false.
    if (!(seq <= (values.get(subject)?.seq as number))) values.set(subject, { value, seq });
  };

  const deliver = (sub: Subscription, entry: Entry): void => {
    // The checkpoint is the resume contract: nothing at or below it again.
    // Without one yet (undefined), the comparison is false.
    if (entry.seq <= sub.checkpoint!) return;
    sub.checkpoint = entry.seq;
    sub.listener({
      type: 'message',
      subject: sub.subject,
      value: entry.value,
      seq: entry.seq,
      client: entry.client,
      own: ownIds.has(entry.client!),
    });
  };

  const request = (sub: Subscription): void => {
    const { subject, checkpoint, last, quiet } = sub;
    const queue = awaiting.get(subject) ?? [];
    awaiting.set(subject, [...queue, sub]);
    send({
      type: 'sub',
      key: subject,
      ...(checkpoint !== undefined ? { seq: checkpoint } : last || quiet ? { last: last ?? 1 } : {}),
    });
  };

  const settle = (id: string): Publish | undefined => {
    const pending = publishes.get(id);
    publishes.delete(id);
    return pending;
  };

  /** Reject a publish; a rejected `set` that is still the newest one for its subject is rolled back. */
  const fail = (id: string, error: RoomError): boolean => {
    const pending = settle(id);
    if (!pending) return false;
    // Answered (or never sent): its token is taken by now, if ever.
    inflight--;
    take();
    const { key } = pending.frame;
    if (optimistic.get(key)?.id === id) {
      optimistic.delete(key);
      const value = values.get(key)?.value;
      subscriptions.get(key)?.forEach((sub) => sub.listener({ type: 'rollback', subject: key, value, error }));
    }
    pending.reject(error);
    return true;
  };

  const transmit = (id: string, { frame }: Outgoing): void => {
    // Counted before the size check: fail() gives a push back.
    frame.type === 'dm' ? take() : inflight++;
    // The server answers an oversize frame without its ID (it does not parse
    // it), so such a publish would never settle and be resent forever.
    if (over(frame, limits.maxMessageBytes)) {
      const error = new RoomError('too_large', 'too_large', id);
      fail(id, error) || emit('error', error);
    } else send(frame);
  };

  const take = (): void => {
    due = Math.max(due, Date.now()) + interval;
  };

  /**
   * Sends what is due as the bucket allows: dms first (they cannot wait behind
   * a backlog of publishes), then publishes in order. One timer waits for the next token.
   */
  const flush = (): void => {
    clearTimeout(pacer);
    if (status !== 'open') return;
    for (const map of [dms, publishes]) {
      for (const [id, out] of map) {
        if (out.ws !== socket) {
          // Would the bucket hold a token, with one to spare, if every push in
          // flight were taken just before this frame?
          const wait = Math.max(due - Date.now(), 0) + inflight * interval - slack;
          if (wait > 0) return void (pacer = setTimeout(flush, wait));
          out.ws = socket;
          transmit(id, out);
          dms.delete(id); // the server never acknowledges a dm: done
        }
      }
    }
  };

  const receive = (message: ServerMessage): void => {
    switch (message.type) {
      case 'welcome':
        roomSeq = message.seq;
        limits = { ...limits, ...message.limits };
        due = inflight = 0; // a new socket's bucket is full
        interval = 1000 / limits.publishesPerSecond;
        slack = Math.max(limits.publishBurst - 2, 0) * interval; // the burst but one token (a burst of 1: that one)
        dms.clear(); // made offline, or not sent on the last socket: dropped
        conn = message.conn;
        ownIds.add((clientId = message.client));
        attempt = 0;
        peers.clear();
        message.peers.forEach((peer) => peers.set(peer.conn, peer));
        setStatus('open');
        // Declined (`roster: false`): no peers came, and no presence frame will.
        roster === false || emit('presence', { event: 'sync' });
        flush();
        break;
      case 'push': {
        const subs = subscriptions.get(message.key);
        // Until the server has read our hello, it treats the socket as a DriftDB
        // one and sends it every push in the room: not a resumable stream.
        if (!subs || status !== 'open') break;
        remember(message.key, message.value, message.seq);
        // A subscription still waiting for its replay gets this value in the replay.
        subs.forEach((sub) => awaiting.get(message.key)?.includes(sub) || deliver(sub, message));
        break;
      }
      case 'init': {
        const { key, data, more, reset } = message;
        const queue = awaiting.get(key);
        const sub = queue?.[0];
        if (reset && !sub?.midReplay) {
          values.delete(key);
          if (sub && subscriptions.get(key)?.has(sub)) {
            sub.checkpoint = undefined;
            sub.listener({ type: 'reset', subject: key });
          }
        }
        for (const entry of data) {
          if (subscriptions.has(key)) remember(key, entry.value, entry.seq);
          if (sub && !sub.quiet && subscriptions.get(key)?.has(sub)) deliver(sub, entry);
        }
        // Between an `init` with `more` and the last one, a reset is announced once (above).
        if (sub && !(sub.midReplay = more)) {
          queue!.shift();
          // The replay covered every stored value up to at least the welcome's
          // seq: values it left out (before a tail, before "now") are skipped on purpose.
          sub.checkpoint = Math.max(sub.checkpoint ?? 0, roomSeq, ...data.map((entry) => entry.seq));
          sub.quiet = false;
        }
        break;
      }
      case 'ack': {
        const pending = settle(message.id);
        if (!pending) break;
        inflight--;
        take();
        flush();
        const { key, value, action } = pending.frame;
        if (action.type === 'replace') {
          if (optimistic.get(key)?.id === message.id) optimistic.delete(key);
          remember(key, value, message.seq);
        }
        pending.resolve(message.seq);
        break;
      }
      case 'error': {
        const refused = publishes.get(message.id!);
        if (refused && message.code === 'rate_limited') {
          // The server's bucket was emptier than ours (a room-wide limit, shared
          // with others): send it again, same ID, once the server has a token for it.
          refused.ws = 0;
          inflight--;
          due = Math.max(due, Date.now() + (message.retryAfter ?? 0) + slack);
          flush();
          break;
        }
        const error = new RoomError(message.code, message.message, message.id);
        // Our pushes always carry an ID, so an error naming a subject without
        // one refused a `sub`: no init will come for it. (No subject: no queue.)
        if (message.id === undefined) awaiting.get(message.key!)?.shift();
        if (!fail(message.id!, error)) emit('error', error);
        break;
      }
      case 'presence':
        if (message.event === 'leave') peers.delete(message.peer.conn);
        else peers.set(message.peer.conn, message.peer);
        emit('presence', message);
        break;
      default:
        // `dm`, `members`, and frames of a newer server, which no listener is keyed by.
        emit(message.type as 'dm', message as RoomEvents['dm']);
    }
  };

  const dial = (): void => {
    retry = undefined;
    // The hello and every sub, as the upgrade's `early.` subprotocol entry (URI-encoded, `(` and
    // `)` too: header tokens): the room welcomes and replays from the accept, with no round trip.
    // The Worker routes a fanned-out room's socket by it too. Over MAX_EARLY_CHARS (4096), sent on open.
    early = [];
    send({ type: 'hello', protocol: PROTOCOL_VERSION, secret, presence, acks: true, roster });
    subscriptions.forEach((subs) => subs.forEach(request));
    const frames = `early.${encodeURIComponent(JSON.stringify(early)).replace(/[()]/g, escape)}`;
    const ws = (socket = new Socket(url, ['edgeroom.v1', ...(frames.length > 4102 ? [] : ((early = []), [frames]))]));
    // Receipts: what this socket received, and what we last said so. The room
    // closes a socket that falls too far behind (4291) and paces replays by them.
    let got = 0;
    let acked = 0;
    lastHeard = Date.now();
    ws.onerror = () => {}; // `ws` throws on an unhandled 'error'; 'close' follows it anyway
    // The room handles a socket's frames in order, early ones first, so what waited for the
    // open (subscriptions right behind the hello when they did not fit) still comes after the welcome.
    ws.onopen = () => {
      ping(); // the first latency figure at once, not a heartbeat later
      early.forEach(send);
    };
    // Frames are JSON text: the room sends binary (CBOR) only to a `?cbor=` URL.
    ws.onmessage = ({ data }: { data: string }) => {
      lastHeard = Date.now();
      // Counted as the room counts them (text length), leaving out the runtime's answer
      // to our ping, which the room never sees. `ackEveryBytes` comes with the welcome.
      if (data === '{"type":"pong","nonce":null}') emit('latency', lastHeard - pinged);
      else if ((got += data.length) - acked >= limits.ackEveryBytes) send({ type: 'ack', received: (acked = got) });
      // Under load the server batches frames into one JSON array (docs/protocol.md).
      for (const m of [JSON.parse(data)].flat()) receive(m as ServerMessage);
    };
    ws.onclose = (event: { code: number }) => drop(event.code);
  };

  const drop = (code?: number): void => {
    const ws = socket;
    if (!ws) return;
    socket = undefined;
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.close();
    awaiting.clear();
    if (status === 'closed') return;
    // 4003 (unsupported protocol) and 4100–4103 (the token: refused, expired, revoked,
    // forbidden) cannot be cured by dialing again: the room closes. The server's error
    // frame before such a close says why (withToken, client/auth.ts, adds one where the
    // server cannot, and turns the refusals a new token may cure into plain drops).
    if (code === 4003 || (code! > 4099 && code! < 4104)) return room.close();
    if (code === 4001 /* CLOSE_CODES.replaced */) {
      // Another socket (a duplicated tab) holds our secret: take a new one for good.
      inUse.delete(roomId + secret);
      inUse.add(roomId + (secret = stableSecret(roomId, true)));
    }
    // 4290: we sent frames far too fast; the server asks for a pause of at least 5 s.
    limited = code === 4290; // CLOSE_CODES.rateLimited
    retry = setTimeout(
      dial,
      (limited ? 5000 /* RATE_LIMITED_BACKOFF_MS */ : 0) + backoff(attempt++, minDelay, maxDelay, random),
    );
    // Told last: a listener that closes the room on hearing it cancels the retry just set.
    setStatus('reconnecting');
  };

  // One timer for both jobs: keep the socket busy enough that a half-open one
  // is noticed (two silent periods), and give up on a dial that never opens.
  const beat = setInterval(() => {
    if (!socket) return;
    if (Date.now() - lastHeard > 2 * heartbeat) drop();
    else ping();
  }, heartbeat);

  /** Answered by the runtime without waking the room: its round trip is the network's and the edge's. */
  function ping(): void {
    pinged = Date.now();
    send({ type: 'ping' });
  }

  const wake = (): void => {
    if (socket && Date.now() - lastHeard > heartbeat) drop();
    if (retry !== undefined && !limited && doc?.visibilityState !== 'hidden') {
      clearTimeout(retry);
      dial();
    }
  };
  const win = globalThis.window;
  const doc = globalThis.document;
  win?.addEventListener('online', wake);
  doc?.addEventListener('visibilitychange', wake);

  const nextId = (): string => idPrefix + (idCounter++).toString(36);

  const push = (key: string, value: unknown, action: Action): Promise<number> => {
    const refused = status === 'closed' ? 'closed' : publishes.size >= queueLimit && 'queue_full';
    if (refused) return Promise.reject(new RoomError(refused));
    const id = nextId();
    const frame = { type: 'push', key, value, action, id } as const;
    if (action.type === 'replace') optimistic.set(key, { id, value });
    return new Promise((resolve, reject) => {
      publishes.set(id, { frame, resolve, reject });
      flush();
    });
  };

  const room: Room = {
    get status() {
      return status;
    },
    get clientId() {
      return clientId;
    },
    get conn() {
      return conn;
    },
    peers,
    subscribe(subject, listener, { seq, last, replay }: SubscribeOptions = {}) {
      const sub: Subscription = { subject, listener: listener as Listener, checkpoint: seq };
      if (seq === undefined) {
        sub.last = last;
        sub.quiet = replay === false;
      }
      const subs = subscriptions.get(subject) ?? new Set();
      subscriptions.set(subject, subs.add(sub));
      // Dialled: after the hello (in the upgrade, or queued for the open). Not dialled: the dial sends it.
      if (socket) request(sub);
      return () => {
        if (!subs.delete(sub) || subs.size) return;
        subscriptions.delete(subject);
        values.delete(subject);
        send({ type: 'unsub', key: subject });
      };
    },
    publish: (subject, value) => push(subject, value, { type: 'relay' }),
    set: (subject, value) => push(subject, value, { type: 'replace' }),
    append: (subject, value) => push(subject, value, { type: 'append' }),
    compact: (subject, seq, value) => push(subject, value, { type: 'compact', seq }),
    get: <T>(subject: string) => (optimistic.get(subject) ?? values.get(subject))?.value as T | undefined,
    setPresence(state) {
      checkPresence(state);
      presence = state;
      send({ type: 'presence', state });
    },
    dm(to, value) {
      const id = nextId();
      dms.set(id, { frame: { type: 'dm', to, value, id } });
      flush();
      return id;
    },
    on(event, handler) {
      const set = (handlers[event] ??= new Set());
      set.add(handler as (value: unknown) => void);
      return () => void set.delete(handler as (value: unknown) => void);
    },
    close() {
      if (status === 'closed') return;
      setStatus('closed');
      clearInterval(beat);
      clearTimeout(retry);
      flush(); // clears its timer: the room is closed
      win?.removeEventListener('online', wake);
      doc?.removeEventListener('visibilitychange', wake);
      inUse.delete(roomId + secret);
      drop();
      // The rest stays as it was (peers, values), readable and soon unreachable: clearing it cost
      // the bytes that the latency event needed.
      publishes.forEach((pending) => pending.reject(new RoomError('closed')));
    },
  };
  dial();
  return room;
}
