/**
 * What a socket has not yet read. workerd tells a Durable Object nothing about
 * a server socket's send buffer (`bufferedAmount` is undefined on an accepted
 * socket, cloudflare/workerd#988), and buffers without bound for a reader that
 * stops. So the room counts what it sends, and a client that reports receipts
 * (`ack`, with the running total it has received) tells it what has arrived:
 * the difference is what the runtime still holds for that socket.
 *
 * The counts live in memory only, never in the attachment: writing per frame
 * would cost more than the sends themselves. A room woken from hibernation
 * starts counting again at zero, not knowing the client's total at the wake
 * (`base` below); see `ack` for why that stays safe.
 */

/** Frames equal to this are the runtime's auto-response, which the room never sees sent: neither side counts them. */
export const AUTO_PONG = '{"type":"pong","nonce":null}';

/** The length the receipts count: UTF-16 units of text, bytes of binary. */
export const frameLength = (frame: string | Uint8Array): number =>
  typeof frame === 'string' ? (frame === AUTO_PONG ? 0 : frame.length) : frame.byteLength;

export class Backlog {
  /** Counted since this object accepted the socket, or since it woke. */
  #sent = 0;
  /** Of those, how many the client's receipts show arrived. */
  #received = 0;
  /** The client's total at its last receipt. */
  #total = 0;
  /**
   * The client's total when our count began: 0 for a socket accepted by this
   * object; for one found on a wake, unknown, and bounded from below as receipts come.
   */
  #base: number;
  #exact: boolean;

  constructor(exact: boolean) {
    this.#exact = exact;
    this.#base = exact ? 0 : -Infinity;
  }

  /** Sent but not yet acknowledged: what the runtime may still hold. */
  get unacked(): number {
    return this.#sent - this.#received;
  }

  sent(bytes: number): void {
    this.#sent += bytes;
  }

  /**
   * Takes a receipt: the client's running total. Returns why it is refused, if it is.
   *
   * After a wake the base is unknown, but every receipt proves it is at least
   * `total − sent` (nothing can have arrived that was never sent), so it takes
   * the largest such bound, and the backlog may read low by what was unread at
   * the wake. That was within the bound (checked on every send before it), and
   * the count since the wake starts at zero and is held to the bound too, so a
   * reader that stops is still closed: a socket holds at most about twice the
   * bound across a wake, never more without limit.
   */
  ack(total: number): string | undefined {
    if (total < this.#total) return `received went back from ${this.#total} to ${total}`;
    if (total - this.#base > this.#sent) {
      if (this.#exact) return `received ${total} is more than the ${this.#sent} sent`;
      this.#base = total - this.#sent;
    }
    this.#total = total;
    this.#received = total - this.#base;
    return undefined;
  }
}
