/**
 * Presence and direct messages: who is in the room, as the server sees it.
 * Only sockets that said hello take part, so a DriftDB client never receives
 * a frame it does not know. Presence lives in socket attachments, so it
 * survives hibernation with the sockets themselves.
 */
import { CLOSE_CODES, PROTOCOL_VERSION, type Limits } from '../protocol/limits.ts';
import type { ClientMessage, PresenceOut } from '../protocol/messages.ts';
import { containsBytes, utf8Length } from './codec.ts';
import { Outgoing, type Connection, type Connections } from './connections.ts';
import { anonymousClientId, clientIdOf } from './identity.ts';
import { errorFrame } from './validate.ts';

type HelloIn = Extract<ClientMessage, { type: 'hello' }>;
type DirectIn = Extract<ClientMessage, { type: 'dm' }>;

export class Presence {
  #conns: Connections;
  #limits: Limits;
  /** The room's latest seq, for `welcome`. */
  #seq: () => number;

  constructor(conns: Connections, limits: Limits, seq: () => number) {
    this.#conns = conns;
    this.#limits = limits;
    this.#seq = seq;
  }

  hello(c: Connection, m: HelloIn): void {
    if (m.protocol !== PROTOCOL_VERSION) {
      c.send(errorFrame('unsupported_protocol', `This server speaks protocol ${PROTOCOL_VERSION}, not ${m.protocol}`));
      this.#conns.remove(c);
      return c.close(CLOSE_CODES.unsupportedProtocol, 'unsupported protocol version');
    }
    // An oversized presence is refused on its own: the socket is still welcomed,
    // so a client never waits for a welcome that will not come.
    const presenceFits = m.presence === undefined || this.#fits(c, m.presence);
    // A hello again on the same socket keeps its identity: it cannot switch to another.
    // With a token the client ID is its user, set at connect; the secret then tells the
    // user's tabs apart (the device), so one tab never replaces another.
    const fromSecret = (): string => (m.secret === undefined ? anonymousClientId() : clientIdOf(m.secret));
    if (c.a.grant) c.a.device ??= fromSecret();
    const client = c.a.client ?? fromSecret();
    // The same client saying hello again means its old socket is half-open or a
    // duplicate: the newest socket wins, and the old one leaves. Only the holder
    // of the secret can get here with this client ID.
    for (const other of [...this.#conns.present(c)]) {
      if (other.a.client !== client || other.a.device !== c.a.device) continue;
      this.leave(other.ws);
      other.close(CLOSE_CODES.replaced, 'replaced by a newer connection with the same client ID');
    }
    const joining = !c.a.hello;
    // An edgeroom client subscribes explicitly: once it has said hello, no push
    // of a subject it has not asked for can slip in ahead of that subject's replay.
    this.#conns.makeExplicit(c);
    c.a.hello = true;
    c.a.client = client;
    if (m.presence !== undefined && presenceFits) c.a.presence = m.presence;
    c.save();
    c.send({
      type: 'welcome', protocol: PROTOCOL_VERSION, conn: c.a.conn, client, seq: this.#seq(),
      limits: { ...c.limits }, peers: [...this.#conns.present(c)].map((p) => p.peer),
      ...(c.a.grant ? { exp: c.a.grant.exp } : {}),
    });
    if (joining) {
      // A join is never held back, but it counts against the presence rate.
      c.rates.presence.take();
      this.#announce('join', c);
    } else this.#announceUpdate(c);
  }

  set(c: Connection, state: unknown): void {
    if (!c.a.hello) return c.send(errorFrame('bad_message', 'Invalid presence: say hello before setting presence'));
    if (!this.#fits(c, state)) return;
    c.a.presence = state;
    c.save();
    this.#announceUpdate(c);
  }

  direct(c: Connection, m: DirectIn, binary: boolean): void {
    const target = this.#conns.byConn(m.to);
    if (!target?.a.hello) {
      return c.send(errorFrame('no_such_connection', `No connection ${m.to} in this room`,
        m.id === undefined ? {} : { id: m.id }));
    }
    target.send({ type: 'dm', from: c.a.conn, value: m.value }, binary && containsBytes(m.value));
  }

  /** Forgets a socket that closed, died or was replaced; others see it leave. */
  leave(ws: WebSocket): void {
    const c = this.#conns.get(ws);
    if (!c || !this.#conns.remove(c)) return;
    if (c.a.hello) this.#announce('leave', c);
  }

  #fits(c: Connection, state: unknown): boolean {
    const bytes = utf8Length(JSON.stringify(state ?? null));
    if (bytes <= this.#limits.maxPresenceBytes) return true;
    c.send(errorFrame('presence_too_large',
      `Presence state of ${bytes} bytes exceeds maxPresenceBytes (${this.#limits.maxPresenceBytes})`));
    return false;
  }

  /**
   * Updates past the presence rate are coalesced: one announcement is held
   * until the bucket refills, and carries whatever state is latest by then.
   */
  #announceUpdate(c: Connection): void {
    if (c.heldAnnouncement !== undefined) return;
    const bucket = c.rates.presence;
    if (bucket.take()) return this.#announce('update', c);
    c.heldAnnouncement = setTimeout(() => {
      c.heldAnnouncement = undefined;
      if (this.#conns.get(c.ws) !== c) return;
      bucket.take();
      this.#announce('update', c);
    }, bucket.wait());
  }

  #announce(event: PresenceOut['event'], c: Connection): void {
    const out = new Outgoing({ type: 'presence', event, peer: c.peer });
    for (const other of this.#conns.present(c)) out.to(other);
  }
}
