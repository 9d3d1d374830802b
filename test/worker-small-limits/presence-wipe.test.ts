// After the retention wipe (RETENTION_SECONDS is 1 here), nobody it closed is shown to a newcomer.
import { describe, expect, it } from 'vitest';
import { connectClient, freshRoom, push } from '../worker/helpers.ts';

describe('presence after the retention wipe', () => {
  it('welcomes a newcomer into an empty roster, and it sees no leave of those the wipe closed', async () => {
    const room = freshRoom();
    const { s: old } = await connectClient(room, 'old', 'here');
    old.send(push('log', 1)); // a write arms the retention alarm
    await old.drain();
    expect(await old.closed.then((c) => c.code)).toBe(4000); // bounded by the test timeout

    const { s: newcomer, welcome } = await connectClient(room, 'newcomer');
    expect(welcome.peers).toEqual([]);
    const { welcome: third } = await connectClient(room, 'third');
    expect(third.peers.map((p: { client: string }) => p.client)).toEqual([welcome.client]);
    expect((await newcomer.drain()).map((m) => `${m.type} ${m.event} ${m.peer?.client}`)).toEqual([
      `presence join ${third.client}`,
    ]);
  }, 10_000);
});
