// WebRTC signaling over presence and direct messages, with a modelled
// RTCPeerConnection: who calls whom, perfect negotiation in glare, hangups.
// The real browser path is covered by test/browser/webrtc.test.ts.
import { beforeEach, describe, expect, it } from 'vitest';
import { signaling, type Call, type Signaling } from '../../client/signaling.ts';
import type { Peer } from '../../client/types.ts';
import { FakeNetwork, FakePeerConnection, settle, type FakeRoom } from './fake-rtc.ts';

const Fake = FakePeerConnection as unknown as typeof RTCPeerConnection;
const pc = (call: Call | undefined) => call?.pc as unknown as FakePeerConnection;
const stable = (...calls: (Call | undefined)[]) =>
  calls.every((c) => c && pc(c).signalingState === 'stable' && pc(c).remoteDescription !== null);

function start(room: FakeRoom, extra: Parameters<typeof signaling>[1] = {}) {
  const errors: unknown[] = [];
  const hangups: string[] = [];
  const rtc = signaling(room.asRoom(), {
    RTCPeerConnection: Fake,
    onError: (error) => errors.push(error),
    onHangup: (call) => hangups.push(call.peer.conn),
    ...extra,
  });
  return { rtc, errors, hangups };
}

const signals = (room: FakeRoom) =>
  room.sent
    .map((s) => (s.value as Record<string, { description?: { type: string }; candidate?: unknown }>)['edgeroom.rtc'])
    .map((s) => s?.description?.type ?? (s?.candidate ? 'candidate' : 'other'));

