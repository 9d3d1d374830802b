import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Status } from '../../client/index.ts';
import { CLOSE_CODES } from '../../protocol/limits.ts';
import { FakeSocket, latest, openRoom, redial, SECRET, useFakeSockets } from './fake-socket.ts';

describe('connection status', () => {
  useFakeSockets();

  it('moves connecting → open → reconnecting → open → closed, with one event per change', () => {
    const room = openRoom();
    const seen: Status[] = [room.status];
    room.on('status', (status) => seen.push(status));
    latest().accept();
    latest().drop();
    redial();
    latest().drop(); // a failed dial stays "reconnecting"
    redial().accept();
    room.close();
    room.close();
    expect(seen).toEqual(['connecting', 'open', 'reconnecting', 'open', 'closed']);
  });

  it('close() leaves no timer, closes the socket, and no listener hears anything after it; what it knew stays readable', () => {
    const room = openRoom();
    const heard: unknown[] = [];
    room.subscribe('s', (event) => heard.push(event));
    room.on('status', (status) => heard.push(status));
    latest().accept();
    latest().receive({ type: 'init', key: 's', data: [{ value: 1, seq: 1 }] });
    latest().drop();
    expect(vi.getTimerCount()).toBe(2); // heartbeat + pending reconnect
    room.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(room.get('s')).toBe(1); // the last value known, as it was at close
    heard.length = 0;
    latest().receive({ type: 'push', key: 's', value: 2, seq: 2 });
    expect(heard).toEqual([]);
  });

  it('close() from a status listener that hears "reconnecting" leaves no timer and dials no more', () => {
    const room = openRoom();
    room.on('status', (status) => status === 'reconnecting' && room.close());
    latest().accept();
    latest().drop();
    expect(room.status).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('close() while open closes the socket and detaches from it', () => {
    const room = openRoom();
    latest().accept();
    room.close();
    expect(latest().closedByClient).toBe(true);
    expect(latest().onmessage).toBeNull();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("gives up for good on close code 4003 (unsupported protocol), reporting the server's error once", () => {
    const room = openRoom();
    const errors: string[] = [];
    room.on('error', (error) => errors.push(error.code));
    latest().open();
    // As the server does (worker/presence.ts): the error frame, then the close.
    latest().receive({ type: 'error', code: 'unsupported_protocol', message: 'This server speaks protocol 1, not 2' });
    latest().drop(CLOSE_CODES.unsupportedProtocol);
    expect(room.status).toBe('closed');
    expect(errors).toEqual(['unsupported_protocol']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it.each([
    ['unauthorized', CLOSE_CODES.unauthorized],
    ['tokenExpired', CLOSE_CODES.tokenExpired],
    ['tokenRevoked', CLOSE_CODES.tokenRevoked],
    ['forbidden', CLOSE_CODES.forbidden],
  ])('gives up for good on close code %s (%i): dialing again with the same token cannot help', (_, code) => {
    const room = openRoom();
    latest().accept();
    latest().drop(code);
    expect(room.status).toBe('closed');
    expect(FakeSocket.all).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('still reconnects after the codes around them (4002, 4099, 4104)', () => {
    const room = openRoom();
    for (const code of [CLOSE_CODES.roomFull, 4099, 4104]) {
      latest().drop(code);
      expect(room.status).toBe('reconnecting');
      redial();
    }
  });
});

describe('heartbeat and half-open sockets', () => {
  useFakeSockets();

  it('pings with the exact text the server auto-answers', () => {
    openRoom({ heartbeat: 1000 });
    latest().accept();
    vi.advanceTimersByTime(1000);
    expect(latest().sent.at(-1)).toBe('{"type":"ping"}');
  });

  it("reports each ping's round trip as a latency event: one as a socket opens, then one per heartbeat", () => {
    const room = openRoom({ heartbeat: 1000 });
    const latencies: number[] = [];
    room.on('latency', (ms) => latencies.push(ms));
    latest().open();
    expect(latest().sent[0]).toBe('{"type":"ping"}'); // before the hello: the first figure at once
    vi.advanceTimersByTime(40);
    latest().receive({ type: 'pong', nonce: null });
    vi.advanceTimersByTime(960); // the heartbeat pings
    vi.advanceTimersByTime(7);
    latest().receive({ type: 'pong', nonce: null });
    latest().receive({ type: 'pong', nonce: 5 }); // an app's own ping's answer: not ours to time
    expect(latencies).toEqual([40, 7]);
    // Every socket, whatever made it: a new one pings as it opens too.
    latest().drop();
    redial().open();
    vi.advanceTimersByTime(12);
    latest().receive({ type: 'pong', nonce: null });
    expect(latencies).toEqual([40, 7, 12]);
  });

  it('drops a socket that stays silent for two periods and dials again', () => {
    const room = openRoom({ heartbeat: 1000 });
    const first = latest();
    first.accept();
    vi.advanceTimersByTime(1500);
    first.receive({ type: 'pong', nonce: null });
    vi.advanceTimersByTime(2000);
    expect(room.status).toBe('open'); // heard at 1500: silent for 1500 ms only
    vi.advanceTimersByTime(1000);
    expect(room.status).toBe('reconnecting');
    expect(first.closedByClient).toBe(true);
    expect(redial()).not.toBe(first);
  });

  it('gives up on a dial that never opens', () => {
    openRoom({ heartbeat: 1000 });
    vi.advanceTimersByTime(2999);
    expect(latest().closedByClient).toBe(false);
    vi.advanceTimersByTime(1);
    expect(latest().closedByClient).toBe(true);
    expect(redial()).not.toBe(FakeSocket.all[0]);
  });
});

describe('browser wake-ups', () => {
  useFakeSockets();
  const globals = globalThis as { window?: EventTarget; document?: EventTarget & { visibilityState?: string } };
  afterEach(() => {
    delete globals.window;
    delete globals.document;
  });

  it('dials at once on "online" and on becoming visible instead of waiting out the backoff, and unhooks on close', () => {
    const window = (globals.window = new EventTarget());
    const document = (globals.document = Object.assign(new EventTarget(), { visibilityState: 'visible' }));
    const room = openRoom({ minDelay: 60_000, maxDelay: 60_000 });
    latest().drop();
    expect(FakeSocket.all).toHaveLength(1);
    window.dispatchEvent(new Event('online'));
    expect(FakeSocket.all).toHaveLength(2);
    latest().drop();
    document.visibilityState = 'hidden';
    document.dispatchEvent(new Event('visibilitychange'));
    expect(FakeSocket.all).toHaveLength(2);
    document.visibilityState = 'visible';
    document.dispatchEvent(new Event('visibilitychange'));
    expect(FakeSocket.all).toHaveLength(3);
    room.close();
    window.dispatchEvent(new Event('online'));
    expect(FakeSocket.all).toHaveLength(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('on wake, drops an open socket that has gone quiet (a laptop back from sleep)', () => {
    const window = (globals.window = new EventTarget());
    const room = openRoom({ heartbeat: 10_000 });
    latest().accept();
    vi.setSystemTime(Date.now() + 60_000); // slept: no timers ran
    window.dispatchEvent(new Event('online'));
    expect(FakeSocket.all).toHaveLength(2);
    expect(room.status).toBe('reconnecting');
  });
});

describe('presence and direct messages', () => {
  useFakeSockets();

  it('keeps the peer snapshot current and announces each change', () => {
    const room = openRoom();
    const events: unknown[] = [];
    room.on('presence', (event) => events.push(event));
    const ann = { conn: 'c2', client: 'ann', state: { x: 1 } };
    latest().accept(0, { conn: 'c1', peers: [ann] });
    expect(room.conn).toBe('c1');
    expect([...room.peers.values()]).toEqual([ann]);
    const bob = { conn: 'c3', client: 'bob', state: null };
    latest().receive({ type: 'presence', event: 'join', peer: bob });
    latest().receive({ type: 'presence', event: 'update', peer: { ...ann, state: { x: 2 } } });
    latest().receive({ type: 'presence', event: 'leave', peer: bob });
    expect([...room.peers.values()]).toEqual([{ ...ann, state: { x: 2 } }]);
    expect(events.map((event) => (event as { event: string }).event)).toEqual(['sync', 'join', 'update', 'leave']);
  });

  it('sends presence now and again in every hello, and sends and receives direct messages', () => {
    const room = openRoom();
    const dms: unknown[] = [];
    room.on('dm', (dm) => dms.push(dm));
    latest().accept();
    room.setPresence({ cursor: 3 });
    room.dm('c9', { offer: 'sdp' });
    const [, presence, dm] = latest().frames();
    expect([presence, dm]).toEqual([
      { type: 'presence', state: { cursor: 3 } },
      { type: 'dm', to: 'c9', value: { offer: 'sdp' }, id: expect.any(String) },
    ]);
    latest().receive({ type: 'dm', from: 'c9', value: { answer: 'sdp' } });
    expect(dms).toEqual([{ type: 'dm', from: 'c9', value: { answer: 'sdp' } }]);
    latest().drop();
    redial().open();
    expect(latest().frames('hello')).toEqual([
      { type: 'hello', protocol: 1, secret: SECRET, presence: { cursor: 3 }, acks: true },
    ]);
  });
});
