// Identity in an open room: what presence and pushes show about a client is not enough to be it.
import { describe, expect, it } from 'vitest';
import { connect, connectClient, freshRoom, http, idOf, push, secretOf } from './helpers.ts';

const send = (room: string, body: unknown, client?: string) =>
  http(`/room/${room}/send${client === undefined ? '' : `?client=${client}`}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('identity', () => {
  it('derives the client ID from the secret, so a stranger who saw it can neither kick nor impersonate', async () => {
    const room = freshRoom();
    const { s: alice, welcome: aw } = await connectClient(room, 'alice');
    expect(aw.client).toBe(idOf('alice'));
    expect(aw.client).not.toContain(secretOf('alice'));
    alice.send({ type: 'sub', key: 'chat', replay: false });
    alice.send(push('chat', 'from alice', 'append', 'a1'));
    const seen = await alice.until((m) => m.type === 'push');
    expect(seen.client).toBe(idOf('alice'));

    // The stranger knows alice's client ID (presence, pushes) and tries every field that could carry it.
    const { s: mallory, welcome: mw } = await connectClient(room);
    expect(mw.peers).toEqual([{ conn: aw.conn, client: idOf('alice'), state: null }]);
    for (const hello of [
      { type: 'hello', protocol: 1, client: idOf('alice') },
      { type: 'hello', protocol: 1, secret: idOf('alice') },
      { type: 'hello', protocol: 1, secret: `${aw.conn}-and-more-chars` },
    ]) {
      const s = await connect(room);
      s.send(hello);
      const welcome = await s.until((m) => m.type === 'welcome');
      expect(welcome.client).not.toBe(idOf('alice'));
      s.send({ type: 'sub', key: 'chat', replay: false });
      s.send(push('chat', 'forged', 'append', 'a1'));
      const forged = await s.until((m) => m.type === 'push');
      expect(forged.client).toBe(welcome.client);
      // Its ID a1 is its own, not alice's: it was stored, not dropped as her duplicate.
      expect(await s.until((m) => m.type === 'ack')).toMatchObject({ id: 'a1' });
    }
    mallory.send({ type: 'hello', protocol: 1, secret: secretOf('mallory') });
    expect((await mallory.until((m) => m.type === 'welcome')).client).toBe(mw.client); // a socket keeps its identity
    // Alice was never replaced: her socket is open and hears every forged push, each under another ID.
    const heard = (await alice.drain()).filter((m) => m.type === 'push');
    expect(heard.map((m) => m.value)).toEqual(['forged', 'forged', 'forged']);
    expect(heard.every((m) => m.client !== idOf('alice'))).toBe(true);
    expect(alice.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('still lets the holder of the secret replace its own half-open socket (close 4001)', async () => {
    const room = freshRoom();
    const { s: old, welcome: ow } = await connectClient(room, 'alice');
    const { welcome: nw } = await connectClient(room, 'alice');
    expect(nw.client).toBe(ow.client);
    expect(await old.closed).toEqual({ code: 4001, reason: 'replaced by a newer connection with the same client ID' });
  });

  it('welcomes a hello whose presence is too large, refusing only the presence', async () => {
    const room = freshRoom();
    const { s: watcher } = await connectClient(room, 'watcher');
    const s = await connect(room);
    s.send({ type: 'hello', protocol: 1, secret: secretOf('big'), presence: 'x'.repeat(3000) });
    expect(await s.next()).toEqual({
      type: 'error',
      code: 'presence_too_large',
      message: 'Presence state of 3002 bytes exceeds maxPresenceBytes (2048)',
    });
    const welcome = await s.next();
    expect(welcome).toMatchObject({ type: 'welcome', client: idOf('big') });
    expect(await watcher.next()).toEqual({
      type: 'presence',
      event: 'join',
      peer: { conn: welcome.conn, client: idOf('big'), state: null },
    });
  });
});

describe('HTTP message IDs', () => {
  it('are scoped by the caller-chosen client, so two callers using one ID both get their writes stored', async () => {
    const room = freshRoom();
    const push1 = { type: 'push', key: 'orders', value: 'from A', action: { type: 'append' }, id: 'order-42' };
    const push2 = { ...push1, value: 'from B' };
    expect(await (await send(room, push1, 'caller-a')).json()).toEqual({ type: 'ack', id: 'order-42', seq: 1 });
    expect(await (await send(room, push2, 'caller-b')).json()).toMatchObject({ type: 'ack', id: 'order-42', seq: 2 });
    // A resend within one scope is still a duplicate.
    expect(await (await send(room, push1, 'caller-a')).json()).toEqual({
      type: 'ack',
      id: 'order-42',
      seq: 1,
      duplicate: true,
    });
    const got = await send(room, { type: 'get', key: 'orders', seq: 0 });
    expect(((await got.json()) as { data: { value: string }[] }).data.map((e: { value: string }) => e.value)).toEqual([
      'from A',
      'from B',
    ]);
  });

  it("cannot pre-claim a socket client's message IDs", async () => {
    const room = freshRoom();
    const claimed = await send(
      room,
      { type: 'push', key: 'log', value: 'squat', action: { type: 'append' }, id: 'm1' },
      idOf('alice'),
    );
    expect(await claimed.json()).toEqual({ type: 'ack', id: 'm1', seq: 1 });
    const { s: alice } = await connectClient(room, 'alice');
    alice.send(push('log', 'real', 'append', 'm1'));
    expect(await alice.until((m) => m.type === 'ack')).toEqual({ type: 'ack', id: 'm1', seq: 2 });
  });

  it('refuses a push with an id but no client scope, with a typed error', async () => {
    const room = freshRoom();
    const res = await send(room, { type: 'push', key: 'k', value: 1, action: { type: 'append' }, id: 'x' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      type: 'error',
      code: 'bad_message',
      message: 'A push with an id needs ?client=<your scope for message IDs>',
    });
  });
});
