// Our client and the published DriftDB client, unchanged, against edgeroom
// mounted under /rt/ in another Worker (test/embed/fixture), run by wrangler.
import driftdb from 'driftdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WS from 'ws';
import { connect, createRoom, RoomError, type Room, type SubjectEvent } from '../../../client/index.ts';
import type { TypedRoom } from '../../../client/index.ts';
import type { subjects } from '../fixture/subjects.ts';
import { waitFor } from '../../e2e/wait.ts';
import { startFixture } from './fixture-server.ts';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WS;
const { Api, DbConnection } = driftdb;

let server: Awaited<ReturnType<typeof startFixture>>;
const cleanup: (() => void)[] = [];

beforeAll(async () => {
  server = await startFixture();
});
afterAll(async () => {
  for (const done of cleanup) done();
  await server?.stop();
});

describe('through the prefix', () => {
  it('the host app still answers its own routes', async () => {
    expect(await (await fetch(`${server.url}/`)).text()).toBe('the host app');
  });

  it('the DriftDB client creates a room, pushes and replays', async () => {
    const api = new Api(`${server.url}/rt/`);
    const made = await api.newRoom();
    expect(made.socket_url).toBe(`${server.url.replace('http', 'ws')}/rt/room/${made.room}/connect`);
    expect(await api.getRoom(made.room)).toEqual(made);
    const a = new DbConnection();
    cleanup.push(() => a.disconnect());
    await a.connect(made.socket_url);
    const seen: unknown[] = [];
    a.subscribe('free', (v) => seen.push(v));
    a.send({ type: 'push', action: { type: 'append' }, key: 'free', value: 'hello' });
    await waitFor(() => seen.length === 1, 5000, 'the echo');
    const b = new DbConnection();
    cleanup.push(() => b.disconnect());
    await b.connect(made.socket_url, true); // CBOR, as the DriftDB client asks with ?cbor=true
    const replayed: unknown[] = [];
    b.subscribe('free', (v) => replayed.push(v));
    await waitFor(() => replayed.length === 1, 5000, 'the replay');
    expect(replayed).toEqual([{ seq: 1, value: 'hello' }]);
  });

  it("our client, typed by the server's schemas, gets invalid_value for a bad value and nothing is stored", async () => {
    const { socket_url } = await createRoom(`${server.url}/rt`);
    expect(socket_url).toContain('/rt/room/');
    const room = connect(socket_url, { WebSocket: WS as never }) as TypedRoom<typeof subjects>;
    cleanup.push(() => room.close());
    const events: SubjectEvent<{ text: string }>[] = [];
    room.subscribe('chat', (e) => events.push(e));
    expect(await room.append('chat', { text: 'hi' })).toBe(1);
    // A value the schema refuses gets past tsc only by a cast: the room still checks it.
    const refused = await room.append('chat', { text: 7 } as unknown as { text: string }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RoomError);
    expect(refused).toMatchObject({
      code: 'invalid_value',
      message: expect.stringMatching(/^Invalid value for chat: text: /),
    });
    // An optimistic set of a bad value is rolled back.
    const rolled = room.set('score', 1.5 as number).catch((e: unknown) => e);
    expect(await rolled).toMatchObject({ code: 'invalid_value' });
    expect(room.get('score')).toBeUndefined();
    expect(await room.set('score', 2)).toBeGreaterThan(1);

    // A second client sees the stored stream: only the good value.
    const late = connect(socket_url, { WebSocket: WS as never }) as Room;
    cleanup.push(() => late.close());
    const lateSeen: unknown[] = [];
    late.subscribe('chat', (e) => e.type === 'message' && lateSeen.push(e.value));
    await waitFor(() => lateSeen.length === 1, 5000, 'the replay');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(lateSeen).toEqual([{ text: 'hi' }]);
    expect(events.filter((e) => e.type === 'message').map((e) => e.type === 'message' && e.value)).toEqual([
      { text: 'hi' },
    ]);
  });
});
