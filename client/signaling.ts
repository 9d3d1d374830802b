/**
 * WebRTC signaling through a room: peers are found through presence, and
 * offers, answers and ICE candidates travel as direct messages. A separate
 * entry point (served to browsers as `/lib/signaling.js`), so the core
 * client stays within its size budget.
 */
import type { Peer, Room } from './types.ts';

/** One peer connection to one other connection in the room. */
export interface Call {
  /** The remote connection, as presence last described it. */
  readonly peer: Peer;
  readonly pc: RTCPeerConnection;
  /** In a collision of offers the polite side yields: the side with the smaller connection ID. */
  readonly polite: boolean;
}

export interface SignalingOptions {
  /** STUN/TURN servers of the app's choosing. Default `[]`: host candidates only. */
  iceServers?: RTCIceServer[];
  /** Other `RTCPeerConnection` settings; `iceServers` above wins. */
  rtc?: RTCConfiguration;
  /** Which peers to call; re-checked on every presence update. Default: everyone in the room. */
  accept?: (peer: Peer) => boolean;
  /** A new call, before any negotiation: add tracks and data channels here. */
  onCall?: (call: Call) => void;
  /** A call ended: the peer left, stopped being accepted, or our socket reconnected. `pc` is already closed. */
  onHangup?: (call: Call) => void;
  /** A failed negotiation step. The call stays up; an ICE restart may still recover it. */
  onError?: (error: unknown, call: Call) => void;
  /** For tests and other runtimes. Defaults to `globalThis.RTCPeerConnection`. */
  RTCPeerConnection?: typeof RTCPeerConnection;
}

export interface Signaling {
  /** Live calls, keyed by the remote connection ID. */
  readonly calls: ReadonlyMap<string, Call>;
  /**
   * Hang up every call and stop listening to the room. The room stays open,
   * and peers keep their end until their `accept` turns this connection down:
   * change your presence state first if they should let go too.
   */
  close(): void;
}

/** The direct message payload; the key tells signaling apart from the app's own direct messages. */
interface Signal {
  description?: RTCSessionDescriptionInit;
  candidate?: RTCIceCandidateInit;
}
const KEY = 'edgeroom.rtc';

interface Live extends Call {
  receive(signal: Signal): Promise<void>;
}

/**
 * Call every accepted peer in the room and keep the calls up as peers come
 * and go. Of each pair, the side with the smaller connection ID is polite,
 * so no round trip decides roles. The impolite side opens a call with the
 * first offer; from then on either side renegotiates whenever its
 * `RTCPeerConnection` asks to (tracks, channels, ICE restarts), and when both
 * offer at once, perfect negotiation settles the glare: the polite side
 * rolls back and answers, the impolite side ignores the colliding offer.
 *
 * A reconnect gives this socket a new connection ID, and peers see the old
 * one leave; every call is then hung up and placed again from scratch.
 *
 * @example
 * import { connect } from 'edgeroom/client'; // in a browser: /lib/edgeroom.js
 * import { signaling } from 'edgeroom/client/signaling'; // in a browser: /lib/signaling.js
 *
 * const room = connect({ base: location.origin, room: 'standup' }, { presence: { call: true } });
 * const rtc = signaling(room, {
 *   iceServers: [{ urls: 'stun:stun.example.com' }],
 *   accept: (peer) => (peer.state as { call?: boolean } | null)?.call === true,
 *   onCall({ pc }) {
 *     // Both sides open the same pre-agreed channel: no offerer/answerer roles.
 *     const channel = pc.createDataChannel('chat', { negotiated: true, id: 0 });
 *     channel.onmessage = (e) => console.log(e.data);
 *   },
 * });
 */
