/**
 * A leaf's publishes (docs/hot-rooms.md): the pushes its sockets send in one
 * turn go to the root in one call, over one stub, so the root applies them in
 * the order they were sent. The root answers with each sender's replies and
 * the number of the batch that carries the pushes; the replies wait until the
 * leaf has applied that batch, so a sender sees its echo before its ack.
 */
import type { ServerMessage } from '../protocol/messages.ts';
import type { Connection, Connections } from './connections.ts';
import type { ForwardedPush, Published } from './room.ts';
import { errorFrame } from './validate.ts';

/** Where the leaf stands in the root's chain of batches. */
export interface ChainPosition {
  epoch: number;
  n: number;
}

interface Waiting extends ChainPosition {
  c: Connection;
  replies: ServerMessage[];
}

export interface OutboxLinks {
  /** The root's publish, over the leaf's one stub to it. */
  publish(pushes: ForwardedPush[]): Promise<Published>;
  /** The call failed: the stub is broken, and the next call needs a new one. */
  broken(): void;
  /** The leaf's position now. */
  position(): ChainPosition | undefined;
}

export class LeafOutbox {
  #conns: Connections;
  #links: OutboxLinks;
  #outbox: { push: ForwardedPush; c: Connection }[] = [];
  #waiting: Waiting[] = [];

  constructor(conns: Connections, links: OutboxLinks) {
    this.#conns = conns;
    this.#links = links;
  }

  /** Queues a push for this turn's call to the root. */
  forward(c: Connection, push: ForwardedPush): void {
    this.#outbox.push({ push, c });
    if (this.#outbox.length === 1) setTimeout(() => this.#send(), 0);
  }

  /**
   * Replies whose batch this leaf has applied, in order. A reply from another
   * epoch than the leaf's goes at once: its batch was applied, or lost with a
   * restart of the root.
   */
  release(): void {
    const at = this.#links.position();
    while (this.#waiting.length > 0) {
      const head = this.#waiting[0]!;
      if (at && at.epoch === head.epoch && at.n < head.n) return;
      this.#waiting.shift();
      if (this.#conns.get(head.c.ws) !== head.c) continue;
      for (const reply of head.replies) head.c.send(reply);
    }
  }

  /** The leaf closed every socket (4005): nobody is left to reply to. */
  clear(): void {
    this.#waiting = [];
  }

  #send(): void {
    const sent = this.#outbox;
    this.#outbox = [];
    this.#links.publish(sent.map((s) => s.push)).then(
      ({ epoch, n, replies }) => {
        replies.forEach((r, i) => {
          if (r.length) this.#waiting.push({ c: sent[i]!.c, epoch, n, replies: r });
        });
        this.release();
      },
      (err: unknown) => {
        // Whether the root applied them is unknown: a push with an id is safe to send again.
        console.error('leaf: forwarding to the room failed', err);
        this.#links.broken();
        for (const { c, push } of sent) {
          const id = push.m.id === undefined ? {} : { id: push.m.id };
          const message = 'The room did not answer: send again (with the same id)';
          c.send(errorFrame('internal', message, { key: push.m.key, ...id }));
        }
      },
    );
  }
}
