/**
 * Group commit for the room's message loop.
 *
 * SQLite commits once per turn of the event loop, and the output gate holds
 * every frame sent after a write until that commit is durable. Handled one
 * frame per turn, a stream of appends waits for one commit each, one after
 * another (about 0.5 ms each locally). Frames that write are therefore queued
 * and applied together in a single later turn, sharing one commit. Once
 * anything is queued, every later task queues behind it, so the room still
 * handles everything in arrival order. Tasks that do not write run at once
 * when nothing is queued, so relays and pings gain no delay.
 */
export class GroupCommit {
  #pending: (() => void)[] = [];
  #onError: (err: unknown) => void;

  constructor(onError: (err: unknown) => void) {
    this.#onError = onError;
  }

  run(task: () => void, writes: boolean): void {
    if (this.#pending.length === 0 && !writes) return this.#safely(task);
    if (this.#pending.push(task) === 1) setTimeout(() => this.flush(), 0);
  }

  /** Applies everything queued now (for work that must come after it, such as an HTTP send). */
  flush(): void {
    const tasks = this.#pending;
    this.#pending = [];
    for (const task of tasks) this.#safely(task);
  }

  #safely(task: () => void): void {
    try {
      task();
    } catch (err) {
      this.#onError(err);
    }
  }
}
