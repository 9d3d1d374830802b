/**
 * Calls between peers: one connection calls a method on another by connection
 * ID and gets its result or an `RpcError`. Calls, replies and notifications
 * travel as direct messages under one reserved key, so the server stamps the
 * caller (the dm's `from`) and holds no state for pending calls. A separate
 * entry point (served to browsers as `/lib/rpc.js`), so the core client stays
 * within its size budget.
 */
import type { RoomError } from './errors.ts';
import type { Room } from './types.ts';

/** JSON-RPC 2.0: the callee has no such method. */
export const METHOD_NOT_FOUND = -32601;
/** JSON-RPC 2.0: a handler refused its parameters (it throws `new RpcError(INVALID_PARAMS, …)`). */
export const INVALID_PARAMS = -32602;
/** JSON-RPC 2.0: a handler threw something other than an `RpcError`. */
export const INTERNAL_ERROR = -32603;
/** No reply within the call's timeout (decided by the caller). */
export const TIMEOUT = -32000;
/** The server knows no such connection in the room; it says so at once. */
export const NO_SUCH_CONNECTION = -32001;
/** The callee left (presence saw it go), or our own socket dropped or closed: calls do not survive reconnects. */
export const RECIPIENT_LEFT = -32002;
/** The call (or its reply) is over the room's `maxMessageBytes`. */
export const TOO_LARGE = -32003;
/** The server refused the call's dm: `rate_limited`. */
export const RATE_LIMITED = -32004;
/** The server refused the call's dm: `forbidden` (a token without the right to send dms). */
export const FORBIDDEN = -32005;

