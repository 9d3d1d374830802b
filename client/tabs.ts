/**
 * One socket per browser: `connectShared` opens a room the way `connect` does,
 * but the tabs of one origin that open the same room share one server
 * connection. The tab holding a Web Lock (the leader) owns the real socket; the
 * others reach it over a `BroadcastChannel`. Every tab still runs the core
 * client, unchanged, over a socket-like object (`TabSocket`), so each keeps its
 * own subscriptions, checkpoints, unacknowledged publishes and reconnects: when
 * the leader goes, the next tab in the lock's queue dials, and every tab
 * resumes from its own checkpoints and resends its own publishes (same IDs: the
 * server answers a resent one as a duplicate). A separate entry point (served
 * to browsers as `/lib/tabs.js`), so the core client stays within its budget.
 * See docs/client.md, "One socket per browser".
 */
import { connect, socketUrl, type Room, type RoomAddress, type RoomOptions, type WebSocketLike } from './index.ts';

export interface SharedOptions extends RoomOptions {
  /**
   * Step down as leader when the page is hidden and another tab is attached, and
   * leave the lock's queue until it is shown again: mobile browsers suspend
   * hidden tabs, and a suspended leader starves the others. Default: on when
   * the user agent says `Mobi` (as phones and most tablets do). Pages always
   * step down on `pagehide` and `freeze`.
   */
  stepDownWhenHidden?: boolean;
}

/** A room whose socket may be another tab's. */
export interface SharedRoom extends Room {
  /** Whether this tab holds the browser's socket now (always, when running alone). */
  readonly leader: boolean;
}

/**
 * Messages on the bus. From a tab's socket (`from` is its ID): `open` (with the
 * tab's ID), `d` (a frame of the core's), `close`. From the leader: to the
 * sockets in `to`, `hub` (opened: the real socket is), `d` (a frame of the
 * server's) or `close` (a code); and `hub` alone when a leader starts, before
 * anything else it says, so that the sockets of the one before close.
 */
interface Bus {
  from?: string;
  open?: string;
  to?: (string | undefined)[];
  hub?: 1;
  d?: string;
  close?: number;
}

/** A frame's fields the leader routes by. */
interface Frame {
  type: string;
  key?: string;
  id?: string;
  more?: boolean;
  secret?: string;
  limits?: { ackEveryBytes: number };
}

const uuid = (): string => crypto.randomUUID();
/** The length of the core's message ID prefix (client/room.ts `randomId(10)`): the leader routes answers by it. */
const ID_PREFIX = 10;

/**
 * Open a room whose connection is shared by this browser's tabs. Without Web
 * Locks or `BroadcastChannel` (an insecure origin, an old browser), it is
 * `connect`: this tab runs alone. `options.WebSocket` (for example `withToken`)
 * makes the leader's real socket.
 *
 * @example
 * const room = connectShared('wss://rooms.example.com/room/abc/connect');
 * room.subscribe('chat', show);
 * badge.hidden = !room.leader;
 */
