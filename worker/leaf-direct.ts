/**
 * Direct messages in a fanned-out room (docs/hot-rooms.md). A connection ID
 * starts with its leaf's number (`2.k3J…`), so a dm goes straight to the one
 * leaf that holds its recipient: one call, no root, no search. Calls to one leaf
 * go over one stub, so one sender's dms to one recipient keep their order.
 */
import type { ClientMessage } from '../protocol/messages.ts';
import { containsBytes } from './codec.ts';
import type { Connection, Connections } from './connections.ts';
import { leafName } from './fanout.ts';
import { newConnId } from './ids.ts';
import { errorFrame } from './validate.ts';

type DirectIn = Extract<ClientMessage, { type: 'dm' }>;

/** What a leaf answers another leaf's dm with; typed by hand, as RPC's types refuse an `unknown` value. */
export interface LeafCalls {
  direct(to: string, from: string, value: unknown, hasBytes: boolean): Promise<boolean>;
}

/** A new connection ID on leaf `leaf`. */
export const connIdOn = (leaf: number): string => `${leaf}.${newConnId()}`;

/** The leaf a connection ID names, if it names one of `leaves`. */
export function leafOfConn(conn: string, leaves: number): number | undefined {
  const dot = conn.indexOf('.');
  const leaf = dot > 0 && dot <= 2 ? Number(conn.slice(0, dot)) : Number.NaN;
  return Number.isInteger(leaf) && leaf >= 0 && leaf < leaves ? leaf : undefined;
}

export class LeafDirect {
  #conns: Connections;
  #namespace: DurableObjectNamespace;
  #stubs = new Map<number, LeafCalls>();

  constructor(conns: Connections, namespace: DurableObjectNamespace) {
    this.#conns = conns;
    this.#namespace = namespace;
  }

  /** A dm from one of this leaf's sockets (its rights and rate already checked). */
  send(c: Connection, m: DirectIn, binary: boolean, room: string, self: number, leaves: number): void {
    const hasBytes = binary && containsBytes(m.value);
    const id = m.id === undefined ? {} : { id: m.id };
    const notFound = () => c.send(errorFrame('no_such_connection', `No connection ${m.to} in this room`, id));
    const leaf = leafOfConn(m.to, leaves);
    if (leaf === undefined) return notFound();
    if (leaf === self) return void (this.deliver(m.to, c.a.conn, m.value, hasBytes) || notFound());
    this.#stub(room, leaf)
      .direct(m.to, c.a.conn, m.value, hasBytes)
      .then(
        (delivered) => delivered || notFound(),
        (err: unknown) => {
          console.error(`leaf: dm to leaf ${leaf} failed`, err);
          this.#stubs.delete(leaf);
          c.send(errorFrame('internal', 'The direct message could not be delivered: send it again', id));
        },
      );
  }

  /** Delivers a dm to a socket here; false when no socket here said hello with that connection ID. */
  deliver(to: string, from: string, value: unknown, hasBytes: boolean): boolean {
    const target = this.#conns.byConn(to);
    if (!target?.a.hello || target.closing) return false;
    target.send({ type: 'dm', from, value }, hasBytes);
    return true;
  }

  #stub(room: string, leaf: number): LeafCalls {
    let stub = this.#stubs.get(leaf);
    if (!stub) {
      stub = this.#namespace.get(this.#namespace.idFromName(leafName(room, leaf))) as unknown as LeafCalls;
      this.#stubs.set(leaf, stub);
    }
    return stub;
  }
}
