/**
 * Receipts: the client says `acks` in its hello, tells the room how much it has
 * received every `ackEveryBytes` (from welcome.limits), in the room's units, and
 * treats close 4291 (slow consumer) as an ordinary drop: jittered backoff, then resume.
 */
import { describe, expect, it, vi } from 'vitest';
import { CLOSE_CODES, DEFAULT_LIMITS } from '../../protocol/limits.ts';
import { FakeSocket, latest, openRoom, useFakeSockets } from './fake-socket.ts';

/** What the room counts for a text frame: its length. The welcome is the first frame. */
const lengthOf = (message: object) => JSON.stringify(message).length;
const AUTO_PONG = '{"type":"pong","nonce":null}';

function welcomed(socket: FakeSocket, ackEveryBytes: number | undefined, seq = 0): number {
  const welcome = {
    type: 'welcome',
    protocol: 1,
    conn: 'c1',
    client: 'me',
    seq,
    peers: [],
    limits: ackEveryBytes === undefined ? DEFAULT_LIMITS : { ...DEFAULT_LIMITS, ackEveryBytes },
  };
  socket.open();
  socket.receive(welcome);
  return lengthOf(welcome);
}

describe('receipts', () => {
  useFakeSockets();

  it('offers them in the hello, and acks the running total once ackEveryBytes more have arrived', () => {
    const room = openRoom();
    room.subscribe('s', () => {});
    let total = welcomed(latest(), 200);
    expect(latest().frames('hello')[0]).toMatchObject({ acks: true });
    expect(latest().frames('ack')).toEqual([]);
    const acks: number[] = [];
    for (let seq = 1; seq <= 10; seq++) {
      const push = { type: 'push', key: 's', value: 'x'.repeat(40), seq };
      latest().receive(push);
      const acked = acks.at(-1) ?? 0;
      total += lengthOf(push);
      if (total - acked >= 200) acks.push(total);
    }
    expect(acks.length).toBeGreaterThan(1);
    expect(latest().frames('ack')).toEqual(acks.map((received) => ({ type: 'ack', received })));
  });

  it("counts a batch as one frame and leaves out the runtime's answer to its ping", () => {
    openRoom();
    const welcome = welcomed(latest(), 100);
    const batch = JSON.stringify([
      { type: 'pong', nonce: 1 },
      { type: 'pong', nonce: 2 },
      { type: 'pong', nonce: 3 },
    ]);
    for (let i = 0; i < 10; i++) latest().onmessage?.({ data: AUTO_PONG });
    latest().onmessage?.({ data: batch });
    expect(latest().frames('ack')).toEqual([{ type: 'ack', received: welcome + batch.length }]);
  });

  it('starts again from zero on each socket, and sends none to a server that gives no ackEveryBytes', () => {
    openRoom();
    welcomed(latest(), undefined);
    latest().receive({ type: 'pong', nonce: 'x'.repeat(500) });
    expect(latest().frames('ack')).toEqual([]);
    latest().drop();
    vi.advanceTimersToNextTimer();
    const welcome = welcomed(latest(), 10);
    const pong = { type: 'pong', nonce: 1 };
    latest().receive(pong);
    expect(latest().frames('ack')).toEqual([{ type: 'ack', received: welcome + lengthOf(pong) }]);
  });

  it('reconnects after close 4291 with the ordinary jittered backoff, and resumes from its checkpoint', () => {
    const room = openRoom({ random: () => 0.5, minDelay: 1000 });
    const seqs: number[] = [];
    room.subscribe('s', (event) => event.type === 'message' && seqs.push(event.seq));
    welcomed(latest(), 200);
    latest().receive({ type: 'init', key: 's', data: [{ value: 'a', seq: 7 }] });
    latest().drop(CLOSE_CODES.slowConsumer, 'over maxSocketBacklogBytes');
    expect(room.status).toBe('reconnecting');
    // Attempt 0 waits random × minDelay: 500 ms here, not the 5 s of a 4290.
    vi.advanceTimersByTime(499);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);
    welcomed(latest(), 200, 9);
    expect(room.status).toBe('open');
    expect(latest().frames('sub')).toEqual([{ type: 'sub', key: 's', seq: 7 }]);
    latest().receive({ type: 'init', key: 's', data: [{ value: 'b', seq: 8 }] });
    expect(seqs).toEqual([7, 8]);
  });
});
