/**
 * A loopback TCP proxy in front of the worker, so a test can drop every
 * connection the browser has (as a lost network does) and later let it back.
 * Chromium's offline emulation does not close open WebSockets, so it cannot do this.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface Proxy {
  /** The proxy's origin, e.g. http://127.0.0.1:40123 */
  url: string;
  /** Reset every open connection and refuse new ones until `restore()`. */
  cut(): void;
  restore(): void;
  /**
   * Stop passing what the server sends on the open connections (it waits in the proxy)
   * while the browser's frames still reach it: a reply held up on the way, until `cut()`.
   */
  hold(): void;
  close(): Promise<void>;
}

export async function startProxy(target: string): Promise<Proxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  /** Each open connection's server side, and the browser side it pipes to. */
  const pairs = new Map<Socket, Socket>();
  let down = false;
  const server = createServer((client) => {
    if (down) return void client.resetAndDestroy();
    const upstream = createConnection({ host: hostname, port: Number(port) });
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => {}); // the other side's close follows
    }
    pairs.set(upstream, client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => {
      pairs.delete(upstream);
      client.destroy();
    });
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut() {
      down = true;
      for (const socket of open) socket.resetAndDestroy();
    },
    restore() {
      down = false;
    },
    hold() {
      // Unpiped and left paused: what arrives waits in the socket's buffer.
      for (const [upstream, client] of pairs) upstream.unpipe(client);
    },
    close() {
      for (const socket of open) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
