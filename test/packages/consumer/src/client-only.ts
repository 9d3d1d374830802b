// An app that installed only the client: every non-React entry point, typed
// with no server package, no zod and no React anywhere in node_modules.
import { connect, createRoom, RoomError, type Peer, type RoomResult } from 'edgeroom';
import { withToken } from 'edgeroom/auth';
import { withCache } from 'edgeroom/cache';
import { connectOffline, OUTBOX_LIMIT, type ExpiredPublish } from 'edgeroom/offline';
import { INVALID_PARAMS, rpc, RpcError, TIMEOUT } from 'edgeroom/rpc';
import { signaling } from 'edgeroom/signaling';

export async function open(base: string): Promise<string[]> {
  const made: RoomResult = await createRoom(base);
  const room = connect(made.socket_url, { WebSocket: withToken(() => 'a token') });
  room.on('error', (error) => {
    if (error instanceof RoomError) console.error(error.code);
  });
  signaling(room, { accept: (peer: Peer) => peer.state !== null });
  const peers = rpc(room, {
    timeout: 5000,
    methods: {
      add({ a, b }: { a: number; b: number }, { from }: { from: string }) {
        if (typeof a !== 'number') throw new RpcError(INVALID_PARAMS, `a number, ${from}`);
        return a + b;
      },
    },
  });
  const sum: number = await peers.call<number>('conn', 'add', { a: 1, b: 2 }, { timeout: 1000 }).catch((error) => {
    if (error instanceof RpcError && error.code === TIMEOUT) return 0;
    throw error;
  });
  peers.notify('conn', 'hello');
  // @ts-expect-error: a call's options take a timeout in ms, not a string
  void peers.call('conn', 'add', null, { timeout: 'soon' });
  peers.close();
  console.log(sum);
  // @ts-expect-error: a seq is a number; the types must not be `any`
  room.subscribe('chat', () => {}, { seq: 'latest' });
  return [...room.peers.values()].map((peer) => peer.client);
}

/** The outbox and the cache, typed without zod either. */
export async function offline(socketUrl: string): Promise<number> {
  const room = await withCache(await connectOffline(socketUrl, { retentionSeconds: 3600 }), socketUrl, { limit: 20 });
  room.on('expired', (publish: ExpiredPublish) =>
    publish.at > Date.now() - 60_000 ? publish.resend() : publish.drop(),
  );
  room.on('recovered', ({ seq, error }) => console.log(seq ?? error?.code));
  // @ts-expect-error: `pending` is a count; the types must not be `any`
  const wrong: string = room.pending;
  console.log(wrong);
  return Math.min(room.pending, OUTBOX_LIMIT);
}
