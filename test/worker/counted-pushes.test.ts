// Counted pushes (n, origin): at most once by origin, the window of ORIGIN_WINDOW numbers,
// bad frames, relays, HTTP, and what survives hibernation, eviction and restarts.
// The busy-room case and the window's size are in test/worker-counted; tokens in worker-access; rates in
// worker-rate-limits; storage caps in worker-caps; the retention wipe in worker-small-limits.
import { abortAllDurableObjects, evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ORIGIN_WINDOW } from '../../protocol/limits.ts';
import {
  connect,
  connectClient,
  counted,
  freshRoom,
  http,
  idOf,
  originOf,
  push,
  roomStub,
  secretOf,
  type Msg,
  type TestSocket,
} from './helpers.ts';

const O = originOf('alice');

/** The values a room holds for `key`, as a new DriftDB socket gets them. */
async function stored(room: string, key: string): Promise<unknown[]> {
  const s = await connect(room);
  s.send({ type: 'get', key, seq: 0 });
  const init = await s.until((m) => m.type === 'init');
  s.close();
  return init.data.map((e: { value: unknown }) => e.value);
}

/** Acks and errors, in order, of what one socket got back. */
const replies = async (s: TestSocket): Promise<Msg[]> =>
  (await s.drain()).filter((m) => m.type === 'ack' || m.type === 'error');

