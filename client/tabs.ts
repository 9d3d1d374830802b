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
import { randomId } from './ids.ts';
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
 * sockets in `to`, `hub` (opened), `d` (a frame of the server's) or `close` (a
 * code); and `hub` alone when a leader starts, so that sockets of the one before close.
 */
interface Bus {
  from?: string;
  open?: string;
  to?: string[];
  hub?: string;
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

/** The runtime's answer to the core's ping (never seen by the room, so not counted in receipts). */
const PONG = '{"type":"pong","nonce":null}';
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
  const name = 'edgeroom:' + url;
  const tab = randomId(8);
  const bus = new BroadcastChannel(name);
  const sockets = new Map<string, TabSocket>();
  /** Queued for or holding the lock: abort() leaves the queue. */
  let queued: AbortController | undefined;
  /** While leading: ends the hub and releases the lock. */
  let stop: (() => void) | undefined;
  let alone: () => boolean;
  const { stepDownWhenHidden = /Mobi/.test(nav.userAgent) } = options;

  class TabSocket implements WebSocketLike {
    readyState = 0;
    declare onopen: (() => void) | null;
    declare onmessage: ((event: { data?: string }) => void) | null;
    declare onclose: ((event: { code?: number }) => void) | null;
    declare onerror: unknown;
    id = randomId(8);
    hub?: string;
    constructor() {
      sockets.set(this.id, this);
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
      sockets.delete(this.id);
      this.onclose?.({ code });
      return true;
    }
  }

  bus.onmessage = ({ data: m }: MessageEvent<Bus>) => {
    if (m.to) {
      for (const id of m.to) {
        const ws = sockets.get(id);
        if (!ws) continue;
        if (m.close) ws.end(m.close);
        else if (m.hub) {
          if (ws.readyState) continue;
          ws.hub = m.hub;
          ws.readyState = 1;
          ws.onopen?.();
        } else ws.onmessage?.({ data: m.d });
      }
    } else if (m.hub) {
      // A new leader: sockets of the one before it (gone without a word) close and
      // redial; sockets still waiting ask it.
      for (const ws of sockets.values()) ws.readyState ? ws.hub !== m.hub && ws.end(1006) : ws.ask();
    }
  };

  const join = (): void => {
    if (queued) return;
    const signal = (queued = new AbortController()).signal;
    locks
      .request(name, { signal }, () => new Promise<void>((release) => {
        const [end, lonely] = lead(name, url, tab, options);
        alone = lonely;
        stop = () => {
          end();
          release();
        };
      }))
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
    // Shown, restored from the back/forward cache, or resumed: back in the queue (if it left it).
    else if (type !== 'visibilitychange' || globalThis.document.visibilityState !== 'hidden') join();
    else if (stepDownWhenHidden && !(stop && alone())) leave();
  };
  const events = ['pagehide', 'pageshow', 'freeze', 'resume', 'visibilitychange'];
  for (const type of events) globalThis.addEventListener?.(type, lifecycle);
  join();

  const room = connect(url, { ...options, WebSocket: TabSocket });
  const close = room.close;
  return Object.defineProperties(room, {
    leader: { get: () => !!stop },
    close: {
      value() {
        close();
        leave();
        for (const type of events) globalThis.removeEventListener?.(type, lifecycle);
        bus.close();
      },
    },
  }) as SharedRoom;
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
  const hub = randomId(8);
  const bus = new BroadcastChannel(name);
  /** Attached sockets → their tab. */
  const sockets = new Map<string, string>();
  let real: WebSocketLike | undefined;
  /** Frames from tabs, sent once the real socket opens. */
  let queue: string[] = [];
  let heard = 0;
  // Per real socket: who asked for each answer still to come.
  /** Sockets whose hello awaits its welcome, in send order. */
  let hellos: string[];
  /** Per subject: sockets whose `sub` awaits its init, in send order. */
  let inits: Record<string, string[]>;
  /** Per subject: the sockets subscribed to it (an `unsub` goes out with the last). */
  let subs: Record<string, Set<string>>;
  /** Per message ID prefix (one per core): its socket. */
  let owners: Record<string, string>;
  let pingers: Set<string>;
  let got: number;
  let acked: number;
  let every: number;
  // The one shared secret: written by leaders only, one at a time (they hold the lock).
  if (!secret) {
    try {
      secret = localStorage[name] ??= randomId();
    } catch {
      secret = randomId(); // storage blocked: the client ID changes with each leader
    }
  }

