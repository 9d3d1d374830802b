// `roster: false`: the client stays in presence but declines the roster. The
// server then sends `peers: []` and no presence frames (test/worker-presence/
// roster-declined.test.ts); the client says so in every hello and fires no
// presence event, not even `sync`.
import { describe, expect, it } from 'vitest';
import type { PresenceEvent } from '../../client/index.ts';
import { latest, openRoom, redial, SECRET, useFakeSockets } from './fake-socket.ts';

describe('roster: false', () => {
  useFakeSockets();

  it('says so in every hello; peers stay empty and presence never fires', () => {
    const room = openRoom({ roster: false, presence: { name: 'log viewer' } });
    const events: PresenceEvent[] = [];
    room.on('presence', (event) => events.push(event));
    latest().accept(0, { conn: 'c1', peers: [] });
    expect(room.status).toBe('open');
    const hello = {
      type: 'hello',
      protocol: 1,
      secret: SECRET,
      presence: { name: 'log viewer' },
      acks: true,
      roster: false,
    };
    expect(latest().frames('hello')).toEqual([hello]);
    latest().drop();
    redial().accept(0, { conn: 'c2', peers: [] });
    expect(latest().frames('hello')).toEqual([hello]);
    expect(room.status).toBe('open');
    expect(room.peers.size).toBe(0);
    expect(events).toEqual([]);
  });

  it('by default sends no roster field and fires sync after each welcome', () => {
    const room = openRoom();
    const events: PresenceEvent[] = [];
    room.on('presence', (event) => events.push(event));
    latest().accept();
    expect(latest().frames('hello')[0]).not.toHaveProperty('roster');
    expect(events).toEqual([{ event: 'sync' }]);
  });
});