describe('signaling', () => {
  let net: FakeNetwork;
  beforeEach(() => {
    net = new FakeNetwork();
    FakePeerConnection.created = [];
  });

  it('calls every peer; the impolite side (larger connection ID) offers first and the polite side answers', async () => {
    const a = net.room('conn-a');
    const b = net.room('conn-b');
    const sa = start(a, { iceServers: [{ urls: 'stun:stun.example.test' }] });
    const sb = start(b);
    net.meet();
    const [ab, ba] = [sa.rtc.calls.get('conn-b'), sb.rtc.calls.get('conn-a')];
    expect(ab?.polite).toBe(true);
    expect(ba?.polite).toBe(false);
    await settle(() => stable(ab, ba) && pc(ab).candidates.length > 0 && pc(ba).candidates.length > 0);
    expect(signals(b)[0]).toBe('offer');
    expect(signals(a)[0]).toBe('answer');
    expect(signals(a).filter((s) => s === 'offer')).toEqual([]);
    expect(pc(ab).applied).toEqual([`offer:${pc(ba).localDescription!.sdp}`]);
    expect(pc(ba).applied).toEqual([`answer:${pc(ab).localDescription!.sdp}`]);
    expect(pc(ab).config.iceServers).toEqual([{ urls: 'stun:stun.example.test' }]);
    expect([...sa.errors, ...sb.errors]).toEqual([]);
  });

  it('holds the polite side back until the first offer has arrived, then lets it renegotiate', async () => {
    const a = net.room('conn-a');
    const b = net.room('conn-b');
    // The polite side adds a channel at once: its negotiationneeded fires before any offer.
    const sa = start(a, { onCall: ({ pc: p }) => (p as unknown as FakePeerConnection).needNegotiation() });
    const sb = start(b);
    net.meet();
    const [ab, ba] = [sa.rtc.calls.get('conn-b'), sb.rtc.calls.get('conn-a')];
    // After answering the opening offer, the polite side offers its own change.
    await settle(() => stable(ab, ba) && signals(a).includes('offer') && pc(ba).applied.length === 2);
    expect(signals(b).filter((s) => s !== 'candidate')).toEqual(['offer', 'answer']);
    expect(signals(a).filter((s) => s !== 'candidate')).toEqual(['answer', 'offer']);
    expect([...sa.errors, ...sb.errors]).toEqual([]);
  });

  it('settles offers that cross in flight: the polite side rolls back and answers, the impolite side ignores', async () => {
    const a = net.room('conn-a');
    const b = net.room('conn-b');
    const sa = start(a);
    const sb = start(b);
    net.meet();
    const [ab, ba] = [sa.rtc.calls.get('conn-b'), sb.rtc.calls.get('conn-a')];
    await settle(() => stable(ab, ba));
    const before = { a: a.sent.length, b: b.sent.length };
    const offersSince = (r: FakeRoom, from: number) =>
      r.sent
        .slice(from)
        .map(
          (s) =>
            (s.value as Record<string, { description?: { type: string; sdp: string } }>)['edgeroom.rtc']?.description,
        )
        .filter((d) => d?.type === 'offer')
        .map((d) => d!.sdp);
    // Both sides need an offer at the same moment: glare.
    pc(ab).needNegotiation();
    pc(ba).needNegotiation();
    // Each side's change is negotiated in the end: two offers from the polite side
    // (the colliding one, then its own again after answering), one from the other.
    await settle(
      () =>
        offersSince(a, before.a).length === 2 &&
        offersSince(b, before.b).length === 1 &&
        stable(ab, ba) &&
        pc(ba).applied.includes(`offer:${offersSince(a, before.a)[1]}`),
    );
    const [colliding, retried] = offersSince(a, before.a);
    const [winning] = offersSince(b, before.b);
    // The impolite side's offer won: the polite side rolled back and applied it.
    expect(pc(ab).applied).toContain(`offer:${winning}`);
    // The impolite side ignored the colliding offer, and applied the retried one.
    expect(pc(ba).applied).not.toContain(`offer:${colliding}`);
    expect(pc(ba).applied).toContain(`offer:${retried}`);
    expect([...sa.errors, ...sb.errors]).toEqual([]);
  });

  it('hangs up when the peer leaves, and closes its RTCPeerConnection', async () => {
    const a = net.room('conn-a');
    const b = net.room('conn-b');
    const sa = start(a);
    start(b);
    net.meet();
    const ab = sa.rtc.calls.get('conn-b');
    await settle(() => stable(ab));
    net.leave('conn-b');
    expect(sa.hangups).toEqual(['conn-b']);
    expect(sa.rtc.calls.size).toBe(0);
    expect(pc(ab).signalingState).toBe('closed');
  });

  it('calls only accepted peers, and places the call once presence says so', async () => {
    const a = net.room('conn-a');
    const b = net.room('conn-b', { call: false });
    const accept = (peer: Peer) => (peer.state as { call?: boolean } | null)?.call === true;
    const sa = start(a, { accept });
    net.meet();
    expect(sa.rtc.calls.size).toBe(0);
    a.peers.set('conn-b', { conn: 'conn-b', client: 'conn-b', state: { call: true } });
    a.emit('presence', { event: 'update', peer: a.peers.get('conn-b')! });
    expect([...sa.rtc.calls.keys()]).toEqual(['conn-b']);
    a.peers.set('conn-b', { conn: 'conn-b', client: 'conn-b', state: { call: false } });
    a.emit('presence', { event: 'update', peer: a.peers.get('conn-b')! });
    expect(sa.rtc.calls.size).toBe(0);
    expect(sa.hangups).toEqual(['conn-b']);
  });

  it('hangs up and calls again from scratch when our own connection ID changes (a reconnect)', async () => {
    const a = net.room('conn-a');
    const b = net.room('conn-b');
    const sa = start(a);
    start(b);
    net.meet();
    const first = sa.rtc.calls.get('conn-b');
    a.status = 'connecting';
    a.emit('status', 'connecting');
    a.conn = 'conn-a2';
    a.status = 'open';
    a.emit('status', 'open');
    const second = sa.rtc.calls.get('conn-b');
    expect(sa.hangups).toEqual(['conn-b']);
    expect(pc(first).signalingState).toBe('closed');
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
  });

  it('ignores direct messages that are not its own, and signals from peers it has no call with', async () => {
    const a = net.room('conn-a');
    const { rtc } = start(a);
    a.emit('dm', { from: 'conn-x', value: { chat: 'hi' } });
    a.emit('dm', { from: 'conn-x', value: { 'edgeroom.rtc': { description: { type: 'offer', sdp: 'x' } } } });
    a.emit('dm', { from: 'conn-x', value: null });
    expect(rtc.calls.size).toBe(0);
    expect(FakePeerConnection.created).toEqual([]);
  });

  it('close() hangs up every call and stops listening to the room', async () => {
    const a = net.room('conn-a');
    const b = net.room('conn-b');
    const c = net.room('conn-c');
    const sa = start(a);
    start(b);
    start(c);
    net.meet();
    expect(sa.rtc.calls.size).toBe(2);
    const rtc: Signaling = sa.rtc;
    rtc.close();
    expect(sa.hangups.sort()).toEqual(['conn-b', 'conn-c']);
    expect(a.listeners('presence') + a.listeners('status') + a.listeners('dm')).toBe(0);
    net.meet();
    expect(rtc.calls.size).toBe(0);
  });

  it('restarts ICE when the connection fails', async () => {
    const a = net.room('conn-a');
    const b = net.room('conn-b');
    const sa = start(a);
    start(b);
    net.meet();
    const ab = pc(sa.rtc.calls.get('conn-b'));
    ab.iceConnectionState = 'failed';
    ab.oniceconnectionstatechange?.();
    expect(ab.restarts).toBe(1);
  });
});
