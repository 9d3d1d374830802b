// A deployment without AUTH_KEYS (this project's) has open rooms only, and takes no tokens.
import { describe, expect, it } from 'vitest';
import { freshRoom, http, TestSocket } from './helpers.ts';

describe('without AUTH_KEYS', () => {
  it('refuses a token rather than ignoring it, and keeps private rooms shut', async () => {
    for (const [room, query, reason] of [
      [freshRoom(), '?token=a.b.c', 'This deployment has no AUTH_KEYS: it takes no tokens'],
      [`p_${freshRoom()}`, '', 'This room needs a token'],
    ] as const) {
      const res = await http(`/room/${room}/connect${query}`, { headers: { Upgrade: 'websocket' } });
      expect(await new TestSocket(res.webSocket!).closed).toEqual({ code: 4100, reason });
    }
  });
});
