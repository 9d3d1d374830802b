import { describe, expect, it } from 'vitest';
import { leafOfConn } from '../../worker/leaf-direct.ts';
import { clientOn, newFanoutRoom } from './helpers.ts';

describe('direct messages in a fanned-out room', () => {
  it('a connection ID names its leaf, and a dm reaches its recipient on another leaf or the same one', async () => {
    const room = await newFanoutRoom(3);
    const a = await clientOn(room, 3, 0);
    const b = await clientOn(room, 3, 2);
    const c = await clientOn(room, 3, 2);
    expect(a.welcome.conn).toMatch(/^0\.[A-Za-z0-9]{12}$/);
    expect(b.welcome.conn).toMatch(/^2\./);
    a.s.send({ type: 'dm', to: b.welcome.conn, value: { hi: 1 }, id: 'd1' });
    a.s.send({ type: 'dm', to: b.welcome.conn, value: { hi: 2 }, id: 'd2' });
    expect(await b.s.next()).toEqual({ type: 'dm', from: a.welcome.conn, value: { hi: 1 } });
    expect(await b.s.next()).toEqual({ type: 'dm', from: a.welcome.conn, value: { hi: 2 } });
    b.s.send({ type: 'dm', to: a.welcome.conn, value: 'back' });
    c.s.send({ type: 'dm', to: b.welcome.conn, value: 'neighbour' });
    expect(await a.s.next()).toEqual({ type: 'dm', from: b.welcome.conn, value: 'back' });
    expect(await b.s.next()).toEqual({ type: 'dm', from: c.welcome.conn, value: 'neighbour' });
    expect(await a.s.drain()).toEqual([]);
  });

  it('a dm to nobody gets no_such_connection with its id: gone, on no leaf, or not an ID of this room', async () => {
    const room = await newFanoutRoom(2);
    const a = await clientOn(room, 2, 0);
    const b = await clientOn(room, 2, 1);
    b.s.close();
    await b.s.closed;
    for (const to of [b.welcome.conn, '1.AAAAAAAAAAAA', '7.AAAAAAAAAAAA', 'AAAAAAAAAAAA']) {
      a.s.send({ type: 'dm', to, value: 1, id: `to-${to}` });
      expect(await a.s.next()).toEqual({
        type: 'error',
        code: 'no_such_connection',
        id: `to-${to}`,
        message: `No connection ${to} in this room`,
      });
    }
  });

  it('reads the leaf from a connection ID only when it is one of the room', () => {
    expect(leafOfConn('3.abc', 4)).toBe(3);
    expect(leafOfConn('12.abc', 16)).toBe(12);
    for (const bad of ['4.abc', 'x.abc', '.abc', 'abc', '-1.abc', '1e0.abc', '123.abc']) {
      expect(leafOfConn(bad, 4)).toBeUndefined();
    }
  });
});
