// The HTTP API: room URLs, the send endpoint, CORS and errors.
import { describe, expect, it } from 'vitest';
import { freshRoom, http } from './helpers.ts';

const send = (room: string, body: unknown, query = '') =>
  http(`/room/${room}/send${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('HTTP API', () => {
  it('issues unguessable, URL-safe room IDs with URLs DriftDB clients can use', async () => {
    const res = await http('/new', { method: 'POST' });
    expect(res.status).toBe(200);
    const body = await res.json<{ room: string; socket_url: string; http_url: string }>();
    expect(body.room).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(body).toEqual({
      room: body.room,
      socket_url: `ws://edgeroom.test/room/${body.room}/connect`,
      http_url: `http://edgeroom.test/room/${body.room}/send`,
    });
    const other = await (await http('/new', { method: 'POST' })).json<{ room: string }>();
    expect(other.room).not.toBe(body.room);
  });

  it('returns the same shape for any well-formed room ID, with TLS URLs over TLS', async () => {
    const res = await http('/room/my-team_room1');
    expect(await res.json()).toEqual({
      room: 'my-team_room1',
      socket_url: 'ws://edgeroom.test/room/my-team_room1/connect',
      http_url: 'http://edgeroom.test/room/my-team_room1/send',
    });
    const tls = await http('/room/abc', { headers: { 'x-forwarded-proto': 'https' } });
    expect(await tls.json()).toMatchObject({
      socket_url: 'wss://edgeroom.test/room/abc/connect',
      http_url: 'https://edgeroom.test/room/abc/send',
    });
  });

  it('rejects a malformed room ID with a JSON 400, and an unknown route with a JSON 404', async () => {
    const bad = await http('/room/not%20ok!');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      type: 'error',
      code: 'bad_room_id',
      message: expect.stringContaining('Room IDs'),
    });
    const missing = await http('/nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ type: 'error', code: 'not_found', message: 'No route for GET /nope' });
  });

  it('asks for an upgrade on the socket endpoint', async () => {
    const res = await http('/room/abc/connect');
    expect(res.status).toBe(426);
  });

  it('applies a push over HTTP and replays it, as DriftDB does', async () => {
    const room = freshRoom();
    const appended = await send(room, { type: 'push', action: { type: 'append' }, value: 'foobar', key: 'my-key' });
    expect(appended.status).toBe(200);
    expect(await appended.json()).toBeNull();
    const got = await send(room, { type: 'get', key: 'my-key', seq: 0 });
    expect(await got.json()).toEqual({ type: 'init', key: 'my-key', data: [{ value: 'foobar', seq: 1 }] });
    await send(room, { type: 'push', action: { type: 'append' }, value: 'again', key: 'my-key' })
      .then((r) => r.json())
      .then((body) => expect(body).toEqual({ type: 'stream_size', key: 'my-key', size: 2 }));
    expect(await (await send(room, { type: 'ping', nonce: 3 })).json()).toEqual({ type: 'pong', nonce: 3 });
    expect(
      await (
        await send(room, { type: 'push', key: 'k', value: 1, action: { type: 'relay' }, id: 'h1' }, '?client=backend')
      ).json(),
    ).toEqual({ type: 'ack', id: 'h1', seq: 3 });
  });

  it('rejects bad HTTP sends with a typed JSON error', async () => {
    const room = freshRoom();
    const notJson = await http(`/room/${room}/send`, { method: 'POST', body: '{nope' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ type: 'error', code: 'bad_frame' });
    const badAction = await send(room, { type: 'push', key: 'k', value: 1, action: { type: 'explode' } });
    expect(await badAction.json()).toMatchObject({
      type: 'error',
      code: 'bad_message',
      message: expect.stringContaining('action.type'),
    });
    const socketOnly = await send(room, { type: 'sub', key: 'k' });
    expect(await socketOnly.json()).toMatchObject({
      code: 'bad_message',
      message: 'Invalid message: type must be one of push, get or ping, not "sub"',
    });
    const huge = await http(`/room/${room}/send`, { method: 'POST', body: 'x'.repeat(300_000) });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ code: 'too_large' });
  });

  it('answers the CORS preflight for a browser POST to send', async () => {
    const res = await http('/room/abc/send', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')).toContain('content-type');
    const post = await http('/new', { method: 'POST', headers: { origin: 'https://app.example' } });
    expect(post.headers.get('access-control-allow-origin')).toBe('*');
  });
});
