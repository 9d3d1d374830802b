// Retention in a fanned-out room (RETENTION_SECONDS 1 here): the root's wipe reaches every leaf.
import { describe, expect, it } from 'vitest';
import { push } from '../worker/helpers.ts';
import { clientOn, newFanoutRoom } from '../worker-fanout/helpers.ts';

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
});
