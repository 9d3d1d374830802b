/**
 * Helpers for the client's end-to-end tests: a `ws` constructor whose sockets
 * the test can cut, a gate that keeps a client offline, bounded waits, and a
 * seeded random source so a failing chaos run can be replayed.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import WebSocket from 'ws';
import { connect, type Room, type RoomAddress, type RoomOptions, type SubjectEvent } from '../../client/index.ts';
import { startServer, type TestServer } from './server.ts';

/** A `ws` constructor that keeps a handle on every socket it makes. */
export function droppableSockets() {
  const sockets: WebSocket[] = [];
  let offline = false;
  class Tracked extends WebSocket {
    constructor(url: string, protocols?: string[]) {
      // Offline: dial a port nobody listens on, so the dial fails like a dead network.
      super(offline ? 'ws://127.0.0.1:9/' : url, protocols);
      sockets.push(this);
    }
  }
  return {
    WebSocket: Tracked,
    sockets,
    /** Cut the current socket without a closing handshake, as a network drop would. */
    drop(): boolean {
      const current = sockets.at(-1);
      if (current?.readyState !== WebSocket.OPEN) return false;
      current.terminate();
      return true;
    },
    setOffline(value: boolean): void {
      offline = value;
      if (value) this.drop();
    },
  };
}

const rooms: Room[] = [];

export function open(url: RoomAddress, options: RoomOptions = {}): Room {
  const room = connect(url, { WebSocket, minDelay: 20, maxDelay: 200, ...options });
  rooms.push(room);
  return room;
}

export function closeAll(): void {
  for (const room of rooms.splice(0)) room.close();
}

/** Every event a listener got, and its messages as [seq, value] pairs. */
export function recorder<T = unknown>() {
  const events: SubjectEvent<T>[] = [];
  return {
    events,
    listener: (event: SubjectEvent<T>) => void events.push(event),
    seqs: () => events.flatMap((event) => (event.type === 'message' ? [event.seq] : [])),
    summary: () => events.map((event) => (event.type === 'message' ? [event.seq, event.value] : event.type)),
  };
}

export { seeded } from './seeded.ts';

/**
 * The real worker for the tests of a file (or describe block): started before
 * them with `vars`, every client closed after each test, stopped after all.
 */
export function useServer(vars: Record<string, string> = {}): { readonly url: string; readonly port: number } {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startServer(vars);
  });
  afterEach(closeAll);
  afterAll(async () => {
    await server?.stop();
  });
  const started = (): TestServer => {
    if (!server) throw new Error('the server is not started yet');
    return server;
  };
  return {
    get url() {
      return started().url;
    },
    get port() {
      return started().port;
    },
  };
}
