/**
 * Silent sockets. A client whose connection vanished without a close (a
 * dropped network, a frozen tab) is noticed by the runtime only much later,
 * and until then it stays in presence. Our client pings every 10 s, and the
 * runtime answers those pings itself, recording when; a socket that said hello
 * and has sent neither a frame nor a ping for halfOpenSeconds is closed (4004)
 * and leaves presence.
 *
 * The check runs from the alarm, every half of halfOpenSeconds, and only while
 * some socket has said hello, so a room nobody is in is never woken for it. A
 * silent socket leaves within 1.5 × halfOpenSeconds.
 */
import type { AlarmClock } from './alarm-clock.ts';
import type { Connection, Connections } from './connections.ts';

export class Sweep {
  #ctx: DurableObjectState;
  #conns: Connections;
  #clock: AlarmClock;
  #ms: number;
  #scheduled = false;

  constructor(ctx: DurableObjectState, conns: Connections, clock: AlarmClock, halfOpenSeconds: number) {
    this.#ctx = ctx;
    this.#conns = conns;
    this.#clock = clock;
    this.#ms = halfOpenSeconds * 1000;
  }

  /** After a hello: make sure a sweep is coming. */
  schedule(now = Date.now()): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#clock.set('sweep', now + this.#ms / 2);
  }

  /** From the alarm: the sockets silent for too long, and the next sweep if anyone is left. */
  run(now = Date.now()): Connection[] {
    const silent: Connection[] = [];
    let present = 0;
    for (const c of this.#conns.present()) {
      const pinged = this.#ctx.getWebSocketAutoResponseTimestamp(c.ws)?.getTime() ?? 0;
      if (now - Math.max(pinged, c.lastSeen) > this.#ms) silent.push(c);
      else present++;
    }
    this.#scheduled = present > 0;
    this.#clock.set('sweep', this.#scheduled ? now + this.#ms / 2 : undefined);
    return silent;
  }
}
