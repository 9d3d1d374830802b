/**
 * Which members a room's roster shows (`maxRosterPeers`): its first `cap`
 * members by arrival. Everyone shares this one view, so it is announced with
 * the same windows as an unbounded roster: a member enters it with a `join`
 * and leaves it with a `leave`, and a welcome carries it. Unbounded, a room of
 * N members sends N² peers in all, which is what bounded a connect storm.
 *
 * The view only loses a member when that member leaves the room; then the
 * member that has waited longest takes its place. So the view stays the first
 * `cap` members by arrival, and a member is never shown, hidden and shown again.
 */
/**
 * How many members one member is not shown: `beyond` (the room's members less
 * the view), less itself when it is one of them (`waits`). The rule of every
 * `members` frame, in a room of one object and on the leaves of a fanned-out one.
 */
export const hiddenFrom = (beyond: number, waits: boolean): number => Math.max(beyond - (waits ? 1 : 0), 0);

export class RosterView {
  readonly cap: number;
  #shown = new Set<string>();

  constructor(cap: number) {
    this.cap = cap;
  }

  has(conn: string): boolean {
    return this.#shown.has(conn);
  }

  get size(): number {
    return this.#shown.size;
  }

  /** A member arrived (or was found shown on a wake): shown if the view has room. */
  admit(conn: string): boolean {
    if (this.#shown.size >= this.cap) return false;
    this.#shown.add(conn);
    return true;
  }

  /**
   * A member left. If it was shown, returns the member that takes its place:
   * the first of `members` (in order of arrival) not shown yet, now shown.
   */
  dismiss<M>(conn: string, members: Iterable<[string, M]>): [string, M] | undefined {
    if (!this.#shown.delete(conn)) return undefined;
    for (const entry of members) {
      if (entry[0] !== conn && !this.#shown.has(entry[0])) {
        this.#shown.add(entry[0]);
        return entry;
      }
    }
    return undefined;
  }

  clear(): void {
    this.#shown.clear();
  }
}
