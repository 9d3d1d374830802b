/**
 * Tokens for private rooms, outside the core client: `withToken(getToken)`
 * makes a WebSocket constructor to pass to `connect`. Each socket it makes
 * offers the room's subprotocols (`edgeroom.v1` and its early frames) and
 * `auth.<jwt>` with the app's latest token, refreshes the token over the
 * open socket at 80% of its remaining life, and fetches a new one when the
 * server refuses it. See docs/client.md, Tokens.
 */
import type { WebSocketConstructor, WebSocketLike } from './types.ts';

/** The app's token source: a JWT, or nothing when the app has none to give (the room then closes). */
export type TokenSource = () => string | null | undefined | Promise<string | null | undefined>;

/** A constructor that takes subprotocols: the browser's, Node 22's, or the `ws` package's. */
export type ProtocolSocketConstructor = new (url: string, protocols: string[]) => WebSocketLike;

type Handler = ((event: any) => void) | null;
/** The server's error code per auth close code, 4100 to 4103 (protocol/limits.ts CLOSE_CODES). */
const ERRORS = ['unauthorized', 'token_expired', 'token_revoked', 'forbidden'];

/**
 * A WebSocket constructor for `connect(url, { WebSocket })` that carries tokens.
 * A socket is made once its token is here: the first dial calls `getToken`,
 * later dials take the latest token. Close 4100, 4101 and 4102 make the next
 * dial fetch a new token; if that dial is refused too (before the server said
 * anything), or `getToken` gives nothing, or the server closes with 4103, the
 * room closes with a `RoomError` of the code on `on('error')`. A `getToken`
 * that throws is a failed dial: the room retries with its backoff.
 *
 * @example
 * const room = connect(url, { WebSocket: withToken(() => fetch('/token').then((r) => r.text())) });
 */
export function withToken(
  getToken: TokenSource,
  {
    WebSocket: Socket = globalThis.WebSocket as unknown as ProtocolSocketConstructor,
  }: { WebSocket?: ProtocolSocketConstructor } = {},
): WebSocketConstructor {
  let token: Promise<string | null | undefined> | undefined;
  /** The last refused socket's token was replaced: one more refusal before a message stops. */
  let retried = false;
  const fetchToken = () => {
    const next = (token = Promise.resolve().then(getToken));
    // A failed fetch is forgotten, so that the next dial asks again.
    next.catch(() => token === next && (token = undefined));
    return next;
  };

  return class {
    // Declared only: the room sets every handler as soon as it makes the socket.
    declare ws?: WebSocketLike;
    /** Closed by the room: a token that comes later makes no socket. */
    declare closed?: boolean;
    declare timer?: ReturnType<typeof setTimeout>;
    declare onopen: Handler;
    declare onmessage: Handler;
    declare onclose: Handler;
    declare onerror: Handler;

    /** CONNECTING until the real socket is made. */
    get readyState() {
      return this.ws?.readyState ?? 0;
    }

    /** `protocols`: the room's (`edgeroom.v1` and its early frames), offered with the token. */
    constructor(url: string, protocols = ['edgeroom.v1']) {
      (token ??= fetchToken())
        .then((jwt) => {
          if (this.closed) return;
          if (!jwt) return this.end(4100, 'No token');
          const ws = (this.ws = new Socket(url, [...protocols, 'auth.' + jwt]));
          ws.onopen = (event: unknown) => this.onopen?.(event);
          ws.onerror = (event: unknown) => this.onerror?.(event);
          ws.onmessage = (event: unknown) => {
            // The server took the token: schedule its refresh, once.
            retried = false;
            this.timer ??= this.refresh(jwt);
            this.onmessage?.(event);
          };
          ws.onclose = ({ code, reason }: { code: number; reason?: string }) => {
            clearTimeout(this.timer);
            // 4100–4102: worth a new token, once; the room reconnects as after any drop.
            if (code > 4099 && code < 4103 && !retried) {
              retried = true;
              token = undefined;
              code = 1006;
            }
            this.end(code, reason);
          };
        })
        .catch(() => this.end(1006));
    }

    /** At 80% of the token's remaining life (at least 1 s later), send a fresh one over the open socket. */
    refresh(jwt: string): ReturnType<typeof setTimeout> {
      const { exp } = JSON.parse(atob(jwt.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')));
      const ms = (exp * 1000 - Date.now()) * 0.8;
      return (this.timer = setTimeout(
        () => {
          fetchToken()
            .then((next) => {
              if (next && this.ws?.readyState === 1) {
                this.ws.send(JSON.stringify({ type: 'auth', token: next }));
                this.refresh(next);
              }
            })
            .catch(() => {});
        },
        ms > 1000 ? Math.min(ms, 2e9) : 1000,
      ));
    }

    /** Tell the room its socket closed; a code it stops on comes with the error that says why. */
    end(code: number, message?: string): void {
      const error = ERRORS[code - 4100];
      if (error) this.onmessage?.({ data: JSON.stringify({ type: 'error', code: error, message: message || error }) });
      this.onclose?.({ code });
    }

    send(data: string): void {
      this.ws!.send(data);
    }

    close(): void {
      // A dial still waiting for its token: the next one asks again (this one may hang).
      if (!this.ws) token = undefined;
      this.closed = true;
      clearTimeout(this.timer);
      this.ws?.close();
    }
  };
}
