// Counted pushes against the tiny rates of this project (1 publish a second, burst 5):
// a refused push records nothing, so it is applied once when resent, even after a later one.
import { describe, expect, it } from 'vitest';
import { connect, counted, freshRoom, originOf, push, type TestSocket } from '../worker/helpers.ts';

const PUBLISH_BURST = 5;
const O = originOf('alice');

const replies = async (s: TestSocket) => (await s.drain()).filter((m) => m.type === 'ack' || m.type === 'error');

describe('counted pushes and rate limits', () => {
  it('apply n=1 once when it was refused rate_limited and resent after n=2 was applied', async () => {
    const room = freshRoom();
    // Two sockets of one outbox (a tab that went away, and the one recovering it): the
    // first has spent its burst, so its n=1 is refused, while the second's n=2 goes in.
    const spent = await connect(room);
    for (let i = 0; i < PUBLISH_BURST; i++) spent.send(push('elsewhere', i, 'relay'));
    spent.send(counted('log', 'one', 1, O));
    const [refused] = await replies(spent);
    expect(refused).toMatchObject({ type: 'error', code: 'rate_limited', id: 'n1', key: 'log' });

    const fresh = await connect(room);
    fresh.send(counted('log', 'two', 2, O));
    fresh.send(counted('log', 'one', 1, O));
    const [two, one] = await replies(fresh);
    expect(two).toEqual({ type: 'ack', id: 'n2', seq: expect.any(Number) });
    expect(one).toEqual({ type: 'ack', id: 'n1', seq: two.seq + 1 });
    // And both once: resends are duplicates with the seqs they took.
    fresh.send(counted('log', 'one', 1, O));
    fresh.send(counted('log', 'two', 2, O));
    expect(await replies(fresh)).toEqual([
      { type: 'ack', id: 'n1', seq: one.seq, duplicate: true },
      { type: 'ack', id: 'n2', seq: two.seq, duplicate: true },
    ]);
    fresh.send({ type: 'get', key: 'log', seq: 0 });
    expect((await fresh.until((m) => m.type === 'init')).data).toEqual([
      { value: 'two', seq: two.seq },
      { value: 'one', seq: one.seq },
    ]);
  });
});
