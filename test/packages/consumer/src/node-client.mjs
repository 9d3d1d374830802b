// Plain Node, as a backend or a script would use the packages: mint a token with
// edgeroom-server/token, then talk to the room with the core client and edgeroom/auth.
// Prints one JSON line: what the test checks.
import { connect, createRoom } from 'edgeroom';
import { withToken } from 'edgeroom/auth';
import { mintToken } from 'edgeroom-server/token';

const [base, secret] = process.argv.slice(2);
// Node 22+ has a WebSocket; Node 20 gets the `ws` package's, injected as docs/client.md says.
const WebSocket = globalThis.WebSocket ?? (await import('ws')).default;
const timeout = (ms, what) =>
  new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms).unref());

const { room: id, socket_url } = await createRoom(base);
const writer = connect(socket_url, { WebSocket });
const seqs = [];
for (let i = 0; i < 5; i++) seqs.push(await writer.append('chat', { text: `m${i}` }));
let refused;
try {
  await writer.append('chat', { text: '' });
} catch (error) {
  refused = error.code;
}

const token = await mintToken({ room: id, sub: 'ada' }, { kid: 'app', alg: 'HS256', secret });
const reader = connect(socket_url, { WebSocket: withToken(() => token, { WebSocket }) });
const seen = [];
await Promise.race([
  new Promise((resolve) =>
    reader.subscribe(
      'chat',
      (event) => {
        if (event.type === 'message') seen.push([event.seq, event.value.text]);
        if (seen.length === 5) resolve();
      },
      { seq: 0 },
    ),
  ),
  timeout(10_000, 'the replay'),
]);
console.log(
  JSON.stringify({ seqs, refused, seen, clientId: reader.clientId, node: process.versions.node.split('.')[0] }),
);
writer.close();
reader.close();