const sendHttp = (room: string, body: unknown, query = '') =>
  http(`/room/${room}/send${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('counted pushes', () => {
  it('are applied once: a resend of (origin, n) gets the original seq, whatever its id or socket', async () => {
    const room = freshRoom();
    const { s: tab } = await connectClient(room, 'alice');
    for (const n of [1, 2, 3]) tab.send(counted('log', `v${n}`, n, O));
    expect(await replies(tab)).toEqual([
      { type: 'ack', id: 'n1', seq: 1 },
      { type: 'ack', id: 'n2', seq: 2 },
      { type: 'ack', id: 'n3', seq: 3 },
    ]);
    // Resent with another id: still the same push, known by its origin and number.
    tab.send(counted('log', 'v2', 2, O, 'append', 'again'));
    expect(await replies(tab)).toEqual([{ type: 'ack', id: 'again', seq: 2, duplicate: true }]);
    // Another tab, with a client ID of its own, recovering the outbox: the same answers.
    const { s: other } = await connectClient(room, 'alice-other-tab');
    for (const n of [1, 2, 3]) other.send(counted('log', `v${n}`, n, O));
    other.send(counted('log', 'v4', 4, O));
    expect(await replies(other)).toEqual([
      { type: 'ack', id: 'n1', seq: 1, duplicate: true },
      { type: 'ack', id: 'n2', seq: 2, duplicate: true },
      { type: 'ack', id: 'n3', seq: 3, duplicate: true },
      { type: 'ack', id: 'n4', seq: 4 },
    ]);
    expect(await stored(room, 'log')).toEqual(['v1', 'v2', 'v3', 'v4']);
    // Another origin's n=1 is another push.
    other.send(counted('log', 'theirs', 1, originOf('bob')));
    expect(await replies(other)).toEqual([{ type: 'ack', id: 'n1', seq: 5 }]);
  });

  it('cannot be made to vanish by naming what others see: a client ID is no origin', async () => {
    const room = freshRoom();
    // Alice uses her hello secret as her outbox's origin too; her client ID is public.
    const { s: alice } = await connectClient(room, 'alice');
    alice.send(counted('log', 'alice', 1, secretOf('alice')));
    expect(await replies(alice)).toEqual([{ type: 'ack', id: 'n1', seq: 1 }]);
    const { s: mallory } = await connectClient(room, 'mallory');
    mallory.send(counted('log', 'mallory', 1, idOf('alice')));
    mallory.send(counted('log', 'mallory', 2, idOf('alice')));
    expect(await replies(mallory)).toEqual([
      { type: 'ack', id: 'n1', seq: 2 },
      { type: 'ack', id: 'n2', seq: 3 },
    ]);
    // Nor did Mallory's numbers claim Alice's next one.
    alice.send(counted('log', 'alice', 2, secretOf('alice')));
    expect(await replies(alice)).toEqual([{ type: 'ack', id: 'n2', seq: 4 }]);
    expect(await stored(room, 'log')).toEqual(['alice', 'mallory', 'mallory', 'alice']);
  });

  it('apply a new n below the highest, and refuse one ORIGIN_WINDOW below it with expired, storing nothing', async () => {
    const room = freshRoom();
    const { s } = await connectClient(room, 'alice');
    const top = ORIGIN_WINDOW + 500;
    s.send(counted('log', 'early', 2, O));
    s.send(counted('log', 'top', top, O));
    // Just inside the window: new, so applied, though below the highest.
    s.send(counted('log', 'late', top - ORIGIN_WINDOW + 1, O));
    // At the window's edge, and n=2 (remembered before the window moved past it): too old to tell.
    s.send(counted('log', 'edge', top - ORIGIN_WINDOW, O));
    s.send(counted('log', 'early', 2, O));
    expect(await replies(s)).toEqual([
      { type: 'ack', id: 'n2', seq: 1 },
      { type: 'ack', id: `n${top}`, seq: 2 },
      { type: 'ack', id: `n${top - ORIGIN_WINDOW + 1}`, seq: 3 },
      {
        type: 'error',
        code: 'expired',
        id: `n${top - ORIGIN_WINDOW}`,
        key: 'log',
        message: `Push n=${top - ORIGIN_WINDOW} is 1000 or more below the highest n of its origin (ORIGIN_WINDOW): it may have been applied, so it is not applied now`,
      },
      {
        type: 'error',
        code: 'expired',
        id: 'n2',
        key: 'log',
        message: `Push n=2 is 1000 or more below the highest n of its origin (ORIGIN_WINDOW): it may have been applied, so it is not applied now`,
      },
    ]);
    expect(await stored(room, 'log')).toEqual(['early', 'top', 'late']);
    // The socket goes on, and the refusals took no seq.
    s.send(counted('log', 'next', top + 1, O));
    expect(await replies(s)).toEqual([{ type: 'ack', id: `n${top + 1}`, seq: 4 }]);
  });

  it('stay apart from the message-ID window, which pushes without n keep', async () => {
    const room = freshRoom();
    const { s } = await connectClient(room, 'alice');
    s.send(push('log', 'plain', 'append', 'm1'));
    s.send(counted('log', 'counted', 1, O, 'append', 'm1'));
    s.send(push('log', 'plain', 'append', 'm1'));
    s.send(counted('log', 'counted', 1, O, 'append', 'm1'));
    expect(await replies(s)).toEqual([
      { type: 'ack', id: 'm1', seq: 1 },
      { type: 'ack', id: 'm1', seq: 2 },
      { type: 'ack', id: 'm1', seq: 1, duplicate: true },
      { type: 'ack', id: 'm1', seq: 2, duplicate: true },
    ]);
    expect(await stored(room, 'log')).toEqual(['plain', 'counted']);
  });

  it('count relays, replaces and compactions too: a resent relay reaches nobody twice', async () => {
    const room = freshRoom();
    const { s } = await connectClient(room, 'alice');
    const { s: watcher } = await connectClient(room, 'watcher');
    watcher.send({ type: 'sub', key: 'cursor', replay: false });
    await watcher.drain();
    s.send(counted('cursor', { x: 1 }, 1, O, 'relay'));
    s.send(counted('cursor', { x: 1 }, 1, O, 'relay'));
    s.send(counted('kv', 'first', 2, O, 'replace'));
    s.send(counted('kv', 'first', 2, O, 'replace'));
    s.send(counted('kv', 'snapshot', 3, O, { type: 'compact', seq: 2 }));
    s.send(counted('kv', 'snapshot', 3, O, { type: 'compact', seq: 2 }));
    expect(await replies(s)).toEqual([
      { type: 'ack', id: 'n1', seq: 1 },
      { type: 'ack', id: 'n1', seq: 1, duplicate: true },
      { type: 'ack', id: 'n2', seq: 2 },
      { type: 'ack', id: 'n2', seq: 2, duplicate: true },
      { type: 'ack', id: 'n3', seq: 2 },
      { type: 'ack', id: 'n3', seq: 2, duplicate: true },
    ]);
    expect(await watcher.drain()).toEqual([
      { type: 'push', key: 'cursor', value: { x: 1 }, seq: 1, client: idOf('alice') },
    ]);
    expect(await stored(room, 'kv')).toEqual(['snapshot']);
  });

  it('refuse a bad n or origin with bad_message, the push named by its id; nothing stored, the socket usable', async () => {
    const room = freshRoom();
    const { s } = await connectClient(room, 'alice');
    const base = { type: 'push', key: 'log', value: 'x', action: { type: 'append' } };
    const cases: [unknown, string][] = [
      [{ ...base, id: 'a', n: 1.5, origin: O }, 'Invalid push: n must be a whole number, not 1.5'],
      [{ ...base, id: 'b', n: 0, origin: O }, 'Invalid push: n must be at least 1, not 0'],
      [{ ...base, id: 'c', n: -3, origin: O }, 'Invalid push: n must be at least 1, not -3'],
      [{ ...base, id: 'd', n: '7', origin: O }, 'Invalid push: n must be a number, not "7"'],
      [{ ...base, id: 'e', n: 2 ** 53, origin: O }, `Invalid push: n must be at most ${2 ** 53 - 1}, not ${2 ** 53}`],
      [{ ...base, id: 'f', n: 1 }, 'Invalid push: origin is missing: a push with n names its origin'],
      [{ ...base, id: 'g', origin: O }, 'Invalid push: n is missing: a push with an origin carries its n'],
      [{ ...base, n: 1, origin: O }, 'Invalid push: id is missing: a push with n carries an id for its ack'],
      [{ ...base, id: 'h', n: 1, origin: 'short' }, 'Invalid push: origin must be at least 16 characters long, not 5'],
      [
        { ...base, id: 'i', n: 1, origin: 'o'.repeat(65) },
        'Invalid push: origin must be at most 64 characters long, not 65',
      ],
      [{ ...base, id: 'j', n: 1, origin: 42 }, 'Invalid push: origin must be a string, not 42'],
    ];
    for (const [frame] of cases) s.send(frame);
    expect(await s.drain()).toEqual(
      cases.map(([frame, message]) => {
        const id = (frame as { id?: string }).id;
        return { type: 'error', code: 'bad_message', message, ...(id === undefined ? {} : { id }) };
      }),
    );
    expect(await stored(room, 'log')).toEqual([]);
    // None of them was remembered, as applied or at all: n=1 of O is new.
    s.send(counted('log', 'fine', 1, O));
    expect(await replies(s)).toEqual([{ type: 'ack', id: 'n1', seq: 1 }]);
  });

  it('are remembered across hibernation, eviction and a restart of every object', async () => {
    const room = freshRoom();
    const { s } = await connectClient(room, 'alice');
    for (const n of [1, 2, 3]) s.send(counted('log', `v${n}`, n, O));
    await s.drain();
    await evictDurableObject(roomStub(room), { webSockets: 'hibernate' });
    s.send(counted('log', 'v1', 1, O));
    expect(await replies(s)).toEqual([{ type: 'ack', id: 'n1', seq: 1, duplicate: true }]);

    await evictDurableObject(roomStub(room), { webSockets: 'close' });
    const { s: back } = await connectClient(room, 'alice');
    back.send(counted('log', 'v2', 2, O));
    expect(await replies(back)).toEqual([{ type: 'ack', id: 'n2', seq: 2, duplicate: true }]);

    await abortAllDurableObjects();
    const { s: again } = await connectClient(room, 'alice');
    again.send(counted('log', 'v3', 3, O));
    again.send(counted('log', 'v4', 4, O));
    const [dup, fresh] = await replies(again);
    expect(dup).toEqual({ type: 'ack', id: 'n3', seq: 3, duplicate: true });
    expect(fresh).toMatchObject({ type: 'ack', id: 'n4' });
    expect(await stored(room, 'log')).toEqual(['v1', 'v2', 'v3', 'v4']);
  });

  it('work over HTTP under the same origin, with no ?client=, and refuse bad ones with 400', async () => {
    const room = freshRoom();
    const first = await sendHttp(room, counted('log', 'by http', 1, O));
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ type: 'ack', id: 'n1', seq: 1 });
    // The socket that comes back later resends it: a duplicate.
    const { s } = await connectClient(room, 'alice');
    s.send(counted('log', 'by http', 1, O));
    s.send(counted('log', 'by socket', 2, O));
    expect(await replies(s)).toEqual([
      { type: 'ack', id: 'n1', seq: 1, duplicate: true },
      { type: 'ack', id: 'n2', seq: 2 },
    ]);
    const again = await sendHttp(room, counted('log', 'by socket', 2, O));
    expect(await again.json()).toEqual({ type: 'ack', id: 'n2', seq: 2, duplicate: true });

    await sendHttp(room, counted('log', 'far ahead', 2 + ORIGIN_WINDOW, O));
    const old = await sendHttp(room, counted('log', 'old', 2, O));
    expect(old.status).toBe(400);
    expect(await old.json()).toMatchObject({ type: 'error', code: 'expired', id: 'n2', key: 'log' });
    const bad = await sendHttp(room, { ...push('log', 'x', 'append', 'z'), n: 1 });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      type: 'error',
      code: 'bad_message',
      message: 'Invalid push: origin is missing: a push with n names its origin',
    });
    expect(await stored(room, 'log')).toEqual(['by http', 'by socket', 'far ahead']);
  });
});
