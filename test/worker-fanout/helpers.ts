/**
 * Fanned-out rooms in tests: a room with K leaves, and clients placed on the
 * leaf of their choosing (through the `?client=` routing hint).
 */
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { expect } from 'vitest';
import { leafFor, leafName } from '../../worker/fanout.ts';
import type { RoomLeaf } from '../../worker/leaf.ts';
import type { Room } from '../../worker/room.ts';
import { connect, http, idOf, roomStub, secretOf, type Msg, type TestSocket } from '../worker/helpers.ts';

export async function newFanoutRoom(leaves: number): Promise<string> {
  const res = await http('/new', { method: 'POST', body: JSON.stringify({ leaves }) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { room: string }).room;
}

let made = 0;
/** A client name whose client ID the Worker routes to `leaf` of `leaves`. */
export function nameOnLeaf(leaves: number, leaf: number): string {
  for (;;) {
    const name = `c${++made}`;
    if (leafFor(leaves, idOf(name)) === leaf) return name;
  }
}

/**
 * An edgeroom client on leaf `leaf`: said hello with its secret, and welcomed.
 * It declines the roster (no presence frames among the pushes these tests read);
 * presence.test.ts is about presence.
 */
export async function clientOn(
  room: string,
  leaves: number,
  leaf: number,
): Promise<{ s: TestSocket; welcome: Msg; name: string }> {
  const name = nameOnLeaf(leaves, leaf);
  const s = await connect(room, `?client=${idOf(name)}`);
  s.send({ type: 'hello', protocol: 1, secret: secretOf(name), roster: false });
  const welcome = await s.next();
  expect(welcome.type).toBe('welcome');
  return { s, welcome, name };
}

export const leafStub = (room: string, leaf: number) => env.LEAVES.get(env.LEAVES.idFromName(leafName(room, leaf)));

export function leafStats(room: string, leaf: number): Promise<RoomLeaf['stats']> {
  return runInDurableObject(leafStub(room, leaf), (instance: RoomLeaf) => ({ ...instance.stats }));
}

/** Reads pushes of `key` until `count` have come; fails on a timeout. */
export async function pushesOf(s: TestSocket, key: string, count: number): Promise<Msg[]> {
  const got: Msg[] = [];
  while (got.length < count) got.push(await s.until((m) => m.type === 'push' && m.key === key));
  return got;
}

/**
 * Makes the room's next presence report from a leaf throw, once, as a failed
 * call would. Returns how many reports have failed so far.
 */
export async function failNextPresenceReport(room: string): Promise<() => number> {
  let throws = 0;
  await runInDurableObject(roomStub(room), (target: Room) => {
    const proto = Object.getPrototypeOf(target) as Room;
    const { presence } = proto;
    proto.presence = async function (this: Room, ...args: Parameters<Room['presence']>) {
      if (this !== target) return presence.apply(this, args);
      proto.presence = presence;
      throws++;
      throw new Error('injected presence failure');
    };
  });
  return () => throws;
}
