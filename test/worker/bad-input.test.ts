// Bad frames get typed errors; the socket stays open and the room stays whole.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, MAX_ID_LENGTH, MAX_TAIL, MIN_SECRET_LENGTH } from '../../protocol/limits.ts';
import { checkHttpMessage, checkMessage } from '../../worker/validate.ts';
import { connect, freshRoom, hex, push } from './helpers.ts';

describe('bad input', () => {
  it('answers a frame that is not JSON with bad_frame and keeps the socket open', async () => {
    const s = await connect(freshRoom());
    s.sendRaw('{"type": "push",');
    expect(await s.next()).toEqual({
      type: 'error',
      code: 'bad_frame',
      message: expect.stringMatching(/^Could not decode JSON frame: /),
    });
    s.sendRaw(hex('ff ff ff'));
    expect(await s.next()).toMatchObject({
      type: 'error',
      code: 'bad_frame',
      message: expect.stringMatching(/^Could not decode CBOR frame: /),
    });
    s.send({ type: 'ping', nonce: 1 });
    expect(await s.next()).toEqual({ type: 'pong', nonce: 1 });
  });

  it("names the field that is wrong, in the protocol's words", async () => {
    const s = await connect(freshRoom());
    s.send({ type: 'teleport' });
    s.send({ type: 'push', key: 'k', value: 1, action: { type: 'explode' } });
    s.send({ type: 'push', key: 7, value: 1, action: { type: 'relay' } });
    s.send({ type: 'get', key: 'k', seq: -1 });
    s.send({ type: 'push', key: 'k', value: 1, action: { type: 'compact' }, id: 'm1' });
    s.send([1, 2]);
    s.send({ type: 'push', key: 'k', action: { type: 'relay' } });
    s.send({});
    const errors = await s.drain();
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      [
        'bad_message',
        'Invalid message: type must be one of push, get, ping, hello, sub, unsub, presence, dm, auth or ack, not "teleport"',
      ],
      ['bad_message', 'Invalid push: action.type must be one of relay, append, replace or compact, not "explode"'],
      ['bad_message', 'Invalid push: key must be a string, not 7'],
      ['bad_message', 'Invalid get: seq must be at least 0, not -1'],
      ['bad_message', 'Invalid push: action.seq is missing: it must be a number'],
      [
        'bad_message',
        'Invalid message: a message is an object with a "type" (a JSON object, or a CBOR map), not an array',
      ],
      ['bad_message', 'Invalid push: value is missing (null for no value)'],
      [
        'bad_message',
        'Invalid message: type is missing: it must be one of push, get, ping, hello, sub, unsub, presence, dm, auth or ack',
      ],
    ]);
    expect(errors[4].id).toBe('m1');
  });

  it('never words an error the way zod does', () => {
    const limits = { ...DEFAULT_LIMITS };
    const said = (raw: unknown) => {
      const r = checkMessage(raw, false, limits);
      return r.ok ? 'accepted' : r.error.message;
    };
    expect(
      [
        { type: 'get', key: 'k', seq: 1.5 },
        { type: 'hello', protocol: 1, acks: 'yes' },
        { type: 'sub', key: 'k', last: MAX_TAIL + 1 },
        { type: 'presence' },
        { type: 'auth', token: '' },
        { type: 'push', key: 'k', value: 1, action: 'relay' },
      ].map(said),
    ).toEqual([
      'Invalid get: seq must be a whole number, not 1.5',
      'Invalid hello: acks must be true or false, not "yes"',
      `Invalid sub: last must be at most ${MAX_TAIL}, not ${MAX_TAIL + 1}`,
      'Invalid presence: state is missing (null for no value)',
      'Invalid auth: token must not be empty',
      'Invalid push: action must be an object, not "relay"',
    ]);
    // A length is told by its count, not its text: a secret stays out of the error.
    expect(said({ type: 'hello', protocol: 1, secret: 'hunter2' })).toBe(
      `Invalid hello: secret must be at least ${MIN_SECRET_LENGTH} characters long, not 7`,
    );
    expect(
      said({ type: 'push', key: 'k', value: 1, action: { type: 'relay' }, id: 'i'.repeat(MAX_ID_LENGTH + 1) }),
    ).toBe(`Invalid push: id must be at most ${MAX_ID_LENGTH} characters long, not ${MAX_ID_LENGTH + 1}`);
  });

  it('tells an HTTP body only the types HTTP takes', () => {
    const limits = { ...DEFAULT_LIMITS };
    const said = (raw: unknown) => {
      const r = checkHttpMessage(raw, limits);
      return r.ok ? r.message.type : `${r.error.code}: ${r.error.message}`;
    };
    expect([{ type: 'sub', key: 'k' }, { type: 'teleport' }, {}, { type: 'ping' }].map(said)).toEqual([
      'bad_message: Invalid message: type must be one of push, get or ping, not "sub"',
      'bad_message: Invalid message: type must be one of push, get or ping, not "teleport"',
      'bad_message: Invalid message: type is missing: it must be one of push, get or ping',
      'ping',
    ]);
    // The subject limit holds over HTTP as over a socket.
    expect(said({ type: 'get', key: 'k'.repeat(limits.maxSubjectLength + 1) })).toMatch(/^subject_too_long: /);
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
      {
        type: 'error',
        code: 'subject_too_long',
        id: 'long1',
        key: 'k'.repeat(64),
        message: 'Subject of 257 characters exceeds maxSubjectLength (256)',
      },
      {
        type: 'error',
        code: 'subject_too_long',
        key: 's'.repeat(64),
        message: 'Subject of 257 characters exceeds maxSubjectLength (256)',
      },
    ]);
    s.send(push('k', 'fine'));
    expect(await s.next()).toEqual({ type: 'push', key: 'k', value: 'fine', seq: 1 });
  });

  it('keeps other clients unaffected by one client sending garbage', async () => {
    const room = freshRoom();
    const bad = await connect(room);
    const good = await connect(room);
    for (const frame of ['', 'null', '{}', '{"type":"push"}', '[]', '"str"', '{"type":"hello","protocol":"x"}'])
      bad.sendRaw(frame);
    bad.send(push('k', 'ok'));
    await bad.drain();
    expect(await good.drain()).toEqual([{ type: 'push', key: 'k', value: 'ok', seq: 1 }]);
  });

  it('refuses an unsupported protocol version with an error and close code 4003', async () => {
    const s = await connect(freshRoom());
    s.send({ type: 'hello', protocol: 99 });
    expect(await s.next()).toEqual({
      type: 'error',
      code: 'unsupported_protocol',
      message: 'This server speaks protocol 1, not 99',
    });
    expect(await s.closed).toEqual({ code: 4003, reason: 'unsupported protocol version' });
  });
});