/** How a call failed. Handlers throw it to send a code of their own choosing (`INVALID_PARAMS`, or an app's). */
export class RpcError extends Error {
  declare code: number;
  declare data?: unknown;
  constructor(code: number, message = `${code}`, data?: unknown) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

/** A method the other peers may call: its result (or a promise of it) is the reply. `from` is the caller's connection ID, as the server stamped it. */
// biome-ignore lint/suspicious/noExplicitAny: each method declares the parameters it takes
export type Method = (params: any, context: { from: string }) => unknown;

export interface RpcOptions {
  /** What others may call or notify; anything else is `METHOD_NOT_FOUND`. */
  methods?: Record<string, Method>;
  /** Default timeout of a call, in ms. Default 10 s. */
  timeout?: number;
}

export interface Rpc {
  /** Call `method` on connection `to`: its result, or an `RpcError`. At most once, never retried. */
  call<T = unknown>(to: string, method: string, params?: unknown, options?: { timeout?: number }): Promise<T>;
  /** A call without a reply: nothing comes back, not even an error. */
  notify(to: string, method: string, params?: unknown): void;
  /** Stop answering and listening; pending calls reject with `RECIPIENT_LEFT`. The room stays open. */
  close(): void;
}

/** The payload under the reserved key: a call (id, method), a notification (method) or a reply (id, result or error). */
interface Envelope {
  id?: string;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}
const KEY = 'edgeroom.rpc';

interface Pending {
  to: string;
  /** The ID of the dm that carried the call: the server's error about it names it. */
  dm: string;
  timer: ReturnType<typeof setTimeout>;
  resolve(result: unknown): void;
  reject(error: RpcError): void;
}

/** Room error codes about a dm, and the call error each means. */
const REFUSALS: Record<string, number> = {
  no_such_connection: NO_SUCH_CONNECTION,
  too_large: TOO_LARGE,
  rate_limited: RATE_LIMITED,
  forbidden: FORBIDDEN,
};

/**
 * Answer calls to `methods`, and call methods on other connections in the room.
 *
 * @example
 * import { connect } from 'edgeroom'; // in a browser: /lib/edgeroom.js
 * import { rpc, RpcError, INVALID_PARAMS } from 'edgeroom/rpc'; // in a browser: /lib/rpc.js
 *
 * const room = connect({ base: location.origin, room: 'board' });
 * const peers = rpc(room, {
 *   methods: {
 *     cursor: (_params, { from }) => ({ x: 10, y: 20, askedBy: from }),
 *     add({ a, b }: { a: number; b: number }) {
 *       if (typeof a !== 'number' || typeof b !== 'number') throw new RpcError(INVALID_PARAMS, 'a and b are numbers');
 *       return a + b;
 *     },
 *   },
 * });
 * const sum = await peers.call<number>(otherConn, 'add', { a: 1, b: 2 }, { timeout: 5000 });
 */
export function rpc(room: Room, { methods = {}, timeout = 10_000 }: RpcOptions = {}): Rpc {
  const pending = new Map<string, Pending>();
  let counter = 0;
  let closed = false;

  const settle = (id: string, error?: RpcError, result?: unknown): void => {
    const call = pending.get(id);
    if (!call) return;
    pending.delete(id);
    clearTimeout(call.timer);
    error ? call.reject(error) : call.resolve(result);
  };
  /** Reject the pending calls `which` picks out. */
  const fail = (which: (call: Pending) => unknown, code: number, message: string): void =>
    pending.forEach((call, id) => which(call) && settle(id, new RpcError(code, message)));

  const send = (to: string, envelope: Envelope): string => room.dm(to, { [KEY]: envelope });

  /**
   * The latest room error: one about an oversize dm comes while `room.dm()` is
   * still sending it, before its call knows its dm's ID.
   */
  let last: RoomError | undefined;
  /** Fail a call whose dm the latest room error is about. */
  const refused = (call: Pending, id: string): void => {
    const code = last && REFUSALS[last.code];
    if (code && call.dm === last!.id) settle(id, new RpcError(code, last!.message));
  };

  const offs = [
    room.on('dm', ({ from, value }) => {
      const envelope = (value as Record<string, Envelope> | null)?.[KEY];
      if (!envelope) return;
      const { id, method, params, error } = envelope;
      if (method === undefined) {
        // A reply counts only from the connection we called: anyone else may send this ID.
        if (pending.get(id!)?.to === from) {
          settle(id!, error && new RpcError(error.code, error.message, error.data), envelope.result);
        }
        return;
      }
      new Promise((resolve) => {
        if (!Object.hasOwn(methods, method)) throw new RpcError(METHOD_NOT_FOUND, `Method not found: ${method}`);
        resolve(methods[method]!(params, { from }));
      }).then(
        (result) => id === undefined || send(from, { id, result }),
        (thrown) => {
          // Only an RpcError's message goes back: any other exception stays here.
          const { code, message, data } =
            thrown instanceof RpcError ? thrown : new RpcError(INTERNAL_ERROR, 'Internal error');
          id === undefined || send(from, { id, error: { code, message, data } });
        },
      );
    }),
    room.on('error', (error) => {
      last = error;
      pending.forEach(refused);
    }),
    room.on('presence', (event) => {
      if (event.event === 'leave') fail((call) => call.to === event.peer.conn, RECIPIENT_LEFT, 'The recipient left');
    }),
    // A new socket is a new connection ID: replies to the old one never arrive.
    room.on('status', (status) => status === 'open' || fail(Boolean, RECIPIENT_LEFT, `The room is ${status}`)),
  ];

  return {
    call: <T>(to: string, method: string, params?: unknown, options?: { timeout?: number }) =>
      new Promise<T>((resolve, reject) => {
        const id = (++counter).toString(36);
        // Nothing would hear the reply: a room not open, or this rpc closed.
        if (closed || room.status !== 'open')
          return reject(new RpcError(RECIPIENT_LEFT, closed ? 'Closed' : `The room is ${room.status}`));
        const call: Pending = {
          to,
          dm: send(to, { id, method, params }),
          timer: setTimeout(() => settle(id, new RpcError(TIMEOUT, 'Timed out')), options?.timeout ?? timeout),
          resolve: resolve as (result: unknown) => void,
          reject,
        };
        pending.set(id, call);
        refused(call, id);
      }),
    notify: (to, method, params) => void send(to, { method, params }),
    close() {
      closed = true;
      for (const off of offs) off();
      fail(Boolean, RECIPIENT_LEFT, 'Closed');
    },
  };
}