export function connectShared(address: RoomAddress, options: SharedOptions = {}): SharedRoom {
  const url = socketUrl(address);
  const nav = globalThis.navigator;
  const locks = nav?.locks;
  if (!locks || !globalThis.BroadcastChannel) return Object.assign(connect(url, options), { leader: true });
  const name = `edgeroom:${url}`;
  // IDs from randomUUID: Web Locks exist only in secure contexts, where it does too.
  const tab = uuid();
  const bus = new BroadcastChannel(name);
  /** Queued for or holding the lock: abort() leaves the queue. */
  let queued: AbortController | undefined;
  /** While leading: ends the hub and releases the lock. */
  let stop: (() => void) | undefined;
  let alone: () => boolean;
  const { stepDownWhenHidden = /Mobi/.test(nav.userAgent) } = options;

  /** A socket for the core: its frames go to the leader, which answers on the bus. */
  class TabSocket implements WebSocketLike {
    readyState = 0;
    declare onopen: (() => void) | null;
    declare onmessage: ((event: { data?: string }) => void) | null;
    declare onclose: ((event: { code?: number }) => void) | null;
    declare onerror: unknown;
    id = uuid();
    /** The core's early frames (docs/protocol.md): its hello and subs, `[1]` after `edgeroom.v1` when they fit. */
    declare early?: string;
    constructor(_: string, protocols?: string[]) {
      this.early = protocols?.[1];
      bus.addEventListener('message', this);
      this.ask();
    }
    /** Asks for a leader's socket; asked again when a leader starts. */
    ask(): void {
      bus.postMessage({ from: this.id, open: tab });
    }
    send(d: string): void {
      bus.postMessage({ from: this.id, d });
    }
    close(): void {
      if (this.end()) bus.postMessage({ from: this.id, close: 1 });
    }
    end(code?: number): boolean {
      if (this.readyState > 2) return false;
      this.readyState = 3;
      bus.removeEventListener('message', this);
      this.onclose?.({ code });
      return true;
    }
    handleEvent({ data: m }: MessageEvent<Bus>): void {
      if (!m.to) {
        // A new leader: an open socket is of the one before it (gone, maybe without a
        // word), so it closes and redials; a socket still waiting asks the new one.
        if (m.hub) this.readyState ? this.end(1006) : this.ask();
      } else if (m.to.includes(this.id)) {
        if (m.close) this.end(m.close);
        else if (!m.hub) this.onmessage?.({ data: m.d });
        else if (!this.readyState) {
          this.readyState = 1;
          // The leader dials its own socket: they reach it first, as one array of frames.
          if (this.early) this.send(decodeURIComponent(this.early.slice(6)));
          this.onopen?.();
        }
      }
    }
  }

  const join = (): void => {
    if (queued) return;
    const signal = (queued = new AbortController()).signal;
    locks
      .request(
        name,
        { signal },
        // Granted after this tab left the queue (closed at once, as React's strict mode does): let go.
        () =>
          signal.aborted ||
          new Promise<void>((release) => {
            const [end, lonely] = lead(name, url, tab, options);
            alone = lonely;
            stop = () => release(end());
          }),
      )
      .catch(() => {}); // aborted while queued
  };
  const leave = (): void => {
    queued?.abort();
    queued = undefined;
    stop?.();
    stop = undefined;
  };
  const lifecycle = ({ type }: Event): void => {
    if (type === 'pagehide' || type === 'freeze') leave();
    // Shown, or restored from the back/forward cache: back in the queue (if it left it).
    else if (type !== 'visibilitychange' || globalThis.document?.visibilityState !== 'hidden') join();
    else if (stepDownWhenHidden && !(stop && alone())) leave();
  };
  const events = ['pagehide', 'pageshow', 'freeze', 'visibilitychange'];
  for (const type of events) globalThis.addEventListener?.(type, lifecycle);
  join();

  const room = connect(url, { ...options, WebSocket: TabSocket });
  const close = room.close;
  room.close = () => {
    close();
    leave();
    for (const type of events) globalThis.removeEventListener?.(type, lifecycle);
    bus.close();
  };
  return Object.defineProperty(room, 'leader', { get: () => !!stop }) as SharedRoom;
}

/**
 * The leader's side: one real socket for every tab's `TabSocket`, routing the
 * server's frames to the sockets that asked for them. Returns its stop and
 * whether no other tab is attached.
 */
