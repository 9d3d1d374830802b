/**
 * Test doubles for signaling: rooms that pass presence and direct messages
 * between each other, and an RTCPeerConnection that models the offer/answer
 * state machine (including the implicit rollback of perfect negotiation).
 * Every step is asynchronous, as in a browser, so offers can cross in flight.
 */
import { RoomError } from '../../client/errors.ts';
import type { Peer, Room, RoomEvents, Status } from '../../client/types.ts';

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

type Listener = (value: never) => void;

/** A room seen from one connection. `network.link()` makes rooms see each other. */
export class FakeRoom {
  status: Status = 'open';
  conn: string | undefined;
  presence: unknown;
  readonly peers = new Map<string, Peer>();
  readonly sent: { to: string; value: unknown }[] = [];
  #listeners = new Map<string, Set<Listener>>();
  #network: FakeNetwork;

  constructor(network: FakeNetwork, conn: string, presence: unknown = null) {
    this.#network = network;
    this.conn = conn;
    this.presence = presence;
  }

  on<E extends keyof RoomEvents>(event: E, listener: (value: RoomEvents[E]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as Listener);
    return () => set.delete(listener as Listener);
  }

  emit<E extends keyof RoomEvents>(event: E, value: RoomEvents[E]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) (listener as (v: RoomEvents[E]) => void)(value);
  }

  listeners(event: keyof RoomEvents): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  /** Returns the dm's ID, as `Room.dm` does; to an unknown connection, the server's error names it. */
  dm(to: string, value: unknown): string {
    this.sent.push({ to, value });
    const id = `dm${++dmCounter}`;
    this.#network.deliver(this.conn!, to, value, id);
    return id;
  }

  asRoom(): Room {
    return this as unknown as Room;
  }
}

export class FakeNetwork {
  readonly rooms = new Map<string, FakeRoom>();

  room(conn: string, presence: unknown = null): FakeRoom {
    const room = new FakeRoom(this, conn, presence);
    this.rooms.set(conn, room);
    return room;
  }

  /** Everyone sees everyone else (a join, as the server would announce it). */
  meet(): void {
    for (const a of this.rooms.values()) {
      for (const b of this.rooms.values()) {
        if (a === b) continue;
        a.peers.set(b.conn!, { conn: b.conn!, client: b.conn!, state: b.presence });
      }
    }
    for (const a of this.rooms.values()) a.emit('presence', { event: 'sync' });
  }

  /** `conn` leaves: the others see it go. */
  leave(conn: string): void {
    const gone = this.rooms.get(conn);
    this.rooms.delete(conn);
    for (const r of this.rooms.values()) {
      const peer = r.peers.get(conn);
      if (!peer) continue;
      r.peers.delete(conn);
      r.emit('presence', { event: 'leave', peer });
    }
    if (gone) gone.peers.clear();
  }

  deliver(from: string, to: string, value: unknown, id?: string): void {
    setTimeout(() => {
      const target = this.rooms.get(to);
      if (target) target.emit('dm', { from, value });
      else this.rooms.get(from)?.emit('error', new RoomError('no_such_connection', `No connection ${to}`, id));
    }, 0);
  }
}

let sdpCounter = 0;
let dmCounter = 0;

/** Just enough of RTCPeerConnection for the negotiation logic. */
export class FakePeerConnection {
  static created: FakePeerConnection[] = [];
  readonly config: RTCConfiguration;
  signalingState: RTCSignalingState = 'stable';
  iceConnectionState: RTCIceConnectionState = 'new';
  localDescription: RTCSessionDescription | null = null;
  remoteDescription: RTCSessionDescriptionInit | null = null;
  onnegotiationneeded: (() => void) | null = null;
  onicecandidate: ((e: { candidate: { toJSON(): RTCIceCandidateInit } | null }) => void) | null = null;
  oniceconnectionstatechange: (() => void) | null = null;
  /** Every description this side applied, in order: what a test checks the exchange by. */
  readonly applied: string[] = [];
  readonly candidates: RTCIceCandidateInit[] = [];
  restarts = 0;
  #needed = false;

  constructor(config: RTCConfiguration = {}) {
    this.config = config;
    FakePeerConnection.created.push(this);
  }

  /** Something changed that needs an offer (a new channel, a track): fire negotiationneeded when stable. */
  needNegotiation(): void {
    this.#needed = true;
    void this.#maybeFireNeeded();
  }

  async setLocalDescription(): Promise<void> {
    await tick();
    if (this.signalingState === 'closed') throw new Error('InvalidStateError: closed');
    if (this.signalingState === 'have-remote-offer') {
      this.#setLocal('answer');
      this.signalingState = 'stable';
      // Answering their offer does not carry our own changes: still needed, if it was.
      void this.#maybeFireNeeded();
    } else {
      this.#setLocal('offer');
      this.signalingState = 'have-local-offer';
    }
    // A candidate follows every local description.
    setTimeout(
      () =>
        this.onicecandidate?.({ candidate: { toJSON: () => ({ candidate: `cand-${this.localDescription!.sdp}` }) } }),
      0,
    );
  }

  async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    await tick();
    if (this.signalingState === 'closed') throw new Error('InvalidStateError: closed');
    if (description.type === 'offer') {
      // Perfect negotiation's implicit rollback of our own offer.
      if (this.signalingState === 'have-local-offer') this.signalingState = 'stable';
      if (this.signalingState !== 'stable') throw new Error(`InvalidStateError: offer in ${this.signalingState}`);
      this.signalingState = 'have-remote-offer';
    } else if (description.type === 'answer') {
      if (this.signalingState !== 'have-local-offer')
        throw new Error(`InvalidStateError: answer in ${this.signalingState}`);
      this.signalingState = 'stable';
      this.#needed = false;
      void this.#maybeFireNeeded();
    }
    this.remoteDescription = description;
    this.applied.push(`${description.type}:${description.sdp}`);
  }

  async addIceCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    await tick();
    if (!this.remoteDescription) throw new Error('InvalidStateError: no remote description');
    this.candidates.push(candidate);
  }

  restartIce(): void {
    this.restarts++;
  }

  close(): void {
    this.signalingState = 'closed';
  }

  #setLocal(type: 'offer' | 'answer'): void {
    const sdp = `${type}-${++sdpCounter}`;
    this.localDescription = { type, sdp, toJSON: () => ({ type, sdp }) } as RTCSessionDescription;
  }

  async #maybeFireNeeded(): Promise<void> {
    await tick();
    if (this.#needed && this.signalingState === 'stable') this.onnegotiationneeded?.();
  }
}

/** Waits, a turn at a time, until `done()` holds. Bounded: fails after `turns` turns. */
export async function settle(done: () => boolean, turns = 200): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (done()) return;
    await tick();
  }
  throw new Error(`not settled within ${turns} turns`);
}
