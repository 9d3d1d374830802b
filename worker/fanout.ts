/**
 * Fanned-out rooms (docs/hot-rooms.md): which rooms have leaves, how many, and
 * which leaf a socket lands on. Pure, so the Worker decides with no lookup.
 *
 * The number of leaves K is part of the room ID, chosen at creation
 * (`POST /new` with `{"leaves": K}` gives `f<K>_` and 24 random characters, or
 * `p_f<K>_…` for a private room). The Worker routes every upgrade without
 * asking anyone, and a room that did not opt in never pays a hop. The random
 * tail has no `_`, so no ID `POST /new` made before this existed can match.
 */
import { MAX_LEAVES } from '../protocol/limits.ts';
import { PRIVATE_PREFIX } from './gate.ts';
import { ROOM_ID_LENGTH, randomId } from './ids.ts';

const FANOUT_ID = new RegExp(`^(?:${PRIVATE_PREFIX})?f([1-9][0-9]?)_[A-Za-z0-9]{${ROOM_ID_LENGTH}}$`);

/** The ID of a new fanned-out room with `leaves` leaves. */
export const newFanoutRoomId = (leaves: number, isPrivate: boolean): string =>
  `${isPrivate ? PRIVATE_PREFIX : ''}f${leaves}_${randomId(ROOM_ID_LENGTH)}`;

/** How many leaves a room has: 0 for a room of one object (every room that did not opt in). */
export function leavesOf(room: string): number {
  const k = Number(FANOUT_ID.exec(room)?.[1] ?? 0);
  return k >= 2 && k <= MAX_LEAVES ? k : 0;
}

/**
 * The leaf a socket lands on. The Worker routes by what the upgrade carries: a
 * token's user (which is then the client ID), else the client ID derived from
 * the secret of a hello among its early frames (worker/early.ts), else the
 * `client` query parameter (a client's own client ID, as its last welcome
 * said: only a routing hint, since the leaf still derives the ID from the
 * secret), else at random. The same client ID therefore
 * lands on the same leaf, and a socket that replaces another (close 4001) finds
 * it there. Sockets with no identity (DriftDB's) have nothing to replace, so
 * they are spread at random rather than by address, which would put a whole
 * office behind one NAT on one leaf.
 */
export function leafFor(leaves: number, routingKey: string | undefined): number {
  if (routingKey === undefined || routingKey === '') return Math.floor(Math.random() * leaves);
  // FNV-1a: cheap, and stable across isolates and deploys, unlike anything seeded.
  let h = 0x811c9dc5;
  for (let i = 0; i < routingKey.length; i++) {
    h ^= routingKey.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % leaves;
}

/** The leaf object's name: `#` is not allowed in room IDs, so no leaf is ever someone's room. */
export const leafName = (room: string, leaf: number): string => `${room}#${leaf}`;

/** The routing hint's query parameter, and how long it may be. */
export const ROUTING_PARAM = 'client';
export const MAX_ROUTING_KEY = 64;
