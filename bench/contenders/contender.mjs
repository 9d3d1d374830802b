/**
 * What every workload needs from a contender.
 *
 * @typedef {object} Room
 * @property {string} url WebSocket URL of one fresh room
 * @property {(socket: import('ws').WebSocket, key: string) => Promise<void>} subscribe
 *   make the socket receive pushes on `key`; resolves once the server has it
 * @property {(socket: import('ws').WebSocket) => Promise<void>} quiet
 *   make a publisher's socket receive none of the room's pushes (no echo)
 * @property {(onFrame: (frame: Buffer) => void, key: string, timeoutMs: number) => Promise<import('ws').WebSocket>} [join]
 *   open a socket that receives pushes on `key` the way the contender's own client
 *   (re)connects; resolves once the server has it. The connect workload uses it when given.
 *
 * @typedef {object} Contender
 * @property {string} id e.g. "edgeroom-relay"
 * @property {string} label e.g. "edgeroom relay"
 * @property {'relay' | 'append'} action written into every push frame
 * @property {() => Promise<Room>} openRoom
 */

/** Rooms of contenders that forward every frame to every other socket. */
export function forwardingRoom(/** @type {string} */ url) {
  return { url, subscribe: async () => {}, quiet: async () => {} };
}

export function randomRoomName() {
  return `bench-${crypto.randomUUID()}`;
}
