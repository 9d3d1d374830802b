/**
 * Presence and direct messages: who is in the room, as the server sees it.
 * Only sockets that said hello take part, so a DriftDB client never receives
 * a frame it does not know. Presence lives in socket attachments, so it
 * survives hibernation with the sockets themselves. Who has been told what,
 * and the batching of announcements in a large room, is in presence-roster.ts.
 */
import { CLOSE_CODES, PROTOCOL_VERSION, type Limits } from '../protocol/limits.ts';
import type { ClientMessage } from '../protocol/messages.ts';
import { containsBytes, toJson, utf8Length } from './codec.ts';
import type { Connection, Connections } from './connections.ts';
import { anonymousClientId, clientIdOf } from './identity.ts';
import { Roster } from './presence-roster.ts';
import { errorFrame } from './validate.ts';

type HelloIn = Extract<ClientMessage, { type: 'hello' }>;
type DirectIn = Extract<ClientMessage, { type: 'dm' }>;

export class Presence {
  #conns: Connections;
  #limits: Limits;
  /** The room's latest seq, for `welcome`. */
  #seq: () => number;
  #roster: Roster;
  #lastArrival = 0;

  constructor(conns: Connections, limits: Limits, seq: () => number) {
    this.#conns = conns;
    this.#limits = limits;
    this.#seq = seq;
    this.#roster = new Roster(conns, limits.presenceBatchMs, limits.maxRosterPeers, limits.membersEveryMs);
  }

  hello(c: Connection, m: HelloIn): void {
    if (m.protocol !== PROTOCOL_VERSION) {
      c.send(errorFrame('unsupported_protocol', `This server speaks protocol ${PROTOCOL_VERSION}, not ${m.protocol}`));
      this.#conns.remove(c);
      return c.close(CLOSE_CODES.unsupportedProtocol, 'unsupported protocol version');
    }
    // An oversized presence is refused on its own: the socket is still welcomed,
    // so a client never waits for a welcome that will not come.
    const presenceFits = m.presence === undefined || stateFits(c, m.presence, this.#limits);
    // A hello again on the same socket keeps its identity: it cannot switch to another.
    // With a token the client ID is its user, set at connect; the secret then tells the
    // user's tabs apart (the device), so one tab never replaces another.
    const fromSecret = (): string => (m.secret === undefined ? anonymousClientId() : clientIdOf(m.secret));
    if (c.a.grant) c.a.device ??= fromSecret();
    const client = c.a.client ?? fromSecret();
    // The same client saying hello again means its old socket is half-open or a
    // duplicate: the newest socket wins, and the old one leaves. Only the holder
    // of the secret can get here with this client ID.
    const other = this.#roster.holder(client, c.a.device, c);
    if (other) {
      this.leave(other.ws);
      other.close(CLOSE_CODES.replaced, 'replaced by a newer connection with the same client ID');
    }
    const joining = !c.a.hello;
    // An edgeroom client subscribes explicitly: once it has said hello, no push
    // of a subject it has not asked for can slip in ahead of that subject's replay.
    this.#conns.makeExplicit(c, false);
    c.a.hello = true;
    c.a.client = client;
    // Like `acks`, the first hello decides for the socket's life; a resume (a new socket) chooses again.
    if (joining && m.roster === false) c.a.roster = false;
    // Strictly increasing: within a turn workerd's clock stands still.
    if (joining) c.a.arrived = this.#lastArrival = Math.max(Date.now(), this.#lastArrival + 1);
    if (m.presence !== undefined && presenceFits) c.a.presence = m.presence;
    this.#welcome(c, client);
    this.#roster.count(c);
    if (joining) {
      // A join is never held back by the presence rate, but it counts against it.
      c.rates.presence.take();
      this.#roster.join(c);
    }
    // Once, with all of the above (and whether the roster shows it): each write is a call into the runtime.
    c.save();
    if (!joining) this.#announceUpdate(c);
  }

  /**
   * The roster as announced so far: what the room sends this socket next brings it up to date.
   * A socket that declined the roster gets `peers: []`, and nothing after it.
   */
  #welcome(c: Connection, client: string): void {
    const head = {
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      conn: c.a.conn,
      client,
      seq: this.#seq(),
      limits: { ...c.limits },
      ...(c.a.grant ? { exp: c.a.grant.exp } : {}),
    } as const;
    if (c.a.cbor) return c.send({ ...head, peers: this.#roster.peers(c) });
    // The peers, encoded once for every joiner, go last.
    c.sendFrame(`${toJson(head).slice(0, -1)},"peers":${this.#roster.peersJson(c)}}`);
  }

  set(c: Connection, state: unknown): void {
    if (!c.a.hello) return c.send(errorFrame('bad_message', 'Invalid presence: say hello before setting presence'));
    if (!stateFits(c, state, this.#limits)) return;
    c.a.presence = state;
    c.save();
    this.#announceUpdate(c);
  }

  direct(c: Connection, m: DirectIn, binary: boolean): void {
    const target = this.#conns.byConn(m.to);
    if (!target?.a.hello) {
      return c.send(
        errorFrame('no_such_connection', `No connection ${m.to} in this room`, m.id === undefined ? {} : { id: m.id }),
      );
    }
    target.send({ type: 'dm', from: c.a.conn, value: m.value }, binary && containsBytes(m.value));
  }

  /** Forgets a socket that closed, died or was replaced; others see it leave. */
  leave(ws: WebSocket): void {
    const c = this.#conns.get(ws);
    if (!c || !this.#conns.remove(c)) return;
    if (c.a.hello) this.#roster.leave(c);
  }

  /**
   * Updates past the presence rate are coalesced: one announcement is held
   * until the bucket refills, and carries whatever state is latest by then.
   */
  #announceUpdate(c: Connection): void {
    if (c.heldAnnouncement !== undefined) return;
    const bucket = c.rates.presence;
    if (bucket.take()) return this.#roster.update(c);
    c.heldAnnouncement = setTimeout(() => {
      c.heldAnnouncement = undefined;
      if (this.#conns.get(c.ws) !== c) return;
      bucket.take();
      this.#roster.update(c);
    }, bucket.wait());
  }
}

/** Whether `state` is within maxPresenceBytes; if not, the socket is told so (on a leaf too). */
export function stateFits(c: Connection, state: unknown, limits: Limits): boolean {
  const bytes = utf8Length(JSON.stringify(state ?? null));
  if (bytes <= limits.maxPresenceBytes) return true;
  c.send(
    errorFrame(
      'presence_too_large',
      `Presence state of ${bytes} bytes exceeds maxPresenceBytes (${limits.maxPresenceBytes})`,
    ),
  );
  return false;
}
