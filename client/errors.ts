import type { ErrorCode } from '../protocol/limits.ts';

/** Why a publish, a subscription or the room failed. */
export type RoomErrorCode =
  | ErrorCode
  /** `close()` was called (or the server refused the protocol) before the server acknowledged. */
  | 'closed'
  /** The bounded queue of unacknowledged publishes is full. */
  | 'queue_full';

/**
 * The one error type the client rejects and reports with. `code` is
 * machine-readable; `message` is the server's text when it sent one.
 *
 * @example
 * try { await room.set('title', 'x'.repeat(1e6)) }
 * catch (e) { if (e instanceof RoomError && e.code === 'too_large') shrink() }
 */
export class RoomError extends Error {
  declare code: RoomErrorCode;
  /** The ID of the publish or dm the error is about, when there is one (a server error frame's `id`). */
  declare id?: string;
  constructor(code: RoomErrorCode, message: string = code, id?: string) {
    super(message);
    this.code = code;
    this.id = id;
  }
}
