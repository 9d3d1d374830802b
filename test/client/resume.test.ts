import { describe, expect, it } from 'vitest';
import type { SubjectEvent } from '../../client/index.ts';
import { latest, openRoom, redial, SECRET, useFakeSockets } from './fake-socket.ts';

const push = (key: string, seq: number, client = 'other') => ({ type: 'push', key, value: `v${seq}`, seq, client });
const entries = (...seqs: number[]) => seqs.map((seq) => ({ value: `v${seq}`, seq }));

function record() {
  const events: SubjectEvent[] = [];
  const listener = (event: SubjectEvent) => void events.push(event);
  const seqs = () =>
    events.flatMap((event): (number | string)[] => (event.type === 'message' ? [event.seq] : [event.type]));
  return { events, listener, seqs };
}

describe('subscribe frames', () => {
  useFakeSockets();

  it('says hello with the secret and subscribes right behind it, without waiting for the welcome', () => {
    const room = openRoom({ presence: { name: 'ann' } });
    room.subscribe('a', () => {});
    room.subscribe('b', () => {}, { seq: 41 });
    room.subscribe('c', () => {}, { last: 20 });
    room.subscribe('d', () => {}, { replay: false });
    const socket = latest();
    socket.open();
    expect(socket.frames()).toEqual([
      { type: 'hello', protocol: 1, secret: SECRET, presence: { name: 'ann' }, acks: true },
      { type: 'sub', key: 'a' },
      { type: 'sub', key: 'b', seq: 41 },
      { type: 'sub', key: 'c', last: 20 },
      { type: 'sub', key: 'd', last: 1 },
    ]);
    // A subscription made between the hello and the welcome goes at once; the welcome sends none again.
    room.subscribe('e', () => {});
    socket.receive({ type: 'welcome', protocol: 1, conn: 'c1', client: 'me', seq: 50, limits: {}, peers: [] });
    expect(socket.frames('sub').map((f) => f.key)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('offers its hello and subscriptions in the upgrade, and sends one made while it opens once it is open', () => {
    const early = openRoom();
    early.subscribe('a', () => {}, { last: 5 });
    early.subscribe('b', () => {});
    early.subscribe('b', () => {}, { replay: false });
    // Before the first dial's socket opened: a dial puts them in the upgrade.
    latest().drop();
    const socket = redial();
    expect(socket.protocols?.[0]).toBe('edgeroom.v1');
    expect(socket.early.map((f) => JSON.parse(f))).toEqual([
      { type: 'hello', protocol: 1, secret: SECRET, acks: true },
      { type: 'sub', key: 'a', last: 5 },
      { type: 'sub', key: 'b' },
      { type: 'sub', key: 'b', last: 1 },
    ]);
    // Made while the socket opens: nothing is sent on a socket that is not open, then it goes first.
    early.subscribe('c', () => {});
    expect(socket.sent).toEqual([]);
    socket.open();
    expect(socket.sent.map((f) => JSON.parse(f))).toEqual([{ type: 'ping' }, { type: 'sub', key: 'c' }]);
  });

  it('sends its hello and subscriptions once open when they would not fit in the upgrade (4096 characters)', () => {
    // `(` is escaped in the upgrade (3 characters): 1,400 of them fit in the presence limit, not in the upgrade.
    const presence = '('.repeat(1400);
    const room = openRoom({ presence });
    room.subscribe('a', () => {});
    latest().drop();
    const socket = redial();
    expect(socket.protocols).toEqual(['edgeroom.v1']);
    socket.open();
    expect(socket.sent.map((f) => JSON.parse(f))).toEqual([
      { type: 'ping' },
      { type: 'hello', protocol: 1, secret: SECRET, presence, acks: true },
      { type: 'sub', key: 'a' },
    ]);
  });

  it('offers a presence with parentheses in header-safe form (a browser throws on anything else)', () => {
    const presence = { name: 'Ann (admin)', note: 'it\'s 100% {fine}: "ok", é' };
    openRoom({ presence });
    // FakeSocket refuses a protocol that is not a header token, as a browser does.
    expect(latest().early.map((f) => JSON.parse(f).presence)).toEqual([presence]);
  });

  it('sends unsub only when the last listener of a subject leaves', () => {
    const room = openRoom();
    latest().accept();
    const offA = room.subscribe('s', () => {});
    const offB = room.subscribe('s', () => {});
    offA();
    offA();
    expect(latest().frames('unsub')).toEqual([]);
    offB();
    expect(latest().frames('unsub')).toEqual([{ type: 'unsub', key: 's' }]);
  });
});

describe('resume bookkeeping', () => {
  useFakeSockets();

  it('resubscribes from the last seq seen and drops everything at or below it', () => {
    const room = openRoom();
    const { listener, seqs } = record();
    room.subscribe('s', listener);
    let socket = latest();
    socket.accept(0);
    socket.receive({ type: 'init', key: 's', data: entries(2, 3) });
    socket.receive(push('s', 5));
    socket.drop();
    expect(room.status).toBe('reconnecting');

    socket = redial();
    socket.accept(9);
    expect(socket.frames('sub')).toEqual([{ type: 'sub', key: 's', seq: 5 }]);
    // A server replaying too much must not cause duplicates.
    socket.receive({ type: 'init', key: 's', data: entries(3, 5, 7, 9) });
    socket.receive(push('s', 9));
    socket.receive(push('s', 10));
    expect(seqs()).toEqual([2, 3, 5, 7, 9, 10]);

    socket.drop();
    socket = redial();
    socket.accept(10);
    expect(socket.frames('sub')).toEqual([{ type: 'sub', key: 's', seq: 10 }]);
  });

  it('ignores live pushes while its replay is pending: they arrive in the replay, in order', () => {
    const room = openRoom();
    const { listener, seqs } = record();
    latest().accept(3);
    room.subscribe('s', listener);
    latest().receive(push('s', 4)); // processed by the server before our sub
    latest().receive({ type: 'init', key: 's', data: entries(1, 4), more: true });
    latest().receive(push('s', 5)); // out of contract, but must not jump the replay
    latest().receive({ type: 'init', key: 's', data: entries(5) });
    latest().receive(push('s', 6));
    expect(seqs()).toEqual([1, 4, 5, 6]);
  });

  it('ignores pushes that arrive before the welcome (the server has not read the hello yet)', () => {
    const room = openRoom();
    const { listener, seqs } = record();
    room.subscribe('s', listener);
    latest().accept(0);
    latest().receive({ type: 'init', key: 's', data: [] });
    latest().drop();
    const socket = redial();
    socket.open();
    socket.receive(push('s', 7));
    expect(room.get('s')).toBeUndefined();
    socket.receive({ type: 'welcome', protocol: 1, conn: 'c2', client: 'me', seq: 7, limits: {}, peers: [] });
    expect(socket.frames('sub')).toEqual([{ type: 'sub', key: 's', seq: 0 }]);
    socket.receive({ type: 'init', key: 's', data: entries(3, 7) });
    expect(seqs()).toEqual([3, 7]);
  });

  it('a refused subscription does not take the replay of the next one', () => {
    const room = openRoom();
    const errors: string[] = [];
    room.on('error', (error) => errors.push(error.code));
    const refused = record();
    const accepted = record();
    latest().accept(2);
    room.subscribe('s', refused.listener);
    latest().receive({ type: 'error', code: 'too_many_subscriptions', message: 'limit', key: 's' });
    room.subscribe('s', accepted.listener);
    latest().receive({ type: 'init', key: 's', data: entries(1, 2) });
    latest().receive(push('s', 3));
    expect(accepted.seqs()).toEqual([1, 2, 3]);
    expect(errors).toEqual(['too_many_subscriptions']);
  });

  it('continues a replay split over init frames with more:true', () => {
    const room = openRoom();
    const { listener, seqs } = record();
    room.subscribe('s', listener);
    latest().accept(6);
    latest().receive({ type: 'init', key: 's', data: entries(1, 2), more: true });
    latest().receive({ type: 'init', key: 's', data: entries(3, 4), more: true });
    latest().receive({ type: 'init', key: 's', data: entries(6) });
    expect(seqs()).toEqual([1, 2, 3, 4, 6]);
    expect(room.get('s')).toBe('v6');
  });

  it('gives each listener its own checkpoint: a late listener gets history, the early one no duplicates', () => {
    const room = openRoom();
    const early = record();
    const late = record();
    room.subscribe('s', early.listener);
    latest().accept(2);
    latest().receive({ type: 'init', key: 's', data: entries(1, 2) });
    room.subscribe('s', late.listener);
    expect(latest().frames('sub')).toEqual([
      { type: 'sub', key: 's' },
      { type: 'sub', key: 's' },
    ]);
    latest().receive({ type: 'init', key: 's', data: entries(1, 2) });
    latest().receive(push('s', 3));
    expect(early.seqs()).toEqual([1, 2, 3]);
    expect(late.seqs()).toEqual([1, 2, 3]);
  });

  it('last: N delivers the tail then live, and resumes after the tail', () => {
    const room = openRoom();
    const { listener, seqs } = record();
    room.subscribe('chat', listener, { last: 2 });
    latest().accept(30);
    latest().receive({ type: 'init', key: 'chat', data: entries(12, 20) });
    latest().receive(push('chat', 31));
    expect(seqs()).toEqual([12, 20, 31]);
    latest().drop();
    redial().accept(40);
    expect(latest().frames('sub')).toEqual([{ type: 'sub', key: 'chat', seq: 31 }]);
  });

  it('an empty replay still moves the checkpoint to the welcome seq, so a reconnect does not replay history', () => {
    const room = openRoom();
    room.subscribe('chat', () => {}, { last: 5 });
    latest().accept(30);
    latest().receive({ type: 'init', key: 'chat', data: [] });
    latest().drop();
    redial().accept(35);
    expect(latest().frames('sub')).toEqual([{ type: 'sub', key: 'chat', seq: 30 }]);
  });

  it('replay:false skips stored values but keeps the cache, then resumes like any other subscription', () => {
    const room = openRoom();
    const { listener, seqs } = record();
    room.subscribe('k', listener, { replay: false });
    latest().accept(8);
    latest().receive({ type: 'init', key: 'k', data: entries(7) });
    expect(room.get('k')).toBe('v7');
    latest().receive(push('k', 9));
    expect(seqs()).toEqual([9]);
    latest().drop();
    redial().accept(12);
    expect(latest().frames('sub')).toEqual([{ type: 'sub', key: 'k', seq: 9 }]);
    latest().receive({ type: 'init', key: 'k', data: entries(11) });
    expect(seqs()).toEqual([9, 11]);
  });

  it('reset: tells the listener, then delivers the current state, and replaces the cache', () => {
    const room = openRoom();
    const { listener, seqs } = record();
    room.subscribe('s', listener);
    latest().accept(5);
    latest().receive({ type: 'init', key: 's', data: entries(4, 5) });
    latest().drop(4000);
    redial().accept(9);
    // Compacted at 8 (a snapshot carries the seq it replaced), or wiped and refilled.
    latest().receive({ type: 'init', key: 's', data: entries(3), reset: true, more: true });
    latest().receive({ type: 'init', key: 's', data: entries(9), reset: true });
    latest().receive(push('s', 10));
    expect(seqs()).toEqual([4, 5, 'reset', 3, 9, 10]);
    expect(room.get('s')).toBe('v10');
  });

  it('a wiped room with nothing left: reset, an empty cache, and no message', () => {
    const room = openRoom();
    const { seqs, listener } = record();
    room.subscribe('s', listener);
    latest().accept(5);
    latest().receive({ type: 'init', key: 's', data: entries(5) });
    latest().drop(4000);
    redial().accept(5);
    latest().receive({ type: 'init', key: 's', data: [], reset: true });
    expect(seqs()).toEqual([5, 'reset']);
    expect(room.get('s')).toBeUndefined();
  });

  it('tells its own echo apart by the client IDs the server gave it, also after a 4001 changed it', () => {
    const room = openRoom();
    const { events, listener } = record();
    room.subscribe('s', listener);
    latest().accept();
    latest().receive({ type: 'init', key: 's', data: [] });
    latest().receive(push('s', 1, 'me'));
    latest().receive(push('s', 2, 'other'));
    latest().drop(4001);
    const socket = redial();
    socket.open();
    const [hello] = socket.frames('hello');
    expect(hello!.secret).not.toBe(SECRET);
    expect(room.clientId).toBe('me'); // until the next welcome says otherwise
    socket.receive({ type: 'welcome', protocol: 1, conn: 'c2', client: 'me-again', seq: 3, limits: {}, peers: [] });
    expect(room.clientId).toBe('me-again');
    socket.receive({ type: 'init', key: 's', data: [] });
    socket.receive(push('s', 4, 'me-again'));
    socket.receive(push('s', 5, 'me'));
    socket.receive(push('s', 6, SECRET)); // a secret is not a client ID
    const own = events.map((event) => event.type === 'message' && event.own);
    expect(own).toEqual([true, false, true, true, false]);
  });
});
