/**
 * The partyserver contender: the smallest room most people would write on
 * Cloudflare instead of edgeroom. Hibernation on; every message goes to every
 * other connection in the room, untouched.
 */
import { routePartykitRequest, Server, type Connection, type WSMessage } from 'partyserver';

export class BenchRoom extends Server {
  static override options = { hibernate: true };

  override onMessage(connection: Connection, message: WSMessage): void {
    this.broadcast(message, [connection.id]);
  }
}

// Routes /parties/bench-room/:room (the kebab-cased binding name) to a room.
export default {
  async fetch(request: Request, env: Record<string, unknown>): Promise<Response> {
    return (await routePartykitRequest(request, env)) ?? new Response('Not Found', { status: 404 });
  },
};
