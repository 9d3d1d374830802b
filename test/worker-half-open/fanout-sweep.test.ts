// A silent socket on a leaf of a fanned-out room (halfOpenSeconds is 1 s in this project):
// its leaf's sweep closes it with 4004, and members on every leaf see it leave, once.
import { describe, expect, it } from 'vitest';
import { connect, idOf, secretOf, type Msg, type TestSocket } from '../worker/helpers.ts';
import { nameOnLeaf, newFanoutRoom } from '../worker-fanout/helpers.ts';

/** Keeps a socket alive the way our client does: the exact ping the runtime answers by itself. */
function keepAlive(s: TestSocket): () => void {
  const timer = setInterval(() => s.ws.readyState === WebSocket.OPEN && s.ws.send('{"type":"ping"}'), 200);
  return () => clearInterval(timer);
}

async function memberOn(room: string, leaf: number): Promise<{ s: TestSocket; welcome: Msg }> {
  const name = nameOnLeaf(3, leaf);
  const s = await connect(room, `?client=${idOf(name)}`);
  s.send({ type: 'hello', protocol: 1, secret: secretOf(name) });
  return { s, welcome: await s.until((m) => m.type === 'welcome') };
}

describe('a silent socket on a leaf', () => {
  it('is closed with 4004 by its leaf, and leaves presence on every leaf', async () => {
    const room = await newFanoutRoom(3);
    const watchers = [await memberOn(room, 0), await memberOn(room, 1)];
    const stops = watchers.map(({ s }) => keepAlive(s));
    const ghost = await memberOn(room, 1);
    expect(await ghost.s.closed).toEqual({ code: 4004, reason: 'no frame or ping for 1 s' });
    for (const { s } of watchers) {
      await s.until((m) => m.type === 'presence' && m.event === 'leave' && m.peer.conn === ghost.welcome.conn);
      const about = s.received.filter((m) => m.type === 'presence' && m.peer.conn === ghost.welcome.conn);
      expect(about.map((m) => m.event)).toEqual(['join', 'leave']);
      expect(s.ws.readyState).toBe(WebSocket.OPEN);
    }
    for (const stop of stops) stop();
  }, 10_000);
});
