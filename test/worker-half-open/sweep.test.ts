// Silent sockets (halfOpenSeconds is 1 s in this project): a socket that said hello and then
// sends neither a frame nor a ping is closed with 4004 and leaves presence within 1.5 s.
import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { connect, connectClient, freshRoom, push, roomStub, type TestSocket } from '../worker/helpers.ts';

/** Keeps a socket alive the way our client does: the exact ping the runtime answers by itself. */
function keepAlive(s: TestSocket): () => void {
  const timer = setInterval(() => s.ws.readyState === WebSocket.OPEN && s.ws.send('{"type":"ping"}'), 200);
  return () => clearInterval(timer);
}

const alarmOf = (room: string) => runInDurableObject(roomStub(room), (_room, state) => state.storage.getAlarm());

describe('silent sockets', () => {
  it('are closed with 4004 and leave presence, while sockets that ping stay', async () => {
    const room = freshRoom();
    const { s: watcher } = await connectClient(room, 'watcher');
    const stop = keepAlive(watcher);
    const { s: ghost, welcome } = await connectClient(room, 'ghost');
    const started = Date.now();
    expect(await ghost.closed).toEqual({ code: 4004, reason: 'no frame or ping for 1 s' });
    // Within 1.5 × halfOpenSeconds, plus the alarm's own latency.
    expect(Date.now() - started).toBeLessThan(2500);
    const events = await watcher.drain();
    expect(events.filter((m) => m.type === 'presence').map((m) => [m.event, m.peer.conn])).toEqual([
      ['join', welcome.conn],
      ['leave', welcome.conn],
    ]);
    expect(watcher.ws.readyState).toBe(WebSocket.OPEN);
    stop();
  }, 10_000);

  it('need no alarm in a room nobody said hello in, and stop it when the last one leaves', async () => {
    const room = freshRoom();
    const drift = await connect(room);
    drift.send({ type: 'ping', nonce: 1 });
    await drift.next();
    expect(await alarmOf(room)).toBeNull();
    const { s } = await connectClient(room, 'only');
    expect(await alarmOf(room)).toEqual(expect.any(Number));
    s.close();
    await s.closed;
    // The next sweep finds nobody and sets no other.
    const deadline = Date.now() + 3000;
    while ((await alarmOf(room)) !== null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await alarmOf(room)).toBeNull();
  }, 10_000);

  it('never wipe a room whose retention is not due', async () => {
    const room = freshRoom();
    const { s } = await connectClient(room, 'writer');
    const stop = keepAlive(s);
    s.send(push('log', 'kept'));
    await s.drain();
    // A wake forgets when the last push was: only the stored due time may decide a wipe.
    await evictDurableObject(roomStub(room), { webSockets: 'hibernate' });
    // Several sweeps run meanwhile (every 0.5 s); the retention alarm is a day away.
    const until = Date.now() + 1600;
    while (Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    s.send({ type: 'get', key: 'log', seq: 0 });
    expect(await s.until((m) => m.type === 'init')).toMatchObject({ data: [{ value: 'kept' }] });
    stop();
  }, 10_000);
});
