// Early frames (docs/protocol.md) count against a socket's frame rate as frames do (tiny rates
// here: a burst of 30), so a flood cannot hide in the upgrade.
import { describe, expect, it } from 'vitest';
import { connectOffering, earlyEntry, freshRoom, secretOf } from '../worker/helpers.ts';

const FRAME_BURST = 30;
const hello = { type: 'hello', protocol: 1, secret: secretOf('early-rates'), roster: false };
const subs = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'sub', key: `k${i}`, replay: false }));

describe('early frames and the frame rate', () => {
  it('take a burst of early frames that fits, and count them: the frame after the burst closes the socket', async () => {
    const { s } = await connectOffering(freshRoom(), [earlyEntry([hello, ...subs(FRAME_BURST - 1)])]);
    expect((await s.next()).type).toBe('welcome');
    // The bucket refills one token a second: one frame fits, unless a second passed, and then two do.
    s.send({ type: 'ping', nonce: 1 });
    s.send({ type: 'ping', nonce: 2 });
    s.send({ type: 'ping', nonce: 3 });
    const closed = await s.closed;
    expect(closed.code).toBe(4290);
    expect(s.received.filter((m) => m.type === 'pong').length).toBeLessThan(3);
  });

  it('close a socket whose early frames are past the burst (4290), as frames past it would', async () => {
    const { s } = await connectOffering(freshRoom(), [earlyEntry([hello, ...subs(FRAME_BURST)])]);
    expect(await s.closed).toEqual({
      code: 4290,
      reason: `over framesPerSecond (1/s, burst ${FRAME_BURST}): reconnect after 5000 ms`,
    });
    // The first 30 were taken (the welcome among them), the 31st closed it.
    expect(s.received.map((m) => m.type)).toEqual(['welcome']);
  });
});
