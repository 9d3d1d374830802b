/**
 * Frame batching for edgeroom clients.
 *
 * In workerd most of a broadcast's cost is the runtime's `WebSocket.send`, one
 * call per socket per message. Under load the room sends a socket the first
 * frame of a turn at once and holds the ones that follow until a zero-delay
 * timer fires, then sends them as one JSON array frame. A quiet room never
 * holds anything (every frame is the first of its turn), so batching adds no
 * latency at a low rate. Only sockets that said hello, and use JSON, get arrays:
 * DriftDB clients would not understand them.
 */

/**
 * A broadcast to at least this many sockets holds even its first frame until
 * the window closes. Sending it takes the runtime milliseconds, far longer than
 * the one turn it waits, and a message that arrives meanwhile then shares the
 * frame instead of costing every socket another send.
 */
export const LARGE_AUDIENCE = 64;

/** A batch frame stays well under the default frame limit. */
export const BATCH_BYTES = 64 * 1024;

export interface Batched {
  /** Sends what is held, and closes the batch window. */
  flush(): void;
}

/** Closes every open batch window on the next turn. */
export class BatchWindows {
  #open = new Set<Batched>();
  #scheduled = false;

  open(b: Batched): void {
    this.#open.add(b);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => this.flushAll(), 0);
  }

  flushAll(): void {
    this.#scheduled = false;
    const open = [...this.#open];
    this.#open.clear();
    for (const b of open) b.flush();
  }
}

/**
 * Numbers the turns of the event loop in which the room sends. A receipt for
 * a frame can only come back in a later turn, so what a socket was sent in
 * this one is never held against it yet (see Connection.#tooSlow).
 */
export class Turns {
  #n = 0;
  #scheduled = false;

  now(): number {
    if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => {
        this.#scheduled = false;
        this.#n++;
      }, 0);
    }
    return this.#n;
  }
}

/** The frames one socket has held in its open window. */
export class HeldFrames {
  #frames: string[] = [];
  #bytes = 0;

  /** Holds `frame`; returns a frame to send first when holding it would make the batch too large. */
  hold(frame: string): string | undefined {
    const overflow = this.#bytes + frame.length > BATCH_BYTES ? this.take() : undefined;
    this.#frames.push(frame);
    this.#bytes += frame.length;
    return overflow;
  }

  /** The length of the frame `take` would make now (an array adds brackets and commas). */
  get length(): number {
    return this.#frames.length > 1 ? this.#bytes + this.#frames.length + 1 : this.#bytes;
  }

  /** Everything held, as one frame (an array when more than one), and empties the hold. */
  take(): string | undefined {
    const frames = this.#frames;
    this.#frames = [];
    this.#bytes = 0;
    if (frames.length <= 1) return frames[0];
    return `[${frames.join(',')}]`;
  }
}
