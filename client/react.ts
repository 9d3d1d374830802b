/**
 * React bindings: a provider that owns one room, and hooks over it. Every hook
 * reads through useSyncExternalStore, so a concurrent render never shows two
 * versions of one value (no tearing), and a server render shows the initial
 * values without opening anything. See docs/client.md, "React".
 */
import {
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from 'react';
import { connect, createRoom, RoomError } from './index.ts';
import type {
  Peer,
  Room,
  RoomAddress,
  RoomOptions,
  Status,
  SubjectEvent,
  SubjectValue,
  SubscribeOptions,
} from './index.ts';

/** One open room, with who listens to it (the room object itself carries them: fewer bytes). */
interface Hub extends Room {
  /**
   * Told of every change made here (a set) and of the room's status, peers and latency.
   * One set for all: a hook whose snapshot did not change costs React a comparison.
   */
  fs: Set<() => void>;
  latency?: number;
  others: Peer[];
  /** Members `others` leaves out (a roster shows the room's first maxRosterPeers): 0 again at each welcome. */
  hidden?: number;
}

const Context = createContext<Hub | null>(null);
const noop = (): void => {};
/** One empty list for every read without a room: useSyncExternalStore wants the same snapshot each time. */
const EMPTY: never[] = [];

const emit = (hub: Hub): void => hub.fs.forEach((f) => f());
const listen = (hub: Hub, f: () => void): (() => void) => (hub.fs.add(f), () => void hub.fs.delete(f));

/**
 * A write to the room; without one (a server render, a room still being created) it
 * rejects with `closed`. The caller may ignore the promise: it never reports an
 * unhandled rejection, and still rejects for whoever awaits it.
 */
const write = (hub: Hub | null, send: (room: Room) => Promise<number>): Promise<number> => {
  const done = hub ? send(hub) : Promise.reject(new RoomError('closed'));
  done.catch(noop);
  return done;
};

function open(address: RoomAddress, options: RoomOptions): Hub {
  const hub = connect(address, options) as Hub;
  hub.fs = new Set();
  hub.others = [];
  hub.on('status', () => emit(hub));
  hub.on('latency', (ms) => {
    hub.latency = ms;
    emit(hub);
  });
  hub.on('presence', (e) => {
    if (e.event === 'sync') hub.hidden = 0;
    hub.others = [...hub.peers.values()];
    emit(hub);
  });
  hub.on('members', (m) => {
    hub.hidden = m.hidden;
    emit(hub);
  });
  return hub;
}

/**
 * The room this page created, once per page load: StrictMode's second effect (or a remount)
 * waits for the first one's instead of making another. Forgotten if it failed, to try again.
 */
let created: Promise<string> | undefined;

/** A new room, its ID written into the page URL (`?param=`) so that the address bar is the link to share. */
const create = (base: string, param: string): Promise<string> => {
  created ??= createRoom(base).then(({ room }) => {
    const url = new URL(location.href);
    url.searchParams.set(param, room);
    history.replaceState(history.state, '', url);
    return room;
  });
  created.catch(() => (created = undefined));
  return created;
};

export interface RoomProviderProps {
  /** A room's socket URL (`socket_url`; http(s) or ws(s)). */
  url?: string;
  /**
   * The API base (default: this page's origin). With `room`, that room; without, the room
   * named by `?<param>=` in the page URL, or a new one whose ID the provider writes there.
   */
  base?: string;
  room?: string;
  /** The page URL's query parameter that names the room. Default `room`. */
  param?: string;
  /** For `connect`. A change of its plain (JSON) values reconnects, like a change of the others. */
  options?: RoomOptions;
  children?: ReactNode;
}

/**
 * Opens one room for the components under it, and closes it when unmounted or
 * when its props name another room. Server rendering opens nothing.
 */
export function RoomProvider({ url, base, room, param = 'room', options = {}, children }: RoomProviderProps) {
  const [hub, setHub] = useState<Hub | null>(null);
  const key = JSON.stringify([url, base, room, param, options]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for every prop it is made of (options by value).
  useEffect(() => {
    let live = true;
    let opened: Hub | undefined;
    const at = base ?? location.origin;
    // Opened a microtask later, never in the effect itself: StrictMode runs the effect, its
    // cleanup and the effect again synchronously, so only the second one opens a socket
    // (and `create` makes one room for both).
    Promise.resolve(url || room || new URLSearchParams(location.search).get(param) || create(at, param)).then((id) => {
      if (live) setHub((opened = open(url || { base: at, room: id }, options)));
    });
    return () => {
      live = false;
      opened?.close();
    };
    // `key` stands for every prop it is made of.
  }, [key]);
  return createElement(Context.Provider, { value: hub }, children);
}

/** A value of the hub (status, peers, latency), re-read at each change of any; `initial` without a room. */
function useHub<T>(read: (hub: Hub) => T, initial: T): T {
  const hub = useContext(Context);
  const subscribe = useCallback((f: () => void) => (hub ? listen(hub, f) : noop), [hub]);
  const get = (): T => (hub ? read(hub) : initial);
  return useSyncExternalStore(subscribe, get, get);
}

/** The room itself (for `dm`, `on('dm')`, …); undefined on the server and until it is opened. */
export const useRoom = (): Room | undefined => useContext(Context) ?? undefined;

/** `connecting` until the room is open; on the server too. */
export const useStatus = (): Status => useHub((hub) => hub.status, 'connecting');

/** The last ping's round trip to the edge, in ms (the room's `latency` event); undefined until the first pong. */
export const useLatency = (): number | undefined => useHub((hub) => hub.latency, undefined);

export type Updater<T> = T | ((current: T) => T);

/**
 * A key/value subject: its current value (`initial` until it has one), and a setter.
 * Sets are optimistic and rolled back if the room refuses them; a functional
 * updater computes from the current value, your own pending set included.
 */
export function useSharedState<T>(subject: string, initial: T): [T, (next: Updater<T>) => Promise<number>] {
  const hub = useContext(Context);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `initial` counts as it was when the hub or subject changed (below).
  const store = useMemo(() => {
    const get = (): T => {
      const value = hub?.get<T>(subject);
      return value === undefined ? initial : value;
    };
    return {
      get,
      subscribe: feed(hub, subject),
      set: (next: Updater<T>) =>
        write(hub, (room) => {
          const done = room.set(subject, typeof next === 'function' ? (next as (c: T) => T)(get()) : next);
          emit(hub!); // every hook of this subject sees it at once
          return done;
        }),
    };
    // `initial` as it was when the hub or subject last changed, so that each read without a value
    // returns one and the same snapshot. Without a room (a server render), `get` is `initial`.
  }, [hub, subject]);
  return [useSyncExternalStore(store.subscribe, store.get, store.get), store.set];
}

/**
 * React's subscribe function for a hook's own subscription to `subject`. If React
 * unsubscribes and subscribes again (StrictMode, a hidden Activity), it resumes from
 * its own checkpoint, so `handle` never sees an event twice. Changes are told through
 * the hub, like everything else.
 */
function feed(
  hub: Hub | null,
  subject: string,
  from?: SubscribeOptions,
  handle: (event: SubjectEvent<any>) => void = noop,
) {
  let seq: number | undefined;
  return (f: () => void): (() => void) => {
    if (!hub) return noop;
    const offHub = listen(hub, f);
    const off = hub.subscribe(
      subject,
      (event) => {
        if (event.type === 'message') seq = event.seq;
        handle(event);
        emit(hub);
      },
      // Without `from` (a key/value subject), from scratch: the client forgets a
      // subject's value when its last listener leaves, so only a replay brings it back.
      from && seq !== undefined ? { seq } : from,
    );
    return () => (offHub(), off());
  };
}

/** What the reducer's stream holds: an action (with its dispatcher's nonce) or a compacted state. */
type Entry<S, A> = { a: A; i: number } | { s: S };

/**
 * A reducer over a stream of actions: `dispatch` applies the action at once
 * (optimistic) and appends it; everyone folds the same actions in the room's
 * order, so all converge. Every `compactEvery` actions, the client whose action
 * reached the count compacts the stream into the state, so late joiners replay little.
 */
export function useSharedReducer<S, A>(
  subject: string,
  reducer: (state: S, action: A) => S,
  initial: S,
  compactEvery = 100,
): [S, (action: A) => void] {
  const hub = useContext(Context);
  // biome-ignore lint/correctness/useExhaustiveDependencies: as with useReducer, `initial` and `compactEvery` count at the first render; the latest reducer is kept below.
  const store = useMemo(() => {
    let confirmed = initial;
    let view = initial;
    let count = 0;
    /** Dispatched here and not yet seen back from the room. */
    let pending: { a: A; i: number }[] = [];
    const update = (): void => {
      view = pending.reduce((state, p) => store.reducer(state, p.a), confirmed);
    };
    const subscribe = feed(hub, subject, {}, (event: SubjectEvent<Entry<S, A>>) => {
      if (event.type === 'reset') {
        confirmed = initial;
        count = 0;
        // What the room applied of ours is in its snapshot; the rest comes back as it is applied.
        pending = [];
      } else if (event.type === 'message') {
        const entry = Object(event.value) as Entry<S, A>;
        if ('s' in entry) {
          confirmed = entry.s;
          count = 0;
        } else {
          confirmed = store.reducer(confirmed, entry.a);
          pending = pending.filter((p) => p.i !== entry.i);
          if (++count >= compactEvery && event.own) {
            count = 0;
            write(hub, (room) => room.compact(subject, event.seq, { s: confirmed }));
          }
        }
      }
      update();
    });
    const dispatch = (a: A): void => {
      const p = { a, i: Math.random() }; // a number survives JSON exactly
      const change = (): void => {
        update();
        if (hub) emit(hub);
      };
      pending = [...pending, p];
      change();
      write(hub, (room) => room.append(subject, p)).catch(() => {
        pending = pending.filter((q) => q !== p); // refused (or no room): roll back
        change();
      });
    };
    const store = { subscribe, get: () => view, dispatch, reducer };
    return store;
    // The initial state counts only at the first render, as with useReducer.
  }, [hub, subject]);
  store.reducer = reducer; // the latest one folds what comes next
  return [useSyncExternalStore(store.subscribe, store.get, store.get), store.dispatch];
}

/** `value`, `seq`, and `own` (appended from this client): the client's message event. */
export type StreamEntry<T> = Extract<SubjectEvent<T>, { type: 'message' }>;

/**
 * A stream: its last `last` entries, then every new one, in order, each once,
 * across reconnects. After a reset (compacted or wiped while away) the entries
 * start over from the room's current state.
 */
export function useStream<T>(subject: string, last = 50): [StreamEntry<T>[], (value: T) => Promise<number>] {
  const hub = useContext(Context);
  const store = useMemo(() => {
    let entries: StreamEntry<T>[] = [];
    const subscribe = feed(hub, subject, { last }, (event: SubjectEvent<T>) => {
      if (event.type === 'reset') entries = [];
      if (event.type === 'message') entries = [...entries, event];
    });
    return { subscribe, get: () => entries };
  }, [hub, subject, last]);
  const append = useCallback((value: T) => write(hub, (room) => room.append(subject, value)), [hub, subject]);
  return [useSyncExternalStore(store.subscribe, store.get, store.get), append];
}

/** Pub/sub: a function that relays a value to the subject's current subscribers. */
export function usePublish<T = unknown>(subject: string): (value: T) => Promise<number> {
  const hub = useContext(Context);
  return useCallback((value: T) => write(hub, (room) => room.publish(subject, value)), [hub, subject]);
}

/**
 * A peer's `state` is null until it announces one: a peer whose socket opened before
 * its usePresence effect ran (or that never calls setPresence) joins without a state.
 */
export type PeerOf<S> = Omit<Peer, 'state'> & { state: S | null };

/**
 * Presence: your state (announced to the room as it opens and at each change), a
 * setter, the other connections with their states, as the server reports them
 * (null for a peer that has not announced one yet), and how many members that list
 * leaves out: it shows a large room's first `maxRosterPeers` (100) members.
 */
export function usePresence<S>(initial: S): [S, (state: S) => void, PeerOf<S>[], number] {
  const hub = useContext(Context);
  const [me, setMe] = useState(initial);
  const set = useCallback(
    (state: S) => {
      hub?.setPresence(state); // throws presence_too_large, keeping the previous state
      setMe(state);
    },
    [hub],
  );
  // biome-ignore lint/correctness/useExhaustiveDependencies: announced as each room opens; later changes go through `set`.
  useEffect(() => void hub?.setPresence(me), [hub]);
  return [me, set, useHub((h) => h.others as PeerOf<S>[], EMPTY), useHub((h) => h.hidden ?? 0, 0)];
}

/**
 * The hooks typed by the server's subject schemas, as `TypedRoom` types a room:
 * a view of this module through `import type`, so no schema library (and not
 * one byte) reaches the browser. A subject no schema covers takes `unknown`.
 *
 * @example
 * import * as hooks from 'edgeroom/react';
 * import type { subjects } from '../worker/subjects.ts';
 * const { useSharedState, useStream, usePublish } = hooks as TypedHooks<typeof subjects>;
 * const [messages, append] = useStream('chat');   // entries of { text: string }
 * append({ text: 1 });                              // tsc: number is not assignable to string
 */
export type TypedHooks<M> = Omit<typeof import('./react.ts'), 'useSharedState' | 'useStream' | 'usePublish'> & {
  useSharedState<K extends string>(
    subject: K,
    initial: SubjectValue<M, K>,
  ): [SubjectValue<M, K>, (next: Updater<SubjectValue<M, K>>) => Promise<number>];
  useStream<K extends string>(
    subject: K,
    last?: number,
  ): [StreamEntry<SubjectValue<M, K>>[], (value: SubjectValue<M, K>) => Promise<number>];
  usePublish<K extends string>(subject: K): (value: SubjectValue<M, K>) => Promise<number>;
};
