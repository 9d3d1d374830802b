// The default limits let an ordinary client through: what one sends on reconnecting fits in a burst.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../protocol/limits.ts';
import { connect, freshRoom, push, secretOf } from './helpers.ts';

describe('default limits', () => {
  it('let a reconnecting client resubscribe to maxSubscriptions subjects and resend a publish burst at once', async () => {
    const room = freshRoom();
    const s = await connect(room);
    s.send({ type: 'hello', protocol: 1, secret: secretOf('busy') });
    for (let i = 0; i < DEFAULT_LIMITS.maxSubscriptions; i++) s.send({ type: 'sub', key: `s${i}`, replay: false });
    for (let i = 0; i < DEFAULT_LIMITS.publishBurst; i++) s.send(push('s0', i, 'append', `m${i}`));
    const got = await s.drain(20_000);
    expect(got.filter((m) => m.type === 'ack').map((m) => m.id)).toEqual(
      Array.from({ length: DEFAULT_LIMITS.publishBurst }, (_, i) => `m${i}`),
    );
    expect(got.filter((m) => m.type === 'error')).toEqual([]);
    expect(s.ws.readyState).toBe(WebSocket.OPEN);
  }, 30_000);
});
