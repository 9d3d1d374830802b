// Early frames (docs/protocol.md, "Early frames"): a hello and subs carried in the upgrade's
// subprotocol header are the socket's first frames, handled by the path every frame takes.
import { describe, expect, it } from 'vitest';
import { MAX_EARLY_CHARS } from '../../protocol/limits.ts';
import {
  connect,
  connectOffering,
  earlyEntry,
  freshRoom,
  http,
  idOf,
  push,
  secretOf,
  type TestSocket,
} from './helpers.ts';

const hello = (name: string, extra: object = {}) => ({ type: 'hello', protocol: 1, secret: secretOf(name), ...extra });

async function append(room: string, key: string, ...values: unknown[]): Promise<void> {
  for (const value of values) {
    const res = await http(`/room/${room}/send`, { method: 'POST', body: JSON.stringify(push(key, value)) });
    expect(res.status).toBe(200);
  }
}

/** The values and seqs of an init, as a subscriber sees them. */
const valuesOf = (init: { data: { value: unknown }[] }) => init.data.map((e) => e.value);

/** The error the frame path gives `frame`, sent as a frame on a socket that said hello. */
async function errorAsFrame(room: string, frame: unknown): Promise<unknown> {
  const s = await connect(room);
  s.send(hello('frame-path'));
  expect((await s.next()).type).toBe('welcome');
  s.send(frame);
  const error = await s.next();
  s.close();
  return error;
}

