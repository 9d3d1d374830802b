// An app that installed only the client: every non-React entry point, typed
// with no server package, no zod and no React anywhere in node_modules.
import { connect, createRoom, RoomError, type Peer, type RoomResult } from 'edgeroom';
import { withToken } from 'edgeroom/auth';
import { signaling } from 'edgeroom/signaling';

export async function open(base: string): Promise<string[]> {
  const made: RoomResult = await createRoom(base);
  const room = connect(made.socket_url, { WebSocket: withToken(() => 'a token') });
  room.on('error', (error) => {
    if (error instanceof RoomError) console.error(error.code);
  });
  signaling(room, { accept: (peer: Peer) => peer.state !== null });
  // @ts-expect-error: a seq is a number; the types must not be `any`
  room.subscribe('chat', () => {}, { seq: 'latest' });
  return [...room.peers.values()].map((peer) => peer.client);
}