function lead(
  name: string,
  url: string,
  tab: string,
  { WebSocket: Socket = globalThis.WebSocket as never, heartbeat = 10_000, secret }: RoomOptions,
): [() => void, () => boolean] {
  const bus = new BroadcastChannel(name);
  /** Attached sockets → their tab. */
  const sockets = new Map<string, string>();
  let real: WebSocketLike | undefined;
  /** A frame of a tab's socket, for the real socket (set with it). */
  let handle: (id: string, frame: Frame) => void;
  let heard = 0;
  // The one shared secret: written by leaders only, one at a time (they hold the lock).
  try {
    secret ||= localStorage[name] ??= uuid();
  } catch {
    secret = uuid(); // storage blocked: the client ID changes with each leader
  }

  const post = (to: (string | undefined)[], m: Bus): void => bus.postMessage({ to, ...m });
  const all = () => [...sockets.keys()];

  /** The real socket is gone (or given up): every tab's socket closes with its code, and redials. */
  const drop = (code = 1006): void => {
    if (real) real.onclose = real.close() as never;
    real = undefined;
    post(all(), { close: code });
    sockets.clear();
  };

  /** Tabs' sockets open with the real one: until then, their cores send nothing. */
  const dial = (): WebSocketLike => {
    const ws = new Socket(url);
    // Who asked for each answer still to come. Null prototypes: a subject may be called `__proto__`.
    /** Per subject: sockets whose `sub` awaits its init, in send order; under '' (no subject's name), hellos awaiting their welcome. */
    const inits: Record<string, string[]> = Object.create(null);
    /** Per subject: the sockets subscribed to it (an `unsub` goes out with the last). */
    const subs: Record<string, Set<string>> = Object.create(null);
    /** Per message ID prefix (one per core): its socket. */
    const owners: Record<string, string> = Object.create(null);
    const pingers = new Set<string>();
    let got = 0;
    let acked = 0;
    let every: number | undefined;
    heard = Date.now();
    ws.onopen = () => post(all(), { hub: 1 });
    ws.onmessage = ({ data }: { data: string }) => {
      heard = Date.now();
      // The runtime's answer to the core's ping: not counted in receipts, as the room never sees it.
      if (data === '{"type":"pong","nonce":null}') {
        post([...pingers], { d: data });
        return pingers.clear();
      }
      // Receipts for the real socket, as the core sends them (the tabs' own are dropped).
      if ((got += data.length) - acked >= every!) ws.send(JSON.stringify({ type: 'ack', received: (acked = got) }));
      for (const frame of [JSON.parse(data)].flat() as Frame[]) {
        const { type, key = '', id } = frame;
        const waiting = (inits[key] ??= []);
        let to: (string | undefined)[];
        every = frame.limits?.ackEveryBytes ?? every; // from each welcome
        if (type === 'welcome' || type === 'init') to = [frame.more ? waiting[0] : waiting.shift()];
        else if (type === 'push') to = [...(subs[key] ?? [])];
        else if (id !== undefined) to = [owners[id.slice(0, ID_PREFIX)]];
        // An error naming a subject and no ID refused a `sub`: no init will come for it.
        else if (type === 'error' && frame.key !== undefined) to = [waiting.shift()];
        else to = all(); // presence, dm, errors about the connection
        post(to, { d: JSON.stringify(frame) });
      }
    };
    ws.onclose = ({ code }: { code: number }) => drop(code);

    handle = (id, frame) => {
      const { type, key = '' } = frame;
      if (type === 'ack') return; // the tab's receipt for bytes the hub sent it, not the room
      if (frame.id !== undefined) owners[frame.id.slice(0, ID_PREFIX)] = id;
      if (type === 'hello' || type === 'sub') (inits[key] ??= []).push(id);
      if (type === 'hello') {
        // Every hello says the same secret: the browser is one client whichever tab leads.
        frame.secret = secret;
      } else if (type === 'ping') pingers.add(id);
      else if (type === 'sub') (subs[key] ??= new Set()).add(id);
      else if (type === 'unsub' || type === 'close') {
        // `close`: the tab's socket closed; its subjects go with it unless another holds them.
        if (type === 'close') pingers.delete(id);
        for (const k in subs) {
          if ((type === 'close' || k === key) && subs[k]!.delete(id) && !subs[k]!.size) {
            delete subs[k];
            ws.send(JSON.stringify({ type: 'unsub', key: k }));
          }
        }
        return;
      }
      ws.send(JSON.stringify(frame));
    };
    return ws;
  };

  bus.onmessage = ({ data: m }: MessageEvent<Bus>) => {
    const id = m.from;
    if (!id) return;
    if (m.open) {
      sockets.set(id, m.open);
      if ((real ??= dial()).readyState === 1) post([id], { hub: 1 });
    } else if (sockets.has(id)) {
      // Others are of a socket this hub closed, or of a leader before it.
      if (m.close) {
        sockets.delete(id);
        handle(id, { type: 'close' });
        // A tab that gave up on a quiet socket (half-open, or the device slept) gives up on the real one too.
        if (!sockets.size || Date.now() - heard > heartbeat) drop();
        // A core's frame, or its early frames (an array: docs/protocol.md), in order.
      } else for (const frame of [JSON.parse(m.d!)].flat()) handle(id, frame);
    }
  };

  bus.postMessage({ hub: 1 });
  return [
    () => {
      drop(1001);
      bus.close();
    },
    () => ![...sockets.values()].some((owner) => owner !== tab),
  ];
}
