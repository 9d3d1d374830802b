// Early frames in a fanned-out room (docs/hot-rooms.md, "Which leaf a socket lands on"): the
// Worker routes an upgrade by the client ID its early hello's secret gives, so a client that
// reconnects, with no token and no `?client=` hint, lands on its leaf again and replaces there
// its older socket (4001).
import { describe, expect, it } from 'vitest';
import { leafFor } from '../../worker/fanout.ts';
import { connectOffering, earlyEntry, http, idOf, push, secretOf } from '../worker/helpers.ts';
import { nameOnLeaf, newFanoutRoom } from './helpers.ts';

const hello = (name: string) => ({ type: 'hello', protocol: 1, secret: secretOf(name) });
/** The leaf a connection ID names: `2.k3JqXw9aLm0P` is on leaf 2. */
const leafOf = (conn: string): number => Number(conn.split('.')[0]);

describe('early frames in a fanned-out room', () => {
  it('route every reconnect of one client to its leaf, where the newer socket replaces the older (4001)', async () => {
    const leaves = 4;
    const room = await newFanoutRoom(leaves);
    const name = 'early-routed';
    const home = leafFor(leaves, idOf(name));
    let previous: Awaited<ReturnType<typeof connectOffering>>['s'] | undefined;
    // Each reconnect lands at random with 1 chance in 4 without routing: 6 in a row, 1 in 4,096.
    for (let i = 0; i < 6; i++) {
      const { s } = await connectOffering(room, [earlyEntry([hello(name)])]);
      const welcome = await s.next();
      expect(welcome).toMatchObject({ type: 'welcome', client: idOf(name) });
      expect(leafOf(welcome.conn)).toBe(home);
      if (previous) expect((await previous.closed).code).toBe(4001);
      previous = s;
    }
  });

  it('route by the early hello before the ?client= hint', async () => {
    const leaves = 3;
    const room = await newFanoutRoom(leaves);
    const name = nameOnLeaf(leaves, 1);
    const hint = `?client=${idOf(nameOnLeaf(leaves, 2))}`;
    const { s } = await connectOffering(room, [earlyEntry([hello(name)])], hint);
    expect(leafOf((await s.next()).conn)).toBe(1);
  });

  it('welcome and replay from the leaf with no frame sent by the client', async () => {
    const room = await newFanoutRoom(2);
    for (const value of ['a', 'b']) {
      const res = await http(`/room/${room}/send`, { method: 'POST', body: JSON.stringify(push('chat', value)) });
      expect(res.status).toBe(200);
    }
    const { s } = await connectOffering(room, [earlyEntry([hello('leaf-early'), { type: 'sub', key: 'chat' }])]);
    expect(await s.next()).toMatchObject({ type: 'welcome', client: idOf('leaf-early'), seq: 2 });
    const init = await s.next();
    expect(init).toMatchObject({ type: 'init', key: 'chat' });
    expect(init.data.map((e: { value: unknown }) => e.value)).toEqual(['a', 'b']);
    // Sent after open: handled after the early frames, in order.
    s.send(push('chat', 'c', 'append', 'c1'));
    expect(await s.next()).toMatchObject({ type: 'push', key: 'chat', value: 'c', seq: 3 });
    expect(await s.next()).toEqual({ type: 'ack', id: 'c1', seq: 3 });
  });
});
