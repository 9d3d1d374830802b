/**
 * What travels from a fanned-out room's object (the root) to its leaves
 * (docs/hot-rooms.md): one batch per turn, numbered. Batch numbers, not seqs,
 * chain the batches: seqs skip (a restart reserves a new block), so a leaf
 * could not tell a gap from a skip by seq alone.
 *
 * A batch is encoded once, as CBOR, and the same bytes go to every leaf (RPC
 * would otherwise serialise the items again per leaf) and into the root's ring.
 */
import type { PresenceOut, PushOut } from '../protocol/messages.ts';
import { fromCbor, toCbor } from './codec.ts';

/** A push as the root applied it: what a leaf delivers, and what its tail cache needs to replay it. */
export interface PushItem {
  t: 'push';
  out: PushOut;
  /** The value holds byte strings (JSON sockets get arrays of numbers). */
  bytes: boolean;
  /** Stored: 'append' or 'replace'; 'relay' is delivered and forgotten. */
  act: 'relay' | 'append' | 'replace';
  /** The subject's floor after it: a replay from below must be a reset, which only the root can send. */
  floor: number;
}

/** A compaction: not delivered, but it changes what a replay of the subject holds. */
export interface CompactItem {
  t: 'compact';
  key: string;
  seq: number;
}

/** The retention wipe: the room's data is gone, and its sockets are closed with 4000. */
export interface WipeItem {
  t: 'wipe';
  /** A replay from at or below it is a reset (the root's wipeFloor). */
  floor: number;
}

/**
 * One window of the room's presence, ordered and coalesced at the root
 * (worker/root-presence.ts): every leaf announces it to its members but each
 * event's subject.
 */
export interface PresenceItem {
  t: 'presence';
  events: PresenceOut[];
  /**
   * The room's members after this window, shown or not (`maxRosterPeers`): each
   * leaf tells its members how many they are not shown. Absent from a root that
   * predates the bound; a leaf then tells nothing.
   */
  members?: number;
  /** Members that joined in this window but wait outside the view: counted in `members`, announced by no event. */
  unshown?: string[];
}

export type LinkItem = PushItem | CompactItem | WipeItem | PresenceItem;

export interface LinkBatch {
  /** The root's incarnation: batch numbers start again at 1 in each. */
  epoch: number;
  n: number;
  items: LinkItem[];
}

/**
 * A batch stays under this, far below RPC's 32 MiB: one that would not is
 * split into several consecutive batches (a single larger item goes alone).
 */
export const LINK_BATCH_BYTES = 1024 * 1024;

export const encodeBatch = (b: LinkBatch): Uint8Array => toCbor(b);
export const decodeBatch = (bytes: Uint8Array): LinkBatch => fromCbor(bytes) as LinkBatch;

/**
 * `items` as encoded batches numbered from `n` on, each under `max` bytes
 * (a single larger item goes alone). Usually one, encoded once.
 */
export function encodeBatches(epoch: number, n: number, items: LinkItem[], max = LINK_BATCH_BYTES): Uint8Array[] {
  const whole = encodeBatch({ epoch, n, items });
  if (whole.byteLength <= max || items.length === 1) return [whole];
  const left = encodeBatches(epoch, n, items.slice(0, items.length >> 1), max);
  return [...left, ...encodeBatches(epoch, n + left.length, items.slice(items.length >> 1), max)];
}
