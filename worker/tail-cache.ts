/**
 * A leaf's tail cache (docs/hot-rooms.md): the stored values of the last
 * batches it applied, so that the resumes of a reconnect storm are answered by
 * the leaves rather than all by the room's object.
 *
 * It answers `sub {key, seq: S}` only when it is sure to give exactly what the
 * root would: it holds every stored value after `from` (the batches since are
 * contiguous), S is above that (at it, the root may owe a reset: a wipe or a
 * link there), S is not below the subject's floor (there the root sends a
 * reset), and no compaction of the subject since S changed what a replay holds.
 * Anything else goes to the root.
 */
import type { StoredEntry } from './store.ts';
import { toCbor } from './codec.ts';
import type { LinkItem } from './link-batch.ts';

/** Stored values a leaf keeps for resumes, at most, and their bytes (values up to maxMessageBytes each). */
export const TAIL_CACHE_ENTRIES = 10_000;
export const TAIL_CACHE_BYTES = 8 * 1024 * 1024;

export class TailCache {
  /** Every stored value with a seq above this has been seen, in order; it answers only replays from above it. */
  #from: number;
  #byKey = new Map<string, StoredEntry[]>();
  /** Per subject: replays from below it need the root (a compaction at it, or a floor). */
  #barrier = new Map<string, number>();
  /** Keys in the order their entries came, oldest first, for eviction. */
  #order: string[] = [];
  #entries = 0;
  #bytes = 0;
  #maxEntries: number;
  #maxBytes: number;

  constructor(from: number, maxEntries = TAIL_CACHE_ENTRIES, maxBytes = TAIL_CACHE_BYTES) {
    this.#from = from;
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
  }

  /** Values held, and their bytes (for tests). */
  get size(): { entries: number; bytes: number } {
    return { entries: this.#entries, bytes: this.#bytes };
  }

  /** Forgets everything: the leaf lost track of the root's order (or the data was wiped) at `seq`. */
  reset(seq: number): void {
    this.#from = seq;
    this.#byKey.clear();
    this.#barrier.clear();
    this.#order = [];
    this.#entries = 0;
    this.#bytes = 0;
  }

  apply(item: LinkItem, seq: number): void {
    if (item.t === 'wipe') return this.reset(Math.max(seq, item.floor));
    if (item.t === 'presence') return;
    if (item.t === 'compact') {
      // What the subject's replay holds below here changed; only the root knows how.
      this.#drop(item.key);
      this.#barrier.set(item.key, seq);
      return;
    }
    const { out, act } = item;
    if (item.floor > 0) this.#barrier.set(out.key, Math.max(this.#barrier.get(out.key) ?? 0, item.floor));
    if (act === 'relay') return;
    // A replace leaves only itself: the root deleted the values before it.
    if (act === 'replace') this.#drop(out.key);
    let entries = this.#byKey.get(out.key);
    if (!entries) this.#byKey.set(out.key, (entries = []));
    const value = item.bytes ? bufferOf(toCbor(out.value)) : JSON.stringify(out.value);
    entries.push({ seq: out.seq, value, client: out.client ?? null });
    this.#entries++;
    this.#bytes += sizeOf(value);
    this.#order.push(out.key);
    while ((this.#entries > this.#maxEntries || this.#bytes > this.#maxBytes) && this.#order.length > 0)
      this.#evictOldest();
  }

  /** The stored values of `key` after `after`, or undefined when only the root can tell. */
  after(key: string, after: number): StoredEntry[] | undefined {
    if (after <= this.#from || after < (this.#barrier.get(key) ?? 0)) return undefined;
    return (this.#byKey.get(key) ?? []).filter((e) => e.seq > after);
  }

  #evictOldest(): void {
    const key = this.#order.shift();
    if (key === undefined) return;
    const entries = this.#byKey.get(key);
    const oldest = entries?.shift();
    if (!oldest) return; // replaced or compacted since; its place in the order was stale
    if (entries!.length === 0) this.#byKey.delete(key);
    this.#entries--;
    this.#bytes -= sizeOf(oldest.value);
    // The cache no longer holds everything above `from`.
    this.#from = Math.max(this.#from, oldest.seq);
  }

  #drop(key: string): void {
    for (const e of this.#byKey.get(key) ?? []) {
      this.#entries--;
      this.#bytes -= sizeOf(e.value);
    }
    this.#byKey.delete(key);
  }
}

const sizeOf = (value: StoredEntry['value']): number => (typeof value === 'string' ? value.length : value.byteLength);

function bufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
