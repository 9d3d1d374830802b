/**
 * A `ws` constructor that watches one client's publishes on the wire: how
 * many times each went out (once per socket it was sent on) and whether its
 * ack has arrived. Acks are seen here before the client resolves the
 * publish's promise, so a test can tell at any moment which writes are
 * unacknowledged, and afterwards a resent write from one whose ack was late.
 *
 * `loseAcks()` makes the sockets open now drop every ack they receive from
 * then on, before the client sees it: what happens to the acks of writes a
 * server had committed but not yet sent when it died. A crash loses them only
 * in a window of microseconds, so a test that needs such writes makes them.
 */
import WebSocket from 'ws';

type Message = { type: string; id?: string };

export interface Wire {
  /** For `connect`'s `WebSocket` option. */
  WebSocket: new (
    url: string,
    protocols?: string[],
  ) => WebSocket;
  /** name(value) → sockets the push went out on (shared between wires). */
  sent: Map<string, number>;
  /** Names whose ack reached the client (shared between wires). */
  acked: Set<string>;
  /** Names whose ack `loseAcks` dropped. */
  lost: Set<string>;
  loseAcks(): void;
}

export function wire(name: (value: unknown) => string, shared: Pick<Wire, 'sent' | 'acked'>): Wire {
  const { sent, acked } = shared;
  const lost = new Set<string>();
  const names = new Map<string, string>();
  const sockets: WebSocket[] = [];
  const lossy = new Set<WebSocket>();
  const attribute = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage')!;
  class Watched extends WebSocket {
    constructor(url: string, protocols?: string[]) {
      super(url, protocols);
      sockets.push(this);
      const send = this.send.bind(this) as (data: unknown, ...rest: unknown[]) => void;
      (this as { send: unknown }).send = (data: unknown, ...rest: unknown[]) => {
        if (typeof data === 'string' && data.startsWith('{"type":"push"')) {
          const push = JSON.parse(data) as { id: string; value: unknown };
          const key = name(push.value);
          names.set(push.id, key);
          sent.set(key, (sent.get(key) ?? 0) + 1);
        }
        send(data, ...rest);
      };
      // The client's handler, wrapped: it sees the frame without the acks this socket loses.
      Object.defineProperty(this, 'onmessage', {
        get: () => attribute.get!.call(this),
        set: (handler: unknown) => {
          if (typeof handler !== 'function') return attribute.set!.call(this, handler);
          attribute.set!.call(this, (event: { data: unknown }) => {
            if (typeof event.data !== 'string') return handler(event);
            const messages = [JSON.parse(event.data) as Message | Message[]].flat();
            const kept = messages.filter((m) => {
              const key = m.type === 'ack' && m.id !== undefined ? names.get(m.id) : undefined;
              if (key === undefined) return true;
              if (lossy.has(this)) return void lost.add(key);
              acked.add(key);
              return true;
            });
            if (kept.length) handler({ data: kept.length === messages.length ? event.data : JSON.stringify(kept) });
          });
        },
      });
    }
  }
  return {
    WebSocket: Watched,
    sent,
    acked,
    lost,
    loseAcks() {
      for (const socket of sockets) if (socket.readyState === WebSocket.OPEN) lossy.add(socket);
    },
  };
}
