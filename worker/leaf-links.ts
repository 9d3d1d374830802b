/**
 * The root's side of a fanned-out room (docs/hot-rooms.md): the leaves that
 * linked to it, and the batches it sends them. Everything the room delivers in
 * a turn goes to each leaf as one batch, over one long-lived stub per leaf (so
 * in order: E-order), encoded once for all of them.
 *
 * A call that fails breaks its stub (the platform's rule), so the next batch
 * goes over a new one, and the leaf is nudged at once: it sees the batch
 * numbers it missed and fetches them (`since`) from the ring of recent batches
 * kept here, before it delivers anything newer. Leaves are kept in SQLite, so a
 * root that wakes (an HTTP send) still knows where its subscribers are.
 */
import type { Peer } from '../protocol/messages.ts';
import type { RoomLeaf } from './leaf.ts';
import { encodeBatches, type LinkItem } from './link-batch.ts';

/** Recent batches the root keeps for a leaf's repair: at most this many, and this many bytes. */
export const RING_BATCHES = 1024;
export const RING_BYTES = 8 * 1024 * 1024;

const SCHEMA = 'CREATE TABLE IF NOT EXISTS leaves (name TEXT PRIMARY KEY) WITHOUT ROWID;';

interface Leaf {
  name: string;
  stub: DurableObjectStub<RoomLeaf>;
}

/** What a leaf asking to (re)link is told (see Room.link). */
export interface LinkReply {
  /** The chain as it is now: the leaf's next batch is n + 1 of this epoch. */
  epoch: number;
  n: number;
  /** The room's seq now: everything up to it is in batches up to n. */
  seq: number;
  /** The batches after the leaf's last, in order; undefined when they cannot be had (the leaf must reset its sockets). */
  missed: Uint8Array[] | undefined;
  /** The room's presence roster as of batch `n`, when the leaf asked for it (see Room.link). */
  roster?: Peer[];
  /** With `roster`: the room's members as of batch `n`, shown or not (see PresenceItem.members). */
  members?: number;
  /** With `roster`: which of the leaf's own members the root counts but does not show, as of batch `n`. */
  unshown?: string[];
}

/**
 * What the root did for its leaves since this object started (not stored), for
 * `GET /room/:id/stats`: with the CPU time a benchmark measures, the figures
 * that split it into per-turn and per-batch costs (docs/hot-rooms.md).
 */
export interface RootCounters {
  /** Turns that sent the leaves anything: each sends one batch (more past LINK_BATCH_BYTES) to every leaf. */
  turns: number;
  /** Batches made, their items and bytes (encoded once for all leaves). */
  batches: number;
  items: number;
  bytes: number;
  /** Batches sent: one per batch per linked leaf (deliver calls). */
  sends: number;
  /** Deliveries the leaves reported making. */
  deliveries: number;
}

export class LeafLinks {
  readonly counters: RootCounters = { turns: 0, batches: 0, items: 0, bytes: 0, sends: 0, deliveries: 0 };
  /** This incarnation: batch numbers restart at 1 whenever the root does. */
  readonly epoch = Math.floor(Math.random() * 2 ** 48);
  #n = 0;
  #ring: { n: number; bytes: Uint8Array }[] = [];
  #ringBytes = 0;
  #leaves = new Map<string, Leaf>();
  #pending: LinkItem[] = [];
  #scheduled = false;
  /** Waiting for what is pending now to go out (see settled). */
  #settled: (() => void)[] = [];
  #sql: SqlStorage;
  #namespace: DurableObjectNamespace<RoomLeaf> | undefined;
  /** Called once, when the first leaf links: from then on the room reads its leaves at every wake. */
  #firstLeaf: (() => void) | undefined;
  /** The deliveries a leaf reports having made: the room charges them to its delivery budget. */
  #delivered: (deliveries: number) => void;

  /**
   * `fannedOut`: a leaf linked before (Store.fannedOut). A room that never fanned
   * out makes no query here, so it wakes exactly as it did before leaves existed.
   */
  constructor(
    sql: SqlStorage,
    namespace: DurableObjectNamespace<RoomLeaf> | undefined,
    fannedOut: boolean,
    firstLeaf: () => void,
    delivered: (deliveries: number) => void = () => {},
  ) {
    this.#sql = sql;
    this.#namespace = namespace;
    this.#delivered = delivered;
    if (!fannedOut) {
      this.#firstLeaf = firstLeaf;
      return;
    }
    sql.exec(SCHEMA);
    for (const row of sql.exec<{ name: string }>('SELECT name FROM leaves')) this.#open(row.name);
  }

