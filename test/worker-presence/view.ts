/**
 * One socket's view of who is in the room: its welcome's peers, then every
 * presence event after it, checked as it arrives the way a client would
 * notice a fault. A join of itself or of a peer it already has, or an update
 * or leave of a peer it does not have, is recorded in `faults`.
 */
import { WAIT_MS, type Msg, type TestSocket } from '../worker/helpers.ts';

export class View {
  readonly s: TestSocket;
  readonly conn: string;
  /** Connection ID → presence state. */
  readonly peers = new Map<string, unknown>();
  /** Every presence event since the welcome, in order. */
  readonly events: Msg[] = [];
  readonly faults: string[] = [];

  constructor(s: TestSocket, welcome: Msg) {
    this.s = s;
    this.conn = welcome.conn;
    for (const p of welcome.peers) {
      if (p.conn === this.conn) this.faults.push('itself in its welcome');
      if (this.peers.has(p.conn)) this.faults.push(`${p.conn} twice in its welcome`);
      this.peers.set(p.conn, p.state);
    }
  }

  /** Reads until the view is exactly `expected` (conn → state, without itself). */
  async settle(expected: Map<string, unknown>, timeoutMs = WAIT_MS): Promise<void> {
    if (this.#matches(expected)) return;
    await this.s.until((m) => {
      this.#apply(m);
      return this.#matches(expected);
    }, timeoutMs);
  }

  /** Reads until a message matches, applying the presence events on the way; returns it. */
  async until(match: (m: Msg) => boolean, timeoutMs = WAIT_MS): Promise<Msg> {
    return this.s.until((m) => {
      this.#apply(m);
      return match(m);
    }, timeoutMs);
  }

  /** Whatever arrives before the answer to a ping sent now, applied; returns its presence events. */
  async drain(): Promise<Msg[]> {
    const got = (await this.s.drain()).filter((m) => m.type === 'presence');
    for (const m of got) this.#apply(m);
    return got;
  }

  #apply(m: Msg): void {
    if (m.type !== 'presence') return;
    this.events.push(m);
    const { event, peer } = m;
    const known = this.peers.has(peer.conn);
    if (peer.conn === this.conn) this.faults.push(`its own ${event}`);
    if (event === 'join' && known) this.faults.push(`a second join of ${peer.conn}`);
    if (event !== 'join' && !known) this.faults.push(`${event} of ${peer.conn}, which it was never shown`);
    if (event === 'leave') this.peers.delete(peer.conn);
    else this.peers.set(peer.conn, peer.state);
  }

  #matches(expected: Map<string, unknown>): boolean {
    if (this.peers.size !== expected.size) return false;
    for (const [conn, state] of expected) {
      if (!this.peers.has(conn) || JSON.stringify(this.peers.get(conn)) !== JSON.stringify(state)) return false;
    }
    return true;
  }
}

/** What `view` should see: everyone in `room` but itself. */
export const othersOf = (view: View, room: Map<string, unknown>): Map<string, unknown> =>
  new Map([...room].filter(([conn]) => conn !== view.conn));