export function signaling(room: Room, options: SignalingOptions = {}): Signaling {
  const {
    iceServers = [],
    rtc,
    accept = () => true,
    onCall,
    onHangup,
    onError,
    RTCPeerConnection: PeerConnection = globalThis.RTCPeerConnection,
  } = options;
  const calls = new Map<string, Live>();
  // Calls belong to one connection ID of ours; a new welcome means a new ID.
  let ownConn: string | undefined;

  const hangup = (conn: string): void => {
    const call = calls.get(conn);
    if (!call) return;
    calls.delete(conn);
    call.pc.close();
    onHangup?.(call);
  };

  const place = (peer: Peer): void => {
    const pc = new PeerConnection({ ...rtc, iceServers });
    const polite = room.conn! < peer.conn;
    let makingOffer = false;
    let ignoreOffer = false;
    // An answer being applied: an offer queued right behind it is no collision,
    // although signalingState still reads 'have-local-offer'.
    let answerPending = false;
    // The impolite side opens every call, so a new call never starts in glare:
    // Chromium can stall ICE gathering for good (the call stays 'new') when an
    // offer it has only just made is rolled back. Until the impolite side's
    // first offer has arrived, the polite side lets negotiationneeded pass;
    // the browser fires it again once that exchange is done, if still needed.
    let opened = !polite;
    const send = (signal: Signal): void => {
      if (pc.signalingState !== 'closed') room.dm(peer.conn, { [KEY]: signal });
    };
    const fail = (error: unknown): void => {
      if (pc.signalingState !== 'closed') onError?.(error, call);
    };
    const negotiate = async (): Promise<void> => {
      if (!opened || makingOffer) return;
      try {
        makingOffer = true;
        await pc.setLocalDescription();
        send({ description: pc.localDescription!.toJSON() });
      } catch (error) {
        fail(error);
      } finally {
        makingOffer = false;
      }
    };

    const call: Live = {
      peer,
      pc,
      polite,
      async receive({ description, candidate }) {
        try {
          if (description) {
            const ready = !makingOffer && (pc.signalingState === 'stable' || answerPending);
            const collision = description.type === 'offer' && !ready;
            ignoreOffer = !polite && collision;
            if (ignoreOffer) return;
            answerPending = description.type === 'answer';
            // On the polite side this rolls back our own pending offer implicitly.
            await pc.setRemoteDescription(description);
            answerPending = false;
            if (description.type === 'offer') {
              opened = true;
              await pc.setLocalDescription();
              send({ description: pc.localDescription!.toJSON() });
            }
          } else if (candidate) {
            // Candidates of an offer we ignored fail to apply; that is expected.
            await pc.addIceCandidate(candidate).catch((error) => ignoreOffer || fail(error));
          }
        } catch (error) {
          fail(error);
        }
      },
    };
    pc.onnegotiationneeded = negotiate;
    pc.onicecandidate = ({ candidate }) => candidate && send({ candidate: candidate.toJSON() });
    pc.oniceconnectionstatechange = () => pc.iceConnectionState === 'failed' && pc.restartIce();
    calls.set(peer.conn, call);
    onCall?.(call);
    // Even with nothing to negotiate yet: an empty offer tells the polite side to go ahead.
    if (!polite) negotiate();
  };

  /** Bring the calls in line with presence: place the accepted, hang up the rest. */
  const reconcile = (): void => {
    if (room.status !== 'open' || !room.conn) return;
    if (ownConn !== room.conn) {
      calls.forEach((_, conn) => hangup(conn));
      ownConn = room.conn;
    }
    calls.forEach((_, conn) => {
      const peer = room.peers.get(conn);
      if (!peer || !accept(peer)) hangup(conn);
    });
    room.peers.forEach((peer, conn) => {
      if (!calls.has(conn) && accept(peer)) place(peer);
    });
  };

  const offPresence = room.on('presence', reconcile);
  const offStatus = room.on('status', (status) => (status === 'closed' ? stop() : reconcile()));
  const offDm = room.on('dm', ({ from, value }) => {
    const signal = (value as Record<string, Signal> | null)?.[KEY];
    // The server announces a peer to us before that peer can message us, so
    // a signal from a peer without a call is from one we do not accept.
    if (signal && typeof signal === 'object') calls.get(from)?.receive(signal);
  });
  reconcile();

  function stop(): void {
    offPresence();
    offStatus();
    offDm();
    calls.forEach((_, conn) => hangup(conn));
  }
  return { calls, close: stop };
}