  const post = (to: (string | undefined)[], m: Bus): void => {
    const live = to.filter((id) => sockets.has(id!)) as string[];
    if (live.length) bus.postMessage({ to: live, ...m });
  };
  const send = (text: string): void => {
    real?.readyState === 1 ? real.send(text) : queue.push(text);
  };

  /** The real socket is gone (or given up): every tab's socket closes with its code, and redials. */
  const drop = (code = 1006): void => {
    if (real) {
      real.onopen = real.onmessage = real.onclose = null;
      real.close();
      real = undefined;
    }
    post([...sockets.keys()], { close: code });
    sockets.clear();
    queue = [];
  };

  const dial = (): WebSocketLike => {
    const ws = new Socket(url);
    heard = Date.now();
    hellos = [];
    inits = Object.create(null);
    subs = Object.create(null);
    owners = Object.create(null);
    pingers = new Set();
    got = acked = 0;
    every = Number.POSITIVE_INFINITY;
    ws.onerror = () => {};
    ws.onopen = () => {
      for (const text of queue.splice(0)) ws.send(text);
    };
    ws.onmessage = ({ data }: { data: string }) => {
      heard = Date.now();
      if (data === PONG) {
        post([...pingers], { d: data });
        return pingers.clear();
      }
      // Receipts for the real socket, as the core sends them (the tabs' own are dropped).
      if ((got += data.length) - acked >= every) ws.send(JSON.stringify({ type: 'ack', received: (acked = got) }));
      for (const frame of [JSON.parse(data)].flat() as Frame[]) {
        const { type, key = '', id } = frame;
        const waiting = (inits[key] ??= []);
        let to: (string | undefined)[];
        if (type === 'welcome') {
          every = frame.limits?.ackEveryBytes ?? every;
          to = [hellos.shift()];
        } else if (type === 'init') to = [frame.more ? waiting[0] : waiting.shift()];
        else if (type === 'push') to = [...(subs[key] ?? [])];
        else if (id !== undefined) to = [owners[id.slice(0, ID_PREFIX)]];
        // An error naming a subject and no ID refused a `sub`: no init will come for it.
        else if (type === 'error' && frame.key !== undefined) to = [waiting.shift()];
        else to = [...sockets.keys()]; // presence, dm, errors about the connection
        post(to, { d: JSON.stringify(frame) });
      }
    };
    ws.onclose = ({ code }: { code: number }) => drop(code);
    return ws;
  };

  /** A socket that closed: its subjects are unsubscribed if no other socket holds them. */
  const forget = (id: string): void => {
    sockets.delete(id);
    pingers.delete(id);
    for (const key in subs) {
      if (subs[key]!.delete(id) && !subs[key]!.size) {
        delete subs[key];
        send(JSON.stringify({ type: 'unsub', key }));
      }
    }
  };

  bus.onmessage = ({ data: m }: MessageEvent<Bus>) => {
    const id = m.from;
    if (!id) return;
    if (m.open) {
      sockets.set(id, m.open);
      real ??= dial();
      return post([id], { hub });
    }
    if (!sockets.has(id)) return; // a socket this hub closed, or one of a leader before it
    if (m.close) {
      forget(id);
      // A tab that gave up on a quiet socket (half-open, or the device slept) gives up on the real one too.
      if (!sockets.size || Date.now() - heard > heartbeat) drop();
      return;
    }
    let text = m.d!;
    const frame = JSON.parse(text) as Frame;
    const { type, key = '' } = frame;
    if (type === 'ack') return; // the tab's receipt for bytes the hub sent it, not the room
    if (frame.id !== undefined) owners[frame.id.slice(0, ID_PREFIX)] = id;
    if (type === 'hello') {
      hellos.push(id);
      // Every hello says the same secret: the browser is one client whichever tab leads.
      frame.secret = secret;
      text = JSON.stringify(frame);
    } else if (type === 'ping') pingers.add(id);
    else if (type === 'sub') {
      (inits[key] ??= []).push(id);
      (subs[key] ??= new Set()).add(id);
    } else if (type === 'unsub') {
      subs[key]?.delete(id);
      if (subs[key]?.size) return;
      delete subs[key];
    }
    send(text);
  };

  bus.postMessage({ hub });
  return [
    () => {
      drop(1001);
      bus.close();
    },
    () => ![...sockets.values()].some((owner) => owner !== tab),
  ];
}
