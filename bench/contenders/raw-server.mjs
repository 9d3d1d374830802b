/**
 * The raw contender: a plain `ws` server that re-sends every frame to every
 * other socket in the same room (the URL path). No validation, no storage,
 * no sequence numbers: the practical ceiling of this machine.
 *
 * Runs as its own process (see raw.mjs) so it never shares an event loop
 * with the load generator. Prints "listening <port>" when ready.
 */
import { WebSocketServer } from 'ws';

/** @type {Map<string, Set<import('ws').WebSocket>>} */
const rooms = new Map();
const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, skipUTF8Validation: true });

server.on('connection', (socket, request) => {
  const name = request.url ?? '/';
  let room = rooms.get(name);
  if (!room) rooms.set(name, (room = new Set()));
  room.add(socket);
  socket.on('message', (data, isBinary) => {
    for (const other of room) if (other !== socket) other.send(data, { binary: isBinary });
  });
  socket.on('close', () => {
    room.delete(socket);
    if (room.size === 0) rooms.delete(name);
  });
  socket.on('error', () => socket.terminate());
});

server.on('listening', () => {
  const address = server.address();
  if (typeof address === 'object' && address) console.log(`listening ${address.port}`);
});
