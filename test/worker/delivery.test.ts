// Who receives what: DriftDB sockets get everything; sub'd sockets get their subjects.
import { describe, expect, it } from 'vitest';
import { connect, freshRoom, idOf, push, secretOf } from './helpers.ts';

describe('delivery', () => {
  it('sends every push in the room to a socket that never subscribed', async () => {
    const room = freshRoom();
    const drift = await connect(room);
    const pub = await connect(room);
    pub.send(push('a', 1, 'relay'));
    pub.send(push('b', 2, 'append'));
    await pub.drain();
    expect(await drift.drain()).toEqual([
      { type: 'push', key: 'a', value: 1, seq: 1 },
      { type: 'push', key: 'b', value: 2, seq: 2 },
    ]);
  });

  it('sends a subscribed socket only its subjects, once however often it subscribes', async () => {
    const room = freshRoom();
    const sub = await connect(room);
    const pub = await connect(room);
    sub.send({ type: 'sub', key: 'a', replay: false });
    sub.send({ type: 'sub', key: 'a', replay: false });
    await sub.drain();
    pub.send(push('a', 'yes', 'relay'));
    pub.send(push('b', 'no', 'relay'));
    pub.send(push('a', 'again', 'append'));
    await pub.drain();
    expect(await sub.drain()).toEqual([
      { type: 'push', key: 'a', value: 'yes', seq: 1 },
      { type: 'push', key: 'a', value: 'again', seq: 3 },
    ]);
  });

  it('stops delivering after unsub', async () => {
    const room = freshRoom();
    const sub = await connect(room);
    const pub = await connect(room);
    sub.send({ type: 'sub', key: 'a', replay: false });
    sub.send({ type: 'sub', key: 'b', replay: false });
    sub.send({ type: 'unsub', key: 'a' });
    await sub.drain();
    pub.send(push('a', 1, 'relay'));
    pub.send(push('b', 2, 'relay'));
    await pub.drain();
    expect(await sub.drain()).toEqual([{ type: 'push', key: 'b', value: 2, seq: 2 }]);
  });

  it('stamps the publisher client ID on pushes from clients that said hello', async () => {
    const room = freshRoom();
    const watcher = await connect(room);
    const pub = await connect(room);
    pub.send({ type: 'hello', protocol: 1, secret: secretOf('alice') });
    await pub.next();
    pub.send(push('k', 1, 'append'));
    expect(await watcher.until((m) => m.type === 'push')).toEqual({
      type: 'push',
      key: 'k',
      value: 1,
      seq: 1,
      client: idOf('alice'),
    });
    const late = await connect(room);
    late.send({ type: 'sub', key: 'k' });
    expect(await late.next()).toEqual({ type: 'init', key: 'k', data: [{ value: 1, seq: 1, client: idOf('alice') }] });
  });

  it('keeps two rooms apart', async () => {
    const [r1, r2] = [freshRoom('one'), freshRoom('two')];
    const a = await connect(r1);
    const b = await connect(r2);
    a.send(push('k', 'in one'));
    b.send(push('k', 'in two'));
    expect(await a.drain()).toEqual([{ type: 'push', key: 'k', value: 'in one', seq: 1 }]);
    expect(await b.drain()).toEqual([{ type: 'push', key: 'k', value: 'in two', seq: 1 }]);
    const c = await connect(r1);
    c.send({ type: 'get', key: 'k', seq: 0 });
    expect(await c.next()).toEqual({ type: 'init', key: 'k', data: [{ value: 'in one', seq: 1 }] });
  });

  it('acknowledges a publish with an ID and drops a resent duplicate', async () => {
    const room = freshRoom();
    const pub = await connect(room);
    const watcher = await connect(room);
    pub.send({ type: 'hello', protocol: 1, secret: secretOf('c1') });
    await pub.next();
    pub.send({ type: 'sub', key: 'log', replay: false });
    pub.send(push('log', 'once', 'append', 'm1'));
    pub.send(push('log', 'once', 'append', 'm1'));
    expect(await pub.drain()).toEqual([
      { type: 'push', key: 'log', value: 'once', seq: 1, client: idOf('c1') },
      { type: 'ack', id: 'm1', seq: 1 },
      { type: 'ack', id: 'm1', seq: 1, duplicate: true },
    ]);
    expect((await watcher.drain()).filter((m) => m.type === 'push')).toHaveLength(1);
    // The same ID from another client is another message.
    const other = await connect(room);
    other.send({ type: 'hello', protocol: 1, secret: secretOf('c2') });
    await other.next();
    other.send(push('log', 'mine', 'append', 'm1'));
    expect(await other.until((m) => m.type === 'ack')).toEqual({ type: 'ack', id: 'm1', seq: 2 });
  });

  it('remembers a publish ID across reconnects of the same client', async () => {
    const room = freshRoom();
    const first = await connect(room);
    first.send({ type: 'hello', protocol: 1, secret: secretOf('c1') });
    first.send(push('log', 'x', 'relay', 'm7'));
    await first.until((m) => m.type === 'ack');
    first.close();
    const second = await connect(room);
    second.send({ type: 'hello', protocol: 1, secret: secretOf('c1') });
    second.send(push('log', 'x', 'relay', 'm7'));
    expect(await second.until((m) => m.type === 'ack')).toEqual({ type: 'ack', id: 'm7', seq: 1, duplicate: true });
  });
});
