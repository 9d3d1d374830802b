/**
 * The edgeroom client: one reconnecting socket per room, subjects multiplexed
 * over it, resumed from per-listener checkpoints. See docs/client.md.
 */
import type { RoomResult } from '../protocol/shapes.ts';
import { RoomError } from './errors.ts';
import { trimBase } from './url.ts';

export { connect } from './room.ts';
export { RoomError, type RoomErrorCode } from './errors.ts';
export { socketUrl, type RoomAddress } from './url.ts';
export type * from './types.ts';
export type { SubjectValue, TypedRoom } from './typed.ts';
export type { RoomResult };

/**
 * Create a room: `POST {base}/new`. Open it with `connect(result.socket_url)`.
 *
 * @example
 * const { room, socket_url } = await createRoom('https://rooms.example.com');
 * const live = connect(socket_url);
 */
export async function createRoom(base: string, init: { fetch?: typeof fetch } = {}): Promise<RoomResult> {
  const response = await (init.fetch ?? fetch)(`${trimBase(base)}/new`, { method: 'POST' });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new RoomError(body.code ?? 'internal', body.message);
  return body as RoomResult;
}
