/**
 * A room of one object that outgrows it (docs/hot-rooms.md, Crossing the
 * threshold). Once FANOUT_AT_SOCKETS sockets are open at once, the room decides
 * to fan out, with K leaves for the crowd it saw, and does it the next time it
 * has no socket at all: after a deploy, when every client reconnects. Moving
 * sockets that are open would cut them, so the switch waits for a moment when
 * there are none.
 *
 * From then on the room answers an upgrade with 421 and the number of leaves
 * (LEAVES_HEADER), and the Worker sends the socket to a leaf and remembers K for
 * the room. The switch is one way: a room never folds back, so what a Worker
 * remembers can never be stale, and the room's ID never changes.
 */
import { FANOUT_AT_SOCKETS, MAX_LEAVES, SOCKETS_PER_LEAF } from '../protocol/limits.ts';
import * as z from '../protocol/zod.ts';
import type { Store } from './store.ts';

/** On the root's 421: how many leaves the room now has. On an upgrade sent to a leaf: the same. */
export const LEAVES_HEADER = 'x-edgeroom-leaves';
/** The root's answer to an upgrade once it has fanned out: the socket belongs on a leaf. */
export const MISDIRECTED = 421;

const Threshold = z._default(
  z.union([z.literal('off'), z.coerce.number().check(z.int(), z.gte(2))]),
  FANOUT_AT_SOCKETS,
);

/** The crowd that makes a room fan out, from `FANOUT_AT_SOCKETS`; undefined when it is "off". */
export function fanoutThreshold(env: object): number | undefined {
  const parsed = Threshold.safeParse((env as { FANOUT_AT_SOCKETS?: unknown }).FANOUT_AT_SOCKETS);
  if (!parsed.success) throw new Error(`Bad FANOUT_AT_SOCKETS in wrangler vars: ${z.prettifyError(parsed.error)}`);
  return parsed.data === 'off' ? undefined : parsed.data;
}

/** One leaf per SOCKETS_PER_LEAF sockets of the crowd, at least 2 and at most MAX_LEAVES. */
export const leavesForCrowd = (sockets: number): number =>
  Math.min(MAX_LEAVES, Math.max(2, Math.ceil(sockets / SOCKETS_PER_LEAF)));

export class FanoutSwitch {
  #store: Store;
  #threshold: number | undefined;
  /** The leaves the room has (0: it is still one object). */
  #leaves: number;
  /** The leaves it will have at its next empty moment (0: no crowd yet). */
  #next: number;

  /** `threshold` undefined: this room never fans out by itself (no LEAVES binding, options in code, or "off"). */
  constructor(store: Store, threshold: number | undefined) {
    this.#store = store;
    this.#threshold = threshold;
    this.#leaves = store.metaAtWake('fanout_leaves');
    this.#next = store.metaAtWake('fanout_next');
  }

  /** A socket was added: a crowd past the threshold decides the switch, sized by the largest crowd seen. */
  counted(sockets: number): void {
    if (this.#threshold === undefined || this.#leaves > 0 || sockets < this.#threshold) return;
    const leaves = leavesForCrowd(sockets);
    if (leaves <= this.#next) return;
    this.#next = leaves;
    this.#store.setMeta('fanout_next', leaves);
  }

  /** Before an upgrade: the leaves it goes to (0: this object takes it), switching now if due and empty. */
  leavesFor(sockets: number): number {
    if (this.due && sockets === 0) {
      this.#leaves = this.#next;
      this.#store.setMeta('fanout_leaves', this.#leaves);
    }
    return this.#leaves;
  }

  get leaves(): number {
    return this.#leaves;
  }

  /** Decided, not yet done: the room switches at its next upgrade with no socket open. */
  get due(): boolean {
    return this.#leaves === 0 && this.#next > 0 && this.#threshold !== undefined;
  }
}

/** Rooms a Worker's isolate remembers, at most this many: a forgotten one costs one more hop to its root. */
export const REMEMBERED_SWITCHES = 10_000;

/**
 * The Worker's memory of rooms that fanned out by themselves, so that their
 * sockets go straight to a leaf. Nothing in it can go stale (the switch is one
 * way); an isolate that has not heard yet asks the root once, and learns.
 */
export class SwitchedRooms {
  #leaves = new Map<string, number>();

  leavesOf(room: string): number {
    return this.#leaves.get(room) ?? 0;
  }

  /** Remembers what a root said (0: it is still one object); returns it. */
  remember(room: string, leaves: number): number {
    if (leaves <= 0 || this.#leaves.has(room)) return leaves;
    // The oldest goes first: Map keeps insertion order.
    if (this.#leaves.size >= REMEMBERED_SWITCHES) this.#leaves.delete(this.#leaves.keys().next().value!);
    this.#leaves.set(room, leaves);
    return leaves;
  }

  /** The leaves a root's answer to an upgrade names: its 421, or 0 for any other answer. */
  rememberAnswer(room: string, answer: Response): number {
    if (answer.status !== MISDIRECTED) return 0;
    const leaves = Number(answer.headers.get(LEAVES_HEADER));
    return Number.isInteger(leaves) && leaves >= 2 && leaves <= MAX_LEAVES ? this.remember(room, leaves) : 0;
  }
}
