/**
 * The subjects a leaf's sockets subscribe to, as the room's `maxSubjects`
 * counts them (docs/hot-rooms.md). In a room of one object a subject exists
 * while it has stored values or subscribers; in a fanned-out room the
 * subscribers are on the leaves, so each leaf holds, at the root, the subjects
 * its sockets subscribe to: one hold per subject per leaf, however many of its
 * sockets subscribe.
 *
 * A leaf asks the root to admit a subject when its first socket subscribes to
 * it (the root refuses past `maxSubjects`, as it refuses a socket of its own),
 * and lets it go when its last one leaves. The calls go one at a time, in
 * order, so a release and the next hold of one subject never cross. A release
 * that is lost (a failed call, a leaf that restarted without its sockets) is
 * pruned at the leaf's next link, which names what the leaf still holds.
 */

export interface SubjectHolds {
  /** Admits `key` for this leaf; false when the room holds maxSubjects subjects without it. */
  hold(key: string): Promise<boolean>;
  release(key: string): Promise<void>;
}

export class LeafSubjects {
  #root: () => SubjectHolds;
  /** Whether a socket of this leaf subscribes to `key`. */
  #held: (key: string) => boolean;
  /** Holds asked for and not answered yet, by subject: sockets that subscribe meanwhile wait for the same answer. */
  #pending = new Map<string, Promise<boolean>>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(root: () => SubjectHolds, held: (key: string) => boolean) {
    this.#root = root;
    this.#held = held;
  }

  /** Whether a socket may subscribe to `key` at once: one here already does. */
  has(key: string): boolean {
    return this.#held(key);
  }

  /** The root's answer for `key`, asked once however many sockets wait for it. */
  admit(key: string): Promise<boolean> {
    let answer = this.#pending.get(key);
    if (!answer) {
      answer = this.#serial(() => this.#root().hold(key));
      this.#pending.set(key, answer);
      const done = () => {
        if (this.#pending.get(key) === answer) this.#pending.delete(key);
      };
      answer.then(done, done);
    }
    return answer;
  }

  /**
   * Called when a socket here stops subscribing to `key` (or gives up waiting
   * for it): the last one lets the root know. Decided a turn later, once every
   * socket waiting on the same answer has subscribed or not.
   */
  release(key: string): void {
    setTimeout(() => {
      if (this.#held(key) || this.#pending.has(key)) return;
      this.#serial(() => this.#root().release(key)).catch((err: unknown) => {
        console.error(`leaf: could not release subject ${key} (pruned at the next link)`, err);
      });
    }, 0);
  }

  /**
   * A socket's subscriptions waiting for the root's answer: an `unsub` (or a
   * second `sub`) meanwhile replaces or cancels its ticket, so the answer to a
   * superseded `sub` subscribes nothing.
   */
  #waiting = new WeakMap<object, Map<string, object>>();

  /** A ticket for `socket`'s `sub` of `key`, to check with `current` when the answer comes. */
  ticket(socket: object, key: string): object {
    let mine = this.#waiting.get(socket);
    if (!mine) this.#waiting.set(socket, (mine = new Map()));
    const t = {};
    mine.set(key, t);
    return t;
  }

  /** Whether `t` is still `socket`'s latest `sub` of `key`; it is used up either way. */
  current(socket: object, key: string, t: object): boolean {
    const mine = this.#waiting.get(socket);
    if (mine?.get(key) !== t) return false;
    mine.delete(key);
    return true;
  }

  /** `socket` sent `unsub` for `key`: a `sub` of it still waiting is cancelled. */
  cancel(socket: object, key: string): void {
    this.#waiting.get(socket)?.delete(key);
  }

  /** What this leaf holds or is asking for, for the root's prune when it links. */
  holding(subscribed: Iterable<string>): string[] {
    return [...new Set([...subscribed, ...this.#pending.keys()])];
  }

  #serial<T>(call: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(call);
    this.#queue = run.catch(() => {});
    return run;
  }
}
