/**
 * Group commit for the room's message loop.
 *
 * SQLite commits once per turn of the event loop, and the output gate holds
 * every frame sent after a write until that commit is durable. Handled one
 * frame per turn, a stream of appends waits for one commit each, one after
 * another (about 0.5 ms each locally). Frames that write are therefore queued
 * and applied together in a single later turn, sharing one commit.
 *
 * Frames that do not write (relays, pings) run at once when the room is quiet.
 * Each such task opens a window until the next turn; tasks arriving inside it
 * queue too, so under load relays are also handled a turn's worth at a time,
 * which lets the runtime send their frames together. Once anything is queued,
 * every later task queues behind it, so the room handles everything in
 * arrival order.
 */
export class GroupCommit {
  #pending: (() => void)[] = [];
  #windowOpen = false;
  #scheduled = false;
  #onError: (err: unknown) => void;

  constructor(onError: (err: unknown) => void) {
    this.#onError = onError;
  }

  run(task: () => void, writes: boolean): void {
    if (!writes && !this.#windowOpen && this.#pending.length === 0) {
      this.#windowOpen = true;
      this.#schedule();
      return this.#safely(task);
    }
    this.#pending.push(task);
    this.#schedule();
  }

  /** Applies everything queued now (for work that must come after it, such as an HTTP send). */
  flush(): void {
    this.#windowOpen = false;
    const tasks = this.#pending;
    this.#pending = [];
    for (const task of tasks) this.#safely(task);
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => {
      this.#scheduled = false;
      this.flush();
    }, 0);
  }

  #safely(task: () => void): void {
    try {
      task();
    } catch (err) {
      this.#onError(err);
    }
  }
}
