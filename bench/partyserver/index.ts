/**
 * The partyserver contender: the smallest room most people would write on
 * Cloudflare instead of edgeroom. Hibernation on; every message goes to every
 * other connection in the room, untouched, except the connect benchmark's echo.
 */
import { routePartykitRequest, Server, type Connection, type WSMessage } from 'partyserver';

export class BenchRoom extends Server {
  static override options = { hibernate: true };

  override onMessage(connection: Connection, message: WSMessage): void {
    // bench/connect-work.mjs: per-socket work on connect, as a hello and a sub are: a frame the room
    // reads and keeps to itself, and one it answers to that socket alone.
    if (typeof message === 'string' && message.startsWith('{"type":"quiet"')) return;
    if (typeof message === 'string' && message.startsWith('{"type":"echo"')) return connection.send(message);
    this.broadcast(message, [connection.id]);
  }
}

interface BenchEnv {
  BenchRoom: DurableObjectNamespace<BenchRoom>;
}

// Routes /parties/bench-room/:room (the kebab-cased binding name) to a room.
export default {
  async fetch(request: Request, env: BenchEnv): Promise<Response> {
    // partyserver types `env` as the global Cloudflare.Env, which in this
    // repository is edgeroom's (worker-configuration.d.ts), not this worker's.
    return (
      (await routePartykitRequest(request, env as unknown as Cloudflare.Env)) ??
      new Response('Not Found', { status: 404 })
    );
  },
};
