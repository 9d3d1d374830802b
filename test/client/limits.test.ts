/**
 * The client keeps within the server's abuse limits: it paces publishes and
 * direct messages by the room's publish bucket, resends what the server
 * refused for rate, backs off after close 4290, and refuses oversized presence.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CLOSE_CODES, DEFAULT_LIMITS, RATE_LIMITED_BACKOFF_MS } from '../../protocol/limits.ts';
import { RoomError } from '../../client/index.ts';
import { FakeSocket, latest, openRoom, redial, SECRET, useFakeSockets } from './fake-socket.ts';

/** 10 publishes per second (one token per 100 ms) and a burst of 5; the client keeps one to spare. */
const LIMITS = { ...DEFAULT_LIMITS, publishesPerSecond: 10, publishBurst: 5 };

const settled = async (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
const pushed = (socket = latest()) => socket.frames('push').map((frame) => frame.value);

/** Plays a server that answers every push it has not answered yet, now; seqs count up from 1. */
function answering(socket = latest()) {
  const answered = new Set<unknown>();
  return () => {
    for (const frame of socket.frames('push')) {
      if (answered.has(frame.id)) continue;
      answered.add(frame.id);
      socket.receive({ type: 'ack', id: frame.id, seq: answered.size });
    }
  };
}

describe('pacing by the publish bucket', () => {
  useFakeSockets();

  it('sends the burst less one at once, then one publish per token as the server answers, in order, each once, on one timer', async () => {
    const room = openRoom();
    const published = Array.from({ length: 10 }, (_, i) => room.append('s', i));
    latest().accept(0, { limits: LIMITS });
    const answer = answering();
    expect(pushed()).toEqual([0, 1, 2, 3]);
    answer();
    expect(pushed()).toEqual([0, 1, 2, 3]); // the bucket refills from when the server took the tokens
    expect(vi.getTimerCount()).toBe(2); // the heartbeat, and one pacing timer
    vi.advanceTimersByTime(99);
    expect(pushed()).toEqual([0, 1, 2, 3]);
    vi.advanceTimersByTime(1);
    expect(pushed()).toEqual([0, 1, 2, 3, 4]);
    for (let i = 0; i < 5; i++) {
      answer();
      vi.advanceTimersByTime(100);
    }
    expect(pushed()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    answer();
    expect(
      new Set(
        latest()
          .frames('push')
          .map((frame) => frame.id),
      ).size,
    ).toBe(10);
    expect(vi.getTimerCount()).toBe(1); // nothing left to pace
    expect(await Promise.all(published)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('counts a token as taken when the server answers: a burst it read late holds the next publish back from then', () => {
    const room = openRoom();
    for (let i = 0; i < 6; i++) void room.append('s', i).catch(() => {});
    latest().accept(0, { limits: LIMITS });
    const answer = answering();
    expect(pushed()).toEqual([0, 1, 2, 3]);
    vi.advanceTimersByTime(500); // a busy room: it reads the burst, and takes its tokens, only now
    expect(pushed()).toEqual([0, 1, 2, 3]);
    answer();
    expect(pushed()).toEqual([0, 1, 2, 3]);
    vi.advanceTimersByTime(99);
    expect(pushed()).toEqual([0, 1, 2, 3]);
    vi.advanceTimersByTime(1);
    expect(pushed()).toEqual([0, 1, 2, 3, 4]);
    // Unanswered, the next one goes a token later: the server may take 4's token any moment.
    vi.advanceTimersByTime(100);
    expect(pushed()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('makes publishes sent while open wait behind the queue, and lets a burst go again once the bucket refilled', () => {
    const room = openRoom();
    latest().accept(0, { limits: LIMITS });
    const answer = answering();
    for (const value of ['a', 'b', 'c', 'd', 'e']) void room.publish('p', value).catch(() => {});
    expect(pushed()).toEqual(['a', 'b', 'c', 'd']);
    answer();
    void room.set('k', 'f').catch(() => {});
    vi.advanceTimersByTime(100);
    expect(pushed()).toEqual(['a', 'b', 'c', 'd', 'e']);
    answer();
    vi.advanceTimersByTime(100);
    expect(pushed()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    answer();
    vi.advanceTimersByTime(10_000); // idle: the bucket fills up again
    latest().receive({ type: 'pong', nonce: null });
    for (const value of ['g', 'h', 'i', 'j', 'k']) void room.append('s', value).catch(() => {});
    expect(pushed()).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']);
  });

  it('frees the place of a push the server refused for another reason', async () => {
    const room = openRoom();
    latest().accept(0, { limits: LIMITS });
    const refused = Array.from({ length: 4 }, (_, i) => room.set('k'.repeat(300), i));
    const next = room.append('s', 'next');
    for (const frame of latest().frames('push')) {
      latest().receive({ type: 'error', code: 'subject_too_long', id: frame.id, key: frame.key, message: 'too long' });
    }
    for (const outcome of await Promise.all(refused.map(settled))) {
      expect((outcome as { error: RoomError }).error.code).toBe('subject_too_long');
    }
    vi.advanceTimersByTime(100);
    expect(pushed().at(-1)).toBe('next');
    answering()();
    expect(await next).toBe(5);
  });

  it('keeps going with a burst of 1: one publish per token, without one to spare', () => {
    const room = openRoom();
    for (let i = 0; i < 3; i++) void room.append('s', i).catch(() => {});
    latest().accept(0, { limits: { ...LIMITS, publishBurst: 1 } });
    const answer = answering();
    expect(pushed()).toEqual([0]);
    answer();
    vi.advanceTimersByTime(99);
    expect(pushed()).toEqual([0]);
    vi.advanceTimersByTime(1);
    expect(pushed()).toEqual([0, 1]);
    answer();
    vi.advanceTimersByTime(100);
    expect(pushed()).toEqual([0, 1, 2]);
  });

  it('uses every limit the welcome brings: a later welcome with other limits takes over', () => {
    const room = openRoom();
    latest().accept(0, { limits: LIMITS });
    for (let i = 0; i < 6; i++) void room.append('s', i).catch(() => {});
    expect(pushed()).toEqual([0, 1, 2, 3]);
    latest().drop();
    const socket = redial();
    socket.accept(0, { limits: { ...LIMITS, publishBurst: 100 } });
    // A new socket has a full bucket on the server: everything unanswered goes again at once.
    expect(pushed(socket)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('paces direct messages too: each has an ID, goes before waiting publishes, and none is sent after a drop', () => {
    const room = openRoom();
    room.dm('c9', 'made offline');
    latest().accept(0, { limits: LIMITS });
    const answer = answering();
    for (let i = 0; i < 5; i++) void room.append('s', i).catch(() => {});
    room.dm('c9', 'hi');
    expect(latest().frames('dm')).toEqual([]);
    answer();
    vi.advanceTimersByTime(100);
    const [dm] = latest().frames('dm');
    expect(dm).toEqual({ type: 'dm', to: 'c9', value: 'hi', id: expect.any(String) });
    expect(
      latest()
        .frames('push')
        .map((frame) => frame.id),
    ).not.toContain(dm!.id);
    expect(
      latest()
        .frames()
        .map((frame) => frame.type)
        .slice(-2),
    ).toEqual(['push', 'dm']);
    vi.advanceTimersByTime(100);
    expect(pushed()).toEqual([0, 1, 2, 3, 4]);
    room.dm('c9', 'queued when the socket drops');
    latest().drop();
    room.dm('c9', 'made while reconnecting');
    redial().accept(0, { limits: LIMITS });
    vi.advanceTimersByTime(1000);
    expect(latest().frames('dm')).toEqual([]);
  });

  it("returns each dm's ID, and errors about a dm carry it: the server's and an oversize one's", () => {
    const room = openRoom();
    const errors: RoomError[] = [];
    room.on('error', (error) => errors.push(error));
    latest().accept(0, { limits: { ...LIMITS, maxMessageBytes: 100 } });
    const id = room.dm('c9', 'hi');
    vi.advanceTimersByTime(1000);
    expect(latest().frames('dm')).toEqual([{ type: 'dm', to: 'c9', value: 'hi', id }]);
    latest().receive({ type: 'error', code: 'no_such_connection', message: 'No connection c9', id });
    const big = room.dm('c9', 'x'.repeat(200));
    vi.advanceTimersByTime(1000);
    expect(errors.map((e) => [e.code, e.id])).toEqual([
      ['no_such_connection', id],
      ['too_large', big],
    ]);
  });

  it('paces direct messages alone by time (the server never answers them)', () => {
    const room = openRoom();
    latest().accept(0, { limits: LIMITS });
    for (let i = 0; i < 8; i++) room.dm('c9', i);
    const sent = () =>
      latest()
        .frames('dm')
        .map((frame) => frame.value);
    expect(sent()).toEqual([0, 1, 2, 3]);
    vi.advanceTimersByTime(99);
    expect(sent()).toEqual([0, 1, 2, 3]);
    vi.advanceTimersByTime(1);
    expect(sent()).toEqual([0, 1, 2, 3, 4]);
    vi.advanceTimersByTime(300);
    expect(sent()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('still applies queueLimit to publishes waiting for a token, and loses none of them across a drop', async () => {
    const room = openRoom({ queueLimit: 6 });
    latest().accept(0, { limits: LIMITS });
    const accepted = Array.from({ length: 6 }, (_, i) => room.append('s', i));
    for (const promise of accepted) promise.catch(() => {});
    expect(((await settled(room.append('s', 6))) as { error: RoomError }).error.code).toBe('queue_full');
    expect(pushed()).toEqual([0, 1, 2, 3]);
    const first = latest().frames('push');
    latest().drop();
    const socket = redial();
    socket.accept(0, { limits: LIMITS });
    answering(socket)();
    vi.advanceTimersByTime(200);
    const again = socket.frames('push');
    expect(again.map((frame) => frame.value)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(again.slice(0, 4)).toEqual(first);
  });
});

describe('rate_limited', () => {
  useFakeSockets();

  it('resends a refused publish with the same ID after retryAfter, before later ones, without surfacing the error', async () => {
    const room = openRoom();
    const errors: RoomError[] = [];
    room.on('error', (error) => errors.push(error));
    latest().accept(0, { limits: LIMITS });
    const [a, b, c] = ['a', 'b', 'c'].map((value) => room.append('s', value));
    const [first, refused, third] = latest().frames('push');
    // A room-wide limit: the server takes a and c, and refuses b.
    latest().receive({ type: 'ack', id: first!.id, seq: 1 });
    latest().receive({
      type: 'error',
      code: 'rate_limited',
      id: refused!.id,
      key: 's',
      retryAfter: 1500,
      message: 'slow down',
    });
    latest().receive({ type: 'ack', id: third!.id, seq: 2 });
    const d = room.append('s', 'd');
    vi.advanceTimersByTime(1499);
    expect(pushed()).toEqual(['a', 'b', 'c']);
    vi.advanceTimersByTime(101); // retryAfter, then the token c took
    expect(pushed()).toEqual(['a', 'b', 'c', 'b']);
    expect(latest().frames('push')[3]).toEqual(refused);
    vi.advanceTimersByTime(100);
    expect(pushed()).toEqual(['a', 'b', 'c', 'b', 'd']);
    latest().receive({ type: 'ack', id: refused!.id, seq: 3 });
    latest().receive({ type: 'ack', id: latest().frames('push')[4]!.id, seq: 4 });
    expect(await Promise.all([a, b, c, d])).toEqual([1, 3, 2, 4]);
    expect(errors).toEqual([]);
  });

  it('keeps a refused publish across a drop and resends it on the next socket', async () => {
    const room = openRoom();
    latest().accept(0, { limits: LIMITS });
    const published = room.set('k', 1);
    const [frame] = latest().frames('push');
    latest().receive({
      type: 'error',
      code: 'rate_limited',
      id: frame!.id,
      key: 'k',
      retryAfter: 60_000,
      message: 'slow down',
    });
    expect(room.get('k')).toBe(1); // not rolled back: it is still pending
    latest().drop();
    redial().accept(0, { limits: LIMITS });
    expect(latest().frames('push')).toEqual([frame]);
    latest().receive({ type: 'ack', id: frame!.id, seq: 7 });
    expect(await published).toBe(7);
  });

  it('reports a refused direct message on "error" (the server never acknowledges one, so it is not kept to resend)', () => {
    const room = openRoom();
    const errors: RoomError[] = [];
    room.on('error', (error) => errors.push(error));
    latest().accept(0, { limits: LIMITS });
    room.dm('c9', 'hi');
    const [dm] = latest().frames('dm');
    latest().receive({ type: 'error', code: 'rate_limited', id: dm!.id, retryAfter: 100, message: 'slow down' });
    expect(errors.map((error) => error.code)).toEqual(['rate_limited']);
    vi.advanceTimersByTime(1000);
    expect(latest().frames('dm')).toHaveLength(1);
  });
});

describe('close 4290 (too many frames)', () => {
  useFakeSockets();
  const globals = globalThis as { window?: EventTarget };
  afterEach(() => void delete globals.window);

  it('dials again only after RATE_LIMITED_BACKOFF_MS, even when the browser wakes it, then resumes as usual', () => {
    const window = (globals.window = new EventTarget());
    const room = openRoom({ random: () => 0 }); // no jitter: the backoff alone
    room.subscribe('s', () => {});
    latest().accept(0);
    latest().receive({ type: 'init', key: 's', data: [{ value: 'v', seq: 4 }] });
    void room.append('s', 'x').catch(() => {});
    const [push] = latest().frames('push');
    latest().drop(CLOSE_CODES.rateLimited);
    expect(room.status).toBe('reconnecting');
    vi.advanceTimersByTime(RATE_LIMITED_BACKOFF_MS - 1);
    window.dispatchEvent(new Event('online'));
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);
    latest().accept(5);
    expect(room.status).toBe('open');
    expect(latest().frames('sub')).toEqual([{ type: 'sub', key: 's', seq: 4 }]);
    expect(latest().frames('push')).toEqual([push]);
    // An ordinary drop afterwards is retried at once again.
    latest().drop();
    window.dispatchEvent(new Event('online'));
    expect(FakeSocket.all).toHaveLength(3);
  });
});

describe('presence size', () => {
  useFakeSockets();

  it('setPresence throws presence_too_large over the welcome limit, sends nothing, and keeps the old state', () => {
    const room = openRoom();
    latest().accept(0, { limits: { ...LIMITS, maxPresenceBytes: 20 } });
    room.setPresence('é'.repeat(9)); // 18 bytes of UTF-8 and 2 quotes: 20
    let thrown: unknown;
    try {
      room.setPresence('é'.repeat(10));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RoomError);
    expect((thrown as RoomError).code).toBe('presence_too_large');
    expect(latest().frames('presence')).toEqual([{ type: 'presence', state: 'é'.repeat(9) }]);
    latest().drop();
    redial().open();
    expect(latest().frames('hello')).toEqual([
      { type: 'hello', protocol: 1, secret: SECRET, presence: 'é'.repeat(9), acks: true },
    ]);
  });

  it('connect throws at the call for an oversized presence (DEFAULT_LIMITS before any welcome) and leaves nothing behind', () => {
    const max = DEFAULT_LIMITS.maxPresenceBytes;
    expect(() => openRoom({ presence: 'x'.repeat(max - 1) })).toThrow(new RoomError('presence_too_large'));
    expect(FakeSocket.all).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
    const room = openRoom({ presence: 'x'.repeat(max - 2) });
    latest().open();
    expect(latest().frames('hello')[0]!.secret).toBe(SECRET); // the failed call held no secret
    expect(() => room.setPresence({ name: 'x'.repeat(max) })).toThrow(RoomError);
  });
});
