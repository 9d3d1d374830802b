// Bad frames get typed errors; the socket stays open and the room stays whole.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../protocol/limits.ts';
import { connect, freshRoom, hex, push } from './helpers.ts';

describe('bad input', () => {
  it('answers a frame that is not JSON with bad_frame and keeps the socket open', async () => {
    const s = await connect(freshRoom());
    s.sendRaw('{"type": "push",');
    expect(await s.next()).toEqual({ type: 'error', code: 'bad_frame', message: expect.stringMatching(/^Could not decode JSON frame: /) });
    s.sendRaw(hex('ff ff ff'));
    expect(await s.next()).toMatchObject({ type: 'error', code: 'bad_frame', message: expect.stringMatching(/^Could not decode CBOR frame: /) });
    s.send({ type: 'ping', nonce: 1 });
    expect(await s.next()).toEqual({ type: 'pong', nonce: 1 });
  });

  it('names the field that is wrong', async () => {
    const s = await connect(freshRoom());
    s.send({ type: 'teleport' });
    s.send({ type: 'push', key: 'k', value: 1, action: { type: 'explode' } });
    s.send({ type: 'push', key: 7, value: 1, action: { type: 'relay' } });
    s.send({ type: 'get', key: 'k', seq: -1 });
    s.send({ type: 'push', key: 'k', value: 1, action: { type: 'compact' }, id: 'm1' });
    s.send([1, 2]);
    const errors = await s.drain();
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['bad_message', expect.stringMatching(/^Invalid teleport: type: /)],
      ['bad_message', expect.stringMatching(/^Invalid push: action\.type: /)],
      ['bad_message', expect.stringMatching(/^Invalid push: key: /)],
      ['bad_message', expect.stringMatching(/^Invalid get: seq: /)],
      ['bad_message', expect.stringMatching(/^Invalid push: action\.seq: /)],
      ['bad_message', expect.stringMatching(/^Invalid message: /)],
    ]);
    expect(errors[4].id).toBe('m1');
  });

  it('rejects an oversize frame and an over-long subject, and applies neither', async () => {
    const room = freshRoom();
    const s = await connect(room);
    s.send(push('k', 'x'.repeat(DEFAULT_LIMITS.maxMessageBytes)));
    s.send(push('k'.repeat(DEFAULT_LIMITS.maxSubjectLength + 1), 1, 'append', 'long1'));
    s.send({ type: 'sub', key: 's'.repeat(DEFAULT_LIMITS.maxSubjectLength + 1) });
    const msgs = await s.drain();
    expect(msgs).toEqual([
      { type: 'error', code: 'too_large', message: expect.stringContaining('exceeds maxMessageBytes (262144)') },
      { type: 'error', code: 'subject_too_long', id: 'long1', key: 'k'.repeat(64), message: 'Subject of 257 characters exceeds maxSubjectLength (256)' },
      { type: 'error', code: 'subject_too_long', key: 's'.repeat(64), message: 'Subject of 257 characters exceeds maxSubjectLength (256)' },
    ]);
    s.send(push('k', 'fine'));
    expect(await s.next()).toEqual({ type: 'push', key: 'k', value: 'fine', seq: 1 });
  });

  it('keeps other clients unaffected by one client sending garbage', async () => {
    const room = freshRoom();
    const bad = await connect(room);
    const good = await connect(room);
    for (const frame of ['', 'null', '{}', '{"type":"push"}', '[]', '"str"', '{"type":"hello","protocol":"x"}']) bad.sendRaw(frame);
    bad.send(push('k', 'ok'));
    await bad.drain();
    expect(await good.drain()).toEqual([{ type: 'push', key: 'k', value: 'ok', seq: 1 }]);
  });

  it('refuses an unsupported protocol version with an error and close code 4003', async () => {
    const s = await connect(freshRoom());
    s.send({ type: 'hello', protocol: 99 });
    expect(await s.next()).toEqual({ type: 'error', code: 'unsupported_protocol', message: 'This server speaks protocol 1, not 99' });
    expect(await s.closed).toEqual({ code: 4003, reason: 'unsupported protocol version' });
  });
});