  /** Whether any leaf holds sockets of this room: only then is there anything to send. */
  get active(): boolean {
    return this.#leaves.size > 0;
  }

  /** Leaves linked now. */
  get linked(): number {
    return this.#leaves.size;
  }

  /** The last batch made. */
  get n(): number {
    return this.#n;
  }

  /** A leaf links (or relinks): it is sent every batch from now on. Sends what is queued first, so `n` covers it. */
  register(name: string): void {
    if (this.#firstLeaf) {
      this.#sql.exec(SCHEMA);
      this.#firstLeaf();
      this.#firstLeaf = undefined;
    }
    if (!this.#leaves.has(name)) {
      this.#sql.exec('INSERT OR IGNORE INTO leaves (name) VALUES (?)', name);
      this.#open(name);
    }
    this.#flushNow();
  }

  /** A leaf with no sockets left: it is sent nothing more until it links again. */
  unregister(name: string): void {
    if (this.#firstLeaf) return; // no leaf ever linked here
    this.#leaves.delete(name);
    this.#sql.exec('DELETE FROM leaves WHERE name = ?', name);
  }

  /** The batches after `after` of this incarnation, or undefined when they are not all in the ring. */
  since(epoch: number, after: number): Uint8Array[] | undefined {
    if (epoch !== this.epoch) return undefined;
    if (after >= this.#n) return [];
    const first = this.#ring[0]?.n ?? this.#n + 1;
    if (first > after + 1) return undefined;
    return this.#ring.slice(after + 1 - first).map((b) => b.bytes);
  }

  /** Queues an item for this turn's batch. */
  add(item: LinkItem): void {
    if (!this.active) return;
    this.#pending.push(item);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => this.#flushNow(), 0);
  }

  /** Resolves once everything queued so far is in a batch: numbered at most `n`, and sent. */
  settled(): Promise<void> {
    if (this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#settled.push(resolve));
  }

  #flushNow(): void {
    this.#scheduled = false;
    for (const resolve of this.#settled.splice(0)) queueMicrotask(resolve);
    if (this.#pending.length === 0) return;
    const batches = encodeBatches(this.epoch, this.#n + 1, this.#pending);
    this.counters.turns++;
    this.counters.items += this.#pending.length;
    this.#pending = [];
    for (const bytes of batches) {
      this.counters.batches++;
      this.counters.bytes += bytes.byteLength;
      this.counters.sends += this.#leaves.size;
      this.#remember(++this.#n, bytes);
      for (const leaf of this.#leaves.values()) this.#send(leaf, bytes);
    }
  }

  #send(leaf: Leaf, bytes: Uint8Array): void {
    leaf.stub.deliver(bytes).then(
      (deliveries) => {
        this.counters.deliveries += deliveries;
        this.#delivered(deliveries);
      },
      (err: unknown) => this.#broken(leaf, err),
    );
  }

  /**
   * A failed call broke the stub, and every call in flight on it fails too:
   * one new stub, and one nudge over it, which the leaf answers by fetching what it missed.
   */
  #broken(leaf: Leaf, err: unknown): void {
    const current = this.#leaves.get(leaf.name);
    if (current !== leaf) return; // already replaced after an earlier failure
    console.error(`room: link to leaf ${leaf.name} failed; relinking`, err);
    const fresh = this.#open(leaf.name);
    fresh.stub.catchUp(this.epoch, this.#n).catch((again: unknown) => {
      // The next batch tries again on a new stub; the leaf repairs from its chain then.
      console.error(`room: nudge to leaf ${leaf.name} failed`, again);
      if (this.#leaves.get(leaf.name) === fresh) this.#open(leaf.name);
    });
  }

  #open(name: string): Leaf {
    if (!this.#namespace) throw new Error('A fanned-out room needs the LEAVES binding (wrangler.toml)');
    const leaf = { name, stub: this.#namespace.get(this.#namespace.idFromName(name)) };
    this.#leaves.set(name, leaf);
    return leaf;
  }

  #remember(n: number, bytes: Uint8Array): void {
    this.#ring.push({ n, bytes });
    this.#ringBytes += bytes.byteLength;
    while (this.#ring.length > RING_BATCHES || (this.#ringBytes > RING_BYTES && this.#ring.length > 1)) {
      this.#ringBytes -= this.#ring.shift()!.bytes.byteLength;
    }
  }
}
