/**
 * A Durable Object has one alarm. The jobs that need one (the retention wipe,
 * the sweep for silent sockets) each say when they are next due, and the clock
 * keeps the alarm at the earliest of them, writing only when that changes.
 */
export type AlarmJob = 'retention' | 'sweep' | 'unlink';

export class AlarmClock {
  #storage: DurableObjectStorage;
  #due = new Map<AlarmJob, number>();
  #armed: number | undefined;

  /** `armed`: the alarm as it stands in storage, so a wake rewrites nothing. */
  constructor(storage: DurableObjectStorage, armed: number | undefined) {
    this.#storage = storage;
    this.#armed = armed;
  }

  set(job: AlarmJob, at: number | undefined): void {
    if (at === undefined) this.#due.delete(job);
    else this.#due.set(job, at);
    const next = this.#due.size ? Math.min(...this.#due.values()) : undefined;
    if (next === this.#armed) return;
    this.#armed = next;
    void (next === undefined ? this.#storage.deleteAlarm() : this.#storage.setAlarm(next));
  }

  /** After an alarm has run: the runtime cleared it, so the next `set` must write. */
  fired(): void {
    this.#armed = undefined;
  }
}
