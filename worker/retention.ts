/**
 * The retention alarm: a room is wiped after `retentionSeconds` without a push.
 *
 * Re-arming the alarm on every push would add a storage write to each one,
 * so it is only moved when it has fallen more than 1% behind. The alarm then
 * checks the in-memory time of the last push and re-arms if the room was used
 * since. If the object was evicted in between, that time is lost and the wipe
 * can come up to 1% of the retention period early (about 14 minutes of 24 h).
 */
import type { AlarmClock } from './alarm-clock.ts';
import type { Store } from './store.ts';

const SLACK = 0.01;

export class Retention {
  #clock: AlarmClock;
  #store: Store;
  #ms: number;
  #alarmAt: number;
  #lastPush = 0;

  constructor(clock: AlarmClock, store: Store, retentionSeconds: number) {
    this.#clock = clock;
    this.#store = store;
    this.#ms = retentionSeconds * 1000;
    this.#alarmAt = store.meta('alarm_at');
    if (this.#alarmAt) clock.set('retention', this.#alarmAt);
  }

  /**
   * Whether the wipe is due. The alarm also runs for other jobs; only when its
   * own time has come may the room be judged idle (after a wake, the time of
   * the last push is gone, and the stored due time is all there is).
   */
  due(now = Date.now()): boolean {
    return this.#alarmAt > 0 && now >= this.#alarmAt;
  }

  /** Called for every push, over WebSocket or HTTP. */
  touch(now = Date.now()): void {
    this.#lastPush = now;
    const due = now + this.#ms;
    if (due - this.#alarmAt > this.#ms * SLACK) this.#arm(due);
  }

  /** True when the room has been idle for the whole period and should be wiped now. */
  expired(now = Date.now()): boolean {
    const due = this.#lastPush + this.#ms;
    if (due > now) {
      this.#arm(due);
      return false;
    }
    this.#alarmAt = 0;
    this.#store.setMeta('alarm_at', 0);
    this.#clock.set('retention', undefined);
    return true;
  }

  #arm(at: number): void {
    this.#alarmAt = at;
    this.#store.setMeta('alarm_at', at);
    this.#clock.set('retention', at);
  }
}
