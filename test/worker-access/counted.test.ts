// Counted pushes with tokens: an origin is one user's. Another user naming the same
// origin secret has an origin of its own; the same user's other tab resends as a duplicate.
import { describe, expect, it } from 'vitest';
import { counted, freshRoom, http, originOf, secretOf, TestSocket } from '../worker/helpers.ts';
import { tokenFor } from './tokens.ts';

const O = originOf('shared');

async function tab(room: string, user: string, device: string): Promise<TestSocket> {
  const res = await http(`/room/${room}/connect?token=${await tokenFor(room, user)}`, {
    headers: { Upgrade: 'websocket' },
  });
  expect(res.status).toBe(101);
  const s = new TestSocket(res.webSocket!);
  s.send({ type: 'hello', protocol: 1, secret: secretOf(device) });
  expect(await s.until((m) => m.type === 'welcome')).toMatchObject({ client: user });
  return s;
}

/** The next `count` acks and errors `s` receives (a leaf sends them once their batch is back from the room's object). */
async function replies(s: TestSocket, count: number) {
  const got = [];
  while (got.length < count) got.push(await s.until((m) => m.type === 'ack' || m.type === 'error'));
  return got;
}

/** A private room of one object, or one fanned out over `leaves` (its pushes reach the room's object from a leaf). */
async function privateRoom(leaves: number): Promise<string> {
  if (!leaves) return `p_${freshRoom()}`;
  const admin = await tokenFor('p_*', 'operator', { rights: { admin: true } });
  const res = await http('/new', {
    method: 'POST',
    body: JSON.stringify({ private: true, leaves }),
    headers: { authorization: `Bearer ${admin}` },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { room: string }).room;
}

describe('counted pushes with tokens', () => {
  it.each([
    ['a room of one object', 0],
    ['a room fanned out over 3 leaves', 3],
  ])(
    "let no other user make a user's pushes vanish, and let the same user's other tab resend them, in %s",
    async (_, leaves) => {
      const room = await privateRoom(leaves);
      const alice = await tab(room, 'alice', 'alice-tab-1');
      alice.send(counted('log', 'alice 1', 1, O));
      alice.send(counted('log', 'alice 2', 2, O));
      expect(await replies(alice, 2)).toEqual([
        { type: 'ack', id: 'n1', seq: 1 },
        { type: 'ack', id: 'n2', seq: 2 },
      ]);

      // Mallory knows (or guesses) the origin secret: her n=1..3 are hers, all applied.
      const mallory = await tab(room, 'mallory', 'mallory-tab');
      for (const n of [1, 2, 3]) mallory.send(counted('log', `mallory ${n}`, n, O));
      expect(await replies(mallory, 3)).toEqual([
        { type: 'ack', id: 'n1', seq: 3 },
        { type: 'ack', id: 'n2', seq: 4 },
        { type: 'ack', id: 'n3', seq: 5 },
      ]);

      // Alice's n=3 was not pre-claimed by Mallory's, and her second tab recovers the outbox.
      const again = await tab(room, 'alice', 'alice-tab-2');
      for (const n of [1, 2, 3]) again.send(counted('log', `alice ${n}`, n, O));
      expect(await replies(again, 3)).toEqual([
        { type: 'ack', id: 'n1', seq: 1, duplicate: true },
        { type: 'ack', id: 'n2', seq: 2, duplicate: true },
        { type: 'ack', id: 'n3', seq: 6 },
      ]);

      // Over HTTP, with alice's token: her origin still.
      const res = await http(`/room/${room}/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenFor(room, 'alice')}` },
        body: JSON.stringify(counted('log', 'alice 3', 3, O)),
      });
      expect(await res.json()).toEqual({ type: 'ack', id: 'n3', seq: 6, duplicate: true });

      again.send({ type: 'get', key: 'log', seq: 0 });
      const init = await again.until((m) => m.type === 'init');
      expect(init.data.map((e: { value: string; client: string }) => `${e.client}: ${e.value}`)).toEqual([
        'alice: alice 1',
        'alice: alice 2',
        'mallory: mallory 1',
        'mallory: mallory 2',
        'mallory: mallory 3',
        'alice: alice 3',
      ]);
    },
  );
});
