/**
 * Runs a task at most once per `everyMs`: at once when it has not run for that
 * long, else once when the interval is up, however often it was asked for
 * meanwhile. For what only the latest state matters to, such as how many
 * members a roster leaves out (worker/presence-roster.ts).
 */
export class Throttle {
  #everyMs: number;
  #task: () => void;
  #last = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(everyMs: number, task: () => void) {
    this.#everyMs = everyMs;
    this.#task = task;
  }

  request(): void {
    if (this.#timer !== undefined) return;
    const wait = this.#last + this.#everyMs - Date.now();
    if (wait <= 0) return this.#run();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, wait);
  }

  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #run(): void {
    this.#last = Date.now();
    try {
      this.#task();
    } catch (err) {
      console.error('throttled task failed', err);
    }
  }
}
