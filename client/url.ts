/** Where a room lives: its socket URL (`socket_url` from `POST /new`), or an API base plus a room ID. */
export type RoomAddress = string | { base: string; room: string };

/**
 * The WebSocket URL of a room. http(s) URLs become ws(s).
 *
 * @example
 * socketUrl({ base: 'https://rooms.example.com', room: 'abc' }) // 'wss://rooms.example.com/room/abc/connect'
 */
export function socketUrl(address: RoomAddress): string {
  const url =
    typeof address === 'string'
      ? address
      : `${trimBase(address.base)}/room/${encodeURIComponent(address.room)}/connect`;
  return url.replace(/^http/, 'ws');
}

export const trimBase = (base: string): string => base.replace(/\/+$/, '');

/**
 * The room ID in a socket URL (`…/room/<id>/connect`), whatever host name or
 * scheme spells it; the whole URL if it has no such path.
 */
export const roomOf = (url: string): string => url.match(/\/room\/([^/]+)\/connect/)?.[1] ?? url;
