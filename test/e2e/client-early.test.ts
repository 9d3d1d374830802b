/**
 * Early frames (docs/protocol.md) through real HTTP: the client's hello in an upgrade header
 * of the largest size it offers (4,096 characters after `early.`) reaches the room through
 * workerd's HTTP parser; one character more and the client sends it as a frame once open.
 * Either way the room welcomes it, and a reconnect whose frames no longer fit resumes as before.
 */
import { expect, it } from 'vitest';
import { createRoom } from '../../client/index.ts';
import { droppableSockets, open, recorder, useServer } from './client-harness.ts';
import { waitFor } from './wait.ts';

const server = useServer();
const SECRET = 'early-e2e-secret-0123456789';

/** What the client offers for `frames`: `early.` and the URI-encoding with `(` and `)` escaped. */
const entryOf = (frames: unknown[]) =>
  `early.${encodeURIComponent(JSON.stringify(frames)).replace(/[()]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}`;

/** A presence that makes the first dial's entry (the hello alone) `chars` characters after `early.`. */
function presenceFor(chars: number): string {
  const hello = (presence: string) => [{ type: 'hello', protocol: 1, secret: SECRET, presence, acks: true }];
  const pad = chars - (entryOf(hello('')).length - 'early.'.length);
  // `(` costs 3 characters for 1 byte of presence: the presence stays under its 2 KiB limit.
  return '('.repeat(Math.floor(pad / 3)) + 'p'.repeat(pad % 3);
}

for (const [chars, early] of [
  [4096, true],
  [4097, false],
] as const) {
  it(`${early ? 'offers' : 'does not offer'} a hello of ${chars} characters encoded in the upgrade, and is welcomed`, async () => {
    const { socket_url: url } = await createRoom(server.url);
    const net = droppableSockets();
    const offered: string[][] = [];
    class Recording extends net.WebSocket {
      constructor(address: string, protocols: string[] = []) {
        super(address, protocols);
        offered.push(protocols);
      }
    }
    const presence = presenceFor(chars);
    const room = open(url, { WebSocket: Recording, secret: SECRET, presence });
    await waitFor(() => room.status === 'open', 10_000, 'the welcome');
    // The 101 named our subprotocol, and only it.
    expect(net.sockets[0]!.protocol).toBe('edgeroom.v1');
    if (early)
      expect(offered[0]).toEqual([
        'edgeroom.v1',
        entryOf([{ type: 'hello', protocol: 1, secret: SECRET, presence, acks: true }]),
      ]);
    else expect(offered[0]).toEqual(['edgeroom.v1']);
    if (early) expect(offered[0]![1]!.length).toBe('early.'.length + chars);

    // A reconnect, with a subscription now: the hello and the sub no longer fit, so they go as
    // frames once open, and the resume loses nothing.
    const rec = recorder();
    room.subscribe('chat', rec.listener);
    const other = open(url);
    const seq = await other.append('chat', 'hello');
    await waitFor(() => rec.seqs().includes(seq), 10_000, 'the value');
    expect(net.drop()).toBe(true);
    await waitFor(() => room.status === 'open' && net.sockets.length === 2, 10_000, 'the reconnect');
    expect(offered[1]!.some((p) => p.startsWith('early.'))).toBe(false);
    const later = await other.append('chat', 'again');
    await waitFor(() => rec.seqs().includes(later), 10_000, 'the next value');
    expect(rec.summary()).toEqual([
      [seq, 'hello'],
      [later, 'again'],
    ]);
  });
}
