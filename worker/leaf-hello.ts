/**
 * `hello` on a leaf of a fanned-out room. Identity works as in a room of one
 * object (the client ID is derived from the secret, or is the token's user),
 * and a newer socket of the same client replaces the older one (4001): the
 * Worker routes one client ID to one leaf (worker/fanout.ts), so both are here.
 * The welcome's roster and the joins, updates and leaves of presence are
 * worker/leaf-presence.ts's.
 */
import { CLOSE_CODES, PROTOCOL_VERSION } from '../protocol/limits.ts';
import type { ClientMessage } from '../protocol/messages.ts';
import type { Connection, Connections } from './connections.ts';
import { anonymousClientId, clientIdOf } from './identity.ts';
import type { LeafPresence } from './leaf-presence.ts';
import { errorFrame } from './validate.ts';

type HelloIn = Extract<ClientMessage, { type: 'hello' }>;

export class LeafHello {
  #conns: Connections;
  #presence: LeafPresence;
  /** Removes a socket as any that leaves (it leaves presence too); the leaf's own #leave. */
  #leave: (c: Connection) => void;
  /** The socket holding each identity (client ID and device). */
  #byIdentity = new Map<string, Connection>();

  constructor(conns: Connections, presence: LeafPresence, leave: (c: Connection) => void) {
    this.#conns = conns;
    this.#presence = presence;
    this.#leave = leave;
    for (const c of conns.present()) this.#byIdentity.set(identity(c), c);
  }

  hello(c: Connection, m: HelloIn, seq: number): void {
    if (m.protocol !== PROTOCOL_VERSION) {
      c.send(errorFrame('unsupported_protocol', `This server speaks protocol ${PROTOCOL_VERSION}, not ${m.protocol}`));
      this.forget(c);
      this.#conns.remove(c);
      return c.close(CLOSE_CODES.unsupportedProtocol, 'unsupported protocol version');
    }
    // An oversized presence is refused on its own: the socket is still welcomed.
    const presenceFits = m.presence === undefined || this.#presence.fits(c, m.presence);
    const fromSecret = (): string => (m.secret === undefined ? anonymousClientId() : clientIdOf(m.secret));
    if (c.a.grant) c.a.device ??= fromSecret();
    c.a.client ??= fromSecret();
    const held = this.#byIdentity.get(identity(c));
    if (held && held !== c) {
      // The old connection leaves before the new one joins, as in a room of one object.
      this.#leave(held);
      held.close(CLOSE_CODES.replaced, 'replaced by a newer connection with the same client ID');
    }
    this.#byIdentity.set(identity(c), c);
    this.#conns.makeExplicit(c, false);
    const joining = !c.a.hello;
    c.a.hello = true;
    if (m.acks) c.a.acks = true;
    // The first hello decides for the socket's life, as in a room of one object.
    if (joining && m.roster === false) c.a.roster = false;
    if (m.presence !== undefined && presenceFits) c.a.presence = m.presence;
    c.save();
    this.#presence.welcome(c, {
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      conn: c.a.conn,
      client: c.a.client,
      seq,
      limits: { ...c.limits },
      ...(c.a.grant ? { exp: c.a.grant.exp } : {}),
    });
    if (joining) this.#presence.joined(c);
    else this.#presence.updated(c);
  }

  /** A socket that left: its identity is free again (unless a newer socket took it). */
  forget(c: Connection): void {
    if (c.a.client !== undefined && this.#byIdentity.get(identity(c)) === c) this.#byIdentity.delete(identity(c));
  }
}

const identity = (c: Connection): string => `${c.a.client}|${c.a.device ?? ''}`;
