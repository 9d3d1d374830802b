import { afterEach, describe, expect, it } from 'vitest';
import { CLOSE_CODES, MAX_ID_LENGTH, MIN_SECRET_LENGTH } from '../../protocol/limits.ts';
import { stableSecret } from '../../client/ids.ts';
import { FakeSocket, latest, openRoom, redial, useFakeSockets } from './fake-socket.ts';

const globals = globalThis as { sessionStorage?: Pick<Storage, 'getItem' | 'setItem'> };

/** A sessionStorage of our own, as a browser tab has. */
function tabStorage(): Map<string, string> {
  const stored = new Map<string, string>();
  globals.sessionStorage = { getItem: (k) => stored.get(k) ?? null, setItem: (k, v) => void stored.set(k, v) };
  return stored;
}

/** Open the socket and return the secret its hello carried. */
function helloSecret(socket: FakeSocket = latest()): string {
  if (socket.readyState !== 1) socket.open();
  const hellos = socket.frames('hello');
  expect(hellos).toHaveLength(1);
  return hellos[0]!.secret as string;
}

// Each test uses rooms of its own: the process keeps one secret per room ID.
describe('identity', () => {
  useFakeSockets();
  afterEach(() => void delete globals.sessionStorage);

  it('says hello with a secret and no client ID; clientId is the one the welcome gives, undefined before', () => {
    tabStorage();
    const room = openRoom({ secret: undefined }, 'ws://h.test/room/hello-room/connect');
    latest().open();
    const [hello] = latest().frames('hello');
    expect(Object.keys(hello!).sort()).toEqual(['acks', 'protocol', 'secret', 'type']);
    const secret = hello!.secret as string;
    expect(secret.length).toBeGreaterThanOrEqual(MIN_SECRET_LENGTH);
    expect(secret.length).toBeLessThanOrEqual(MAX_ID_LENGTH);
    expect(room.clientId).toBeUndefined();
    latest().receive({
      type: 'welcome',
      protocol: 1,
      conn: 'c1',
      client: 'derived-by-server',
      seq: 0,
      limits: {},
      peers: [],
    });
    expect(room.clientId).toBe('derived-by-server');
  });

  it('keeps one secret per room ID in sessionStorage, whatever URL reaches the room', () => {
    const stored = tabStorage();
    const a = openRoom({ secret: undefined }, 'ws://127.0.0.1:8787/room/abc/connect');
    const first = helloSecret();
    expect(stored.get('edgeroom.secret.abc')).toBe(first);
    a.close();
    const b = openRoom({ secret: undefined }, { base: 'http://localhost:8787/', room: 'abc' });
    expect(helloSecret()).toBe(first);
    b.close();
    openRoom({ secret: undefined }, 'wss://rooms.example/room/other/connect');
    const other = helloSecret();
    expect(other).not.toBe(first);
    expect(stored.get('edgeroom.secret.other')).toBe(other);
    // A reload of this tab: what sessionStorage holds wins.
    stored.set('edgeroom.secret.abc', 'kept-by-this-tab-0001');
    openRoom({ secret: undefined }, 'ws://127.0.0.1:8787/room/abc/connect');
    expect(helloSecret()).toBe('kept-by-this-tab-0001');
  });

  it('gives two open connections to one room distinct secrets, whether URLs, bases or secrets were the same', () => {
    tabStorage();
    const first = openRoom({ secret: undefined }, 'ws://127.0.0.1:8787/room/two/connect');
    openRoom({ secret: undefined }, 'ws://localhost:8787/room/two/connect');
    openRoom({ secret: undefined }, { base: 'http://localhost:8787', room: 'two' });
    openRoom({ secret: 'chosen-by-the-app-01' }, 'ws://localhost:8787/room/two/connect');
    openRoom({ secret: 'chosen-by-the-app-01' }, 'ws://127.0.0.1:8787/room/two/connect');
    const secrets = FakeSocket.all.map((socket) => helloSecret(socket));
    expect(new Set(secrets).size).toBe(5);
    expect(secrets[3]).toBe('chosen-by-the-app-01');
    // (The server replaces a socket, 4001, only for a newer one with the same secret.)
    // Closing the connection that holds the tab's secret frees it for the next one.
    first.close();
    openRoom({ secret: undefined }, 'ws://localhost:8787/room/two/connect');
    expect(helloSecret()).toBe(secrets[0]);
  });

  it('renews the secret for good on 4001, in sessionStorage too (a duplicated tab had copied it)', () => {
    const stored = tabStorage();
    stored.set('edgeroom.secret.dup', 'copied-by-duplicate-1');
    const room = openRoom({ secret: undefined }, 'ws://h.test/room/dup/connect');
    expect(helloSecret()).toBe('copied-by-duplicate-1');
    latest().accept();
    latest().drop(CLOSE_CODES.replaced);
    const renewed = helloSecret(redial());
    expect(renewed).not.toBe('copied-by-duplicate-1');
    expect(renewed.length).toBeGreaterThanOrEqual(MIN_SECRET_LENGTH);
    expect(stored.get('edgeroom.secret.dup')).toBe(renewed);
    latest().accept();
    latest().drop(); // an ordinary drop keeps it
    expect(helloSecret(redial())).toBe(renewed);
    room.close();
    openRoom({ secret: undefined }, 'ws://h.test/room/dup/connect');
    expect(helloSecret()).toBe(renewed);
  });

  it('without sessionStorage, keeps one secret per room for the process', () => {
    const first = stableSecret('process-room');
    expect(stableSecret('process-room')).toBe(first);
    expect(stableSecret('another-room')).not.toBe(first);
    openRoom({ secret: undefined }, 'ws://h.test/room/process-room/connect');
    expect(helloSecret()).toBe(first);
    const renewed = stableSecret('process-room', true);
    expect(renewed).not.toBe(first);
    expect(stableSecret('process-room')).toBe(renewed);
  });
});
