// A flush after a socket left sends it nothing. Through the room this cannot be
// seen (a socket leaves presence only as it closes, and a closed socket shows
// no frame), so this drives the room's own Connections and Presence, on the
// room's real storage, with real socket pairs whose client ends stay open.
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../protocol/limits.ts';
import { LARGE_AUDIENCE } from '../../worker/batching.ts';
import { Connections, type Connection } from '../../worker/connections.ts';
import { Presence } from '../../worker/presence.ts';
import { Store } from '../../worker/store.ts';
import { freshRoom, roomStub, WAIT_MS, type Msg } from '../worker/helpers.ts';

interface Member {
  c: Connection;
  server: WebSocket;
  got: Msg[];
  arrived: () => Promise<void>;
}

/** A socket pair whose server end said hello; `arrived()` waits (bounded) for its client end's next frame. */
function member(conns: Connections, presence: Presence, i: number): Member {
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  client.accept();
  server.accept();
  const got: Msg[] = [];
  let wake = () => {};
  client.addEventListener('message', (e) => {
    got.push(...[JSON.parse(e.data as string)].flat());
    wake();
  });
  const c = conns.add(server, { conn: `c${i}`, cbor: false });
  presence.hello(c, { type: 'hello', protocol: 1, secret: `member-${i}-secret-0123456789` });
  const arrived = () =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`c${i}: no frame within ${WAIT_MS} ms`)), WAIT_MS);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  return { c, server, got, arrived };
}

describe('a flush after a socket left', () => {
  it('sends it nothing, though its socket is still open', async () => {
    await runInDurableObject(roomStub(freshRoom()), async (_room, state) => {
      const limits = { ...DEFAULT_LIMITS };
      const conns = new Connections([], new Store(state.storage, limits), limits);
      const presence = new Presence(conns, limits, () => 0);
      const members = Array.from({ length: LARGE_AUDIENCE + 1 }, (_, i) => member(conns, presence, i));
      const [gone, watcher, typist] = members as [Member, Member, Member];
      // Wait until the watcher has everyone's join: the room is settled.
      while (watcher.got.filter((m) => m.event === 'join').length < members.length - 2) await watcher.arrived();

      // An update goes pending, then `gone` leaves (its socket stays open), then the flush.
      presence.set(typist.c, { typing: true });
      presence.leave(gone.server);
      while (!watcher.got.some((m) => m.event === 'leave')) await watcher.arrived();
      expect(
        watcher.got
          .filter((m) => m.type === 'presence' && m.event !== 'join')
          .map((m) => `${m.event} ${m.peer.conn}`)
          .sort(),
      ).toEqual([`leave ${gone.c.a.conn}`, `update ${typist.c.a.conn}`]);
      // Anything sent to `gone` by that flush would be ahead of this frame.
      const marker = gone.arrived();
      gone.server.send('{"type":"pong","nonce":"marker"}');
      await marker;
      expect(gone.got.at(-1)).toEqual({ type: 'pong', nonce: 'marker' });
      expect(gone.got.filter((m) => m.type === 'presence' && m.event !== 'join')).toEqual([]);
    });
  });
});
