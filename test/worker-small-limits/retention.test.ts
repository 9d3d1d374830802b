// Retention: a room idle for RETENTION_SECONDS (1 s here) is wiped, memory and storage.
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { connect, freshRoom, http, push, roomStub } from '../worker/helpers.ts';

describe('retention', () => {
  it('wipes an idle room, closes its sockets with 4000, keeps the counter, and flags resumes as reset', async () => {
    const room = freshRoom();
    const s = await connect(room);
    for (const v of ['a', 'b', 'c']) s.send(push('log', v));
    await s.drain();
    expect(await s.closed.then((c) => c.code)).toBe(4000); // bounded by the test timeout

    const after = await connect(room);
    after.send({ type: 'get', key: 'log' });
    expect(await after.next()).toEqual({ type: 'init', key: 'log', data: [] });
    after.send(push('log', 'd'));
    // The stream's size was cleared from memory too: one value, so no stream_size.
    const [echo, ...rest] = await after.drain();
    expect(echo).toMatchObject({ type: 'push', value: 'd' });
    expect(echo.seq).toBeGreaterThan(3);
    expect(rest).toEqual([]);

    const resumer = await connect(room);
    resumer.send({ type: 'sub', key: 'log', seq: 3 });
    expect(await resumer.next()).toEqual({
      type: 'init',
      key: 'log',
      reset: true,
      data: [{ value: 'd', seq: echo.seq }],
    });
  }, 10_000);

  it('arms the alarm on HTTP writes too', async () => {
    const room = freshRoom();
    const before = Date.now();
    await http(`/room/${room}/send`, { method: 'POST', body: JSON.stringify(push('k', 1, 'replace')) });
    const alarm = await runInDurableObject(roomStub(room), (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThanOrEqual(before + 1000);
  });
});