describe('early frames', () => {
  it('welcome a socket and replay its subscriptions from the accept, with no frame sent by the client', async () => {
    const room = freshRoom();
    await append(room, 'chat', 'a', 'b', 'c');
    await append(room, 'doc', 'x');
    const { s, res } = await connectOffering(room, [
      earlyEntry([hello('ann'), { type: 'sub', key: 'chat', last: 2 }, { type: 'sub', key: 'doc' }]),
    ]);
    // The 101 names our subprotocol only: never the early frames.
    expect(res.headers.get('sec-websocket-protocol')).toBe('edgeroom.v1');
    const welcome = await s.next();
    expect(welcome).toMatchObject({ type: 'welcome', client: idOf('ann'), seq: 4 });
    const chat = await s.next();
    expect(chat).toMatchObject({ type: 'init', key: 'chat' });
    expect(valuesOf(chat)).toEqual(['b', 'c']);
    const doc = await s.next();
    expect(doc).toMatchObject({ type: 'init', key: 'doc' });
    expect(valuesOf(doc)).toEqual(['x']);
    // Subscribed explicitly (the hello said so): a push to a subject it did not ask for never comes.
    await append(room, 'other', 'no');
    await append(room, 'chat', 'd');
    expect(await s.next()).toMatchObject({ type: 'push', key: 'chat', value: 'd' });
    expect(await s.drain()).toEqual([]);
  });

  it('come before every frame the socket sends, in order: its own publish is echoed after its replay', async () => {
    const room = freshRoom();
    await append(room, 'chat', 'a');
    const { s } = await connectOffering(room, [earlyEntry([hello('bea'), { type: 'sub', key: 'chat' }])]);
    // Sent as soon as the socket is open, before anything has come back.
    s.send({ type: 'sub', key: 'doc' });
    s.send(push('chat', 'mine', 'append', 'm1'));
    const got = [await s.next(), await s.next(), await s.next(), await s.next(), await s.next()];
    expect(got.map((m) => `${m.type}${m.key ? ` ${m.key}` : ''}`)).toEqual([
      'welcome',
      'init chat',
      'init doc',
      'push chat',
      'ack',
    ]);
    expect(valuesOf(got[1])).toEqual(['a']);
    expect(got[3]).toMatchObject({ value: 'mine', seq: 2, client: idOf('bea') });
    expect(got[4]).toEqual({ type: 'ack', id: 'm1', seq: 2 });
  });

  it('answer a bad early frame with the error the frame would get, and apply the others', async () => {
    const room = freshRoom();
    await append(room, 'chat', 'a');
    const bad = { type: 'sub', key: 'chat', last: 0 };
    const { s } = await connectOffering(room, [earlyEntry([hello('cy'), bad, { type: 'sub', key: 'chat' }])]);
    expect(await s.next()).toMatchObject({ type: 'welcome', client: idOf('cy') });
    const error = await s.next();
    expect(error).toEqual({
      type: 'error',
      code: 'bad_message',
      message: 'Invalid sub: last must be at least 1, not 0',
    });
    expect(error).toEqual(await errorAsFrame(freshRoom(), bad));
    expect(valuesOf(await s.next())).toEqual(['a']);
    expect(await s.drain()).toEqual([]);
  });

  it('close the socket for an early hello of another protocol version (4003), as the frame would', async () => {
    const { s } = await connectOffering(freshRoom(), [earlyEntry([{ type: 'hello', protocol: 2 }])]);
    expect(await s.next()).toEqual({
      type: 'error',
      code: 'unsupported_protocol',
      message: 'This server speaks protocol 1, not 2',
    });
    expect((await s.closed).code).toBe(4003);
  });

  it('refuse an entry that is not an encoded JSON array, or a second entry, as a whole: bad_frame, the socket stays', async () => {
    const room = freshRoom();
    const cases: [string[], string][] = [
      [['early.%7B%22type'], 'Early frames are not a URI-encoded JSON array'],
      [['early.%E0%A4%A'], 'Early frames are not a URI-encoded JSON array'],
      [[earlyEntry([]).replace('%5B%5D', '%7B%7D')], 'Early frames are not a URI-encoded JSON array'],
      [[earlyEntry([hello('dee')]), earlyEntry([hello('dee')])], 'Offer at most one early. subprotocol entry'],
    ];
    for (const [entries, message] of cases) {
      const { s } = await connectOffering(room, entries);
      expect(await s.next()).toEqual({ type: 'error', code: 'bad_frame', message });
      // Nothing of it was applied, and the socket still works: the hello as a frame is welcomed.
      s.send(hello('dee'));
      expect(await s.next()).toMatchObject({ type: 'welcome', client: idOf('dee') });
      s.close();
    }
  });

  it(`take an entry of ${MAX_EARLY_CHARS} characters, and refuse a longer one as too_large, applying none of it`, async () => {
    const room = freshRoom();
    /**
     * A hello whose presence pads the entry to `chars` characters after `early.`: mostly `(`,
     * which the encoding escapes (3 characters for one byte of presence, under maxPresenceBytes).
     */
    const padded = (chars: number) => {
      const bare = earlyEntry([hello('eve', { presence: '' })]).length - 'early.'.length;
      const pad = chars - bare;
      return [hello('eve', { presence: '('.repeat(Math.floor(pad / 3)) + 'p'.repeat(pad % 3) })];
    };
    const fits = earlyEntry(padded(MAX_EARLY_CHARS));
    expect(fits.length).toBe('early.'.length + MAX_EARLY_CHARS);
    const { s: taken } = await connectOffering(room, [fits]);
    expect(await taken.next()).toMatchObject({ type: 'welcome', client: idOf('eve') });
    taken.close();

    const { s } = await connectOffering(room, [earlyEntry(padded(MAX_EARLY_CHARS + 1))]);
    expect(await s.next()).toEqual({
      type: 'error',
      code: 'too_large',
      message: `Early frames of ${MAX_EARLY_CHARS + 1} characters exceed MAX_EARLY_CHARS (${MAX_EARLY_CHARS}): send them as frames`,
    });
    expect(await s.drain()).toEqual([]);
    s.send(hello('eve'));
    expect(await s.next()).toMatchObject({ type: 'welcome', client: idOf('eve') });
  });

  it('replace the older socket of the same client (4001), as a hello frame does', async () => {
    const room = freshRoom();
    const { s: first } = await connectOffering(room, [earlyEntry([hello('fay')])]);
    expect((await first.next()).type).toBe('welcome');
    const { s: second } = await connectOffering(room, [earlyEntry([hello('fay')])]);
    expect(await second.next()).toMatchObject({ type: 'welcome', client: idOf('fay') });
    expect((await first.closed).code).toBe(4001);
  });

  it('leave a socket without them as it was: a DriftDB socket gets every push', async () => {
    const room = freshRoom();
    const s: TestSocket = await connect(room);
    await append(room, 'any', 1);
    expect(await s.next()).toMatchObject({ type: 'push', key: 'any', value: 1 });
  });
});
