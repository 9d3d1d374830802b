// Retention in a fanned-out room (RETENTION_SECONDS 1 here): the root's wipe reaches every leaf.
import { describe, expect, it } from 'vitest';
import { connect, idOf, push, secretOf } from '../worker/helpers.ts';
import { clientOn, nameOnLeaf, newFanoutRoom } from '../worker-fanout/helpers.ts';
import { View } from '../worker-presence/view.ts';

describe('retention in a fanned-out room', () => {
  it("closes every leaf's sockets with 4000 at the wipe, and a resume through a leaf is a reset", async () => {
    const room = await newFanoutRoom(2);
    const pub = await clientOn(room, 2, 0);
    const sub = await clientOn(room, 2, 1);
    sub.s.send({ type: 'sub', key: 'log' });
    await sub.s.until((m) => m.type === 'init');
    pub.s.send(push('log', 'a', 'append', 'a'));
    const { seq } = await pub.s.until((m) => m.type === 'ack');
    expect((await pub.s.closed).code).toBe(4000); // bounded by the test timeout
    expect((await sub.s.closed).code).toBe(4000);
    const back = await clientOn(room, 2, 1);
    back.s.send({ type: 'sub', key: 'log', seq });
    expect(await back.s.next()).toEqual({ type: 'init', key: 'log', data: [], reset: true });
  }, 10_000);

  it('forgets every member at the wipe: the next members are shown only each other', async () => {
    const room = await newFanoutRoom(2);
    const hello = async (leaf: number) => {
      const name = nameOnLeaf(2, leaf);
      const s = await connect(room, `?client=${idOf(name)}`);
      s.send({ type: 'hello', protocol: 1, secret: secretOf(name), presence: leaf });
      return { s, welcome: await s.until((m) => m.type === 'welcome') };
    };
    const before = [await hello(0), await hello(1)];
    before[0]!.s.send(push('log', 'a', 'append', 'a'));
    for (const { s } of before) expect((await s.closed).code).toBe(4000); // bounded by the test timeout
    const first = await hello(1);
    expect(first.welcome.peers).toEqual([]);
    const second = await hello(0);
    const view = new View(second.s, second.welcome);
    await view.settle(new Map([[first.welcome.conn, 1]]));
    expect(await view.drain()).toEqual([]);
    expect(view.faults).toEqual([]);
  }, 10_000);
});
