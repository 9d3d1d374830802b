/**
 * `hello` on a leaf of a fanned-out room. Identity works as in a room of one
 * object (the client ID is derived from the secret, or is the token's user),
 * and a newer socket of the same client replaces the older one (4001): the
 * Worker routes one client ID to one leaf (worker/fanout.ts), so both are here.
 *
 * Presence is not offered across leaves yet: the welcome's `peers` is always
 * empty, no `presence` frame is ever sent, and a hello that sets a presence
 * state is told so with `unsupported` (and still welcomed).
 */
import { CLOSE_CODES, PROTOCOL_VERSION } from '../protocol/limits.ts';
import type { ClientMessage } from '../protocol/messages.ts';
import type { Connection, Connections } from './connections.ts';
import { anonymousClientId, clientIdOf } from './identity.ts';
import { errorFrame } from './validate.ts';

type HelloIn = Extract<ClientMessage, { type: 'hello' }>;

export const PRESENCE_UNSUPPORTED = 'Presence is not available in a fanned-out room yet (docs/hot-rooms.md)';

export class LeafHello {
  #conns: Connections;
  /** The socket holding each identity (client ID and device). */
  #byIdentity = new Map<string, Connection>();

  constructor(conns: Connections) {
    this.#conns = conns;
    for (const c of conns.present()) this.#byIdentity.set(identity(c), c);
  }

  hello(c: Connection, m: HelloIn, seq: number): void {
    if (m.protocol !== PROTOCOL_VERSION) {
      c.send(errorFrame('unsupported_protocol', `This server speaks protocol ${PROTOCOL_VERSION}, not ${m.protocol}`));
      this.forget(c);
      this.#conns.remove(c);
      return c.close(CLOSE_CODES.unsupportedProtocol, 'unsupported protocol version');
    }
    if (m.presence !== undefined) c.send(errorFrame('unsupported', PRESENCE_UNSUPPORTED));
    const fromSecret = (): string => (m.secret === undefined ? anonymousClientId() : clientIdOf(m.secret));
    if (c.a.grant) c.a.device ??= fromSecret();
    c.a.client ??= fromSecret();
    const held = this.#byIdentity.get(identity(c));
    if (held && held !== c) {
      this.#conns.remove(held);
      held.close(CLOSE_CODES.replaced, 'replaced by a newer connection with the same client ID');
    }
    this.#byIdentity.set(identity(c), c);
    this.#conns.makeExplicit(c);
    c.a.hello = true;
    if (m.acks) c.a.acks = true;
    c.save();
    c.send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      conn: c.a.conn,
      client: c.a.client,
      seq,
      limits: { ...c.limits },
      ...(c.a.grant ? { exp: c.a.grant.exp } : {}),
      peers: [],
    });
  }

  /** A socket that left: its identity is free again (unless a newer socket took it). */
  forget(c: Connection): void {
    if (c.a.client !== undefined && this.#byIdentity.get(identity(c)) === c) this.#byIdentity.delete(identity(c));
  }
}

const identity = (c: Connection): string => `${c.a.client}|${c.a.device ?? ''}`;
