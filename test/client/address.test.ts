import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRoom, RoomError, socketUrl } from '../../client/index.ts';
import { stableClientId } from '../../client/ids.ts';
import { FakeSocket, openRoom, useFakeSockets } from './fake-socket.ts';

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

describe('client IDs', () => {
  useFakeSockets();
  const globals = globalThis as { sessionStorage?: Pick<Storage, 'getItem' | 'setItem'> };
  afterEach(() => void delete globals.sessionStorage);

  it('is stable per tab through sessionStorage, and renewed on request', () => {
    const stored = new Map<string, string>();
    globals.sessionStorage = { getItem: (k) => stored.get(k) ?? null, setItem: (k, v) => void stored.set(k, v) };
    const id = stableClientId();
    expect(id).toMatch(/^[0-9a-z]{16}$/);
    expect(stableClientId()).toBe(id);
    stored.set('edgeroom.client', 'from-this-tab');
    expect(stableClientId()).toBe('from-this-tab');
    const renewed = stableClientId(true);
    expect(renewed).not.toBe('from-this-tab');
    expect(stored.get('edgeroom.client')).toBe(renewed);
  });

  it('is stable per process without sessionStorage, but two open connections to one room get distinct IDs', () => {
    const first = stableClientId();
    expect(stableClientId()).toBe(first);
    const a = openRoom({ clientId: undefined });
    const b = openRoom({ clientId: undefined });
    expect(a.clientId).toBe(first);
    expect(b.clientId).not.toBe(first);
    a.close();
    expect(openRoom({ clientId: undefined }).clientId).toBe(first);
    expect(FakeSocket.all).toHaveLength(3);
  });
});
