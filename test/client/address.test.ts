import { describe, expect, it, vi } from 'vitest';
import { createRoom, RoomError, socketUrl } from '../../client/index.ts';

describe('room addresses', () => {
  it('accepts a socket URL as is, turns http(s) into ws(s), and builds one from a base and a room ID', () => {
    expect(socketUrl('wss://h.example/room/a/connect')).toBe('wss://h.example/room/a/connect');
    expect(socketUrl('https://h.example/room/a/connect')).toBe('wss://h.example/room/a/connect');
    expect(socketUrl({ base: 'http://127.0.0.1:8787/', room: 'a b' })).toBe('ws://127.0.0.1:8787/room/a%20b/connect');
  });

  it('creates a room with POST {base}/new', async () => {
    const result = { room: 'r1', socket_url: 'ws://h/room/r1/connect', http_url: 'http://h/room/r1/send' };
    const fetch = vi.fn(async () => Response.json(result));
    expect(await createRoom('http://h/', { fetch })).toEqual(result);
    expect(fetch).toHaveBeenCalledWith('http://h/new', { method: 'POST' });
  });

  it('rejects with the server error code when creating fails', async () => {
    const fetch = async () => Response.json({ code: 'internal', message: 'boom' }, { status: 500 });
    await expect(createRoom('http://h', { fetch })).rejects.toEqual(new RoomError('internal', 'boom'));
  });
});
