import { describe, expect, it } from 'vitest';
import { connect, freshRoom } from '../worker/helpers.ts';

describe('subscription cap', () => {
  it('caps subscriptions per socket at MAX_SUBSCRIPTIONS (3 here), counting a repeated subject once', async () => {
    const s = await connect(freshRoom());
    for (const key of ['a', 'b', 'c', 'a']) s.send({ type: 'sub', key, replay: false });
    s.send({ type: 'sub', key: 'one-too-many', replay: false });
    s.send({ type: 'unsub', key: 'a' });
    s.send({ type: 'sub', key: 'room-again', replay: false });
    expect(await s.drain()).toEqual([
      {
        type: 'error',
        code: 'too_many_subscriptions',
        key: 'one-too-many',
        message: 'A socket may hold 3 subscriptions (maxSubscriptions)',
      },
    ]);
  });
});
