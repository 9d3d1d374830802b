// The access gate wired into the Worker and the room: private rooms, tokens on
// connect and on HTTP, rights per subject, and what a token's end does.
import { evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { freshRoom, http, push, roomStub, secretOf, TestSocket } from '../worker/helpers.ts';
import { tokenFor } from './tokens.ts';

const privateRoom = () => `p_${freshRoom()}`;

async function open(room: string, init: { token?: string; query?: string; protocols?: string[] } = {}) {
  const headers: Record<string, string> = { Upgrade: 'websocket' };
  if (init.protocols) headers['sec-websocket-protocol'] = init.protocols.join(', ');
  const query = init.query ?? (init.token && !init.protocols ? `?token=${init.token}` : '');
  const res = await http(`/room/${room}/connect${query}`, { headers });
  expect(res.status).toBe(101);
  return { s: new TestSocket(res.webSocket!), res };
}

async function hello(s: TestSocket, name: string) {
  s.send({ type: 'hello', protocol: 1, secret: secretOf(name) });
  return s.until((m) => m.type === 'welcome');
}

const send = (room: string, body: unknown, token?: string) =>
  http(`/room/${room}/send`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });

describe('private rooms', () => {
  it("close a connect without a token, or with a bad, expired or other room's token, with its code", async () => {
    const room = privateRoom();
    const cases: [string | undefined, { code: number; reason: string }][] = [
      [undefined, { code: 4100, reason: 'This room needs a token' }],
      [await tokenFor(room, 'alice', {}, true), { code: 4100, reason: 'Bad token signature' }],
      [
        await tokenFor(room, 'alice', { iat: undefined, exp: Math.floor(Date.now() / 1000) - 120 }),
        { code: 4101, reason: 'Token expired' },
      ],
      [await tokenFor('p_another', 'alice'), { code: 4103, reason: 'Token is for another room' }],
    ];
    for (const [token, closed] of cases) {
      const { s } = await open(room, token ? { token } : {});
      expect(await s.closed).toEqual(closed);
      expect(s.received).toEqual([]);
    }
  });

  it('echo edgeroom.v1 on a refusal too, so a browser sees the close code instead of a failed handshake', async () => {
    const room = privateRoom();
    const { s, res } = await open(room, {
      protocols: ['edgeroom.v1', `auth.${await tokenFor('p_elsewhere', 'alice')}`],
    });
    expect(res.headers.get('sec-websocket-protocol')).toBe('edgeroom.v1');
    expect(await s.closed).toEqual({ code: 4103, reason: 'Token is for another room' });
  });

  it('let a token in through the subprotocol, echoing edgeroom.v1 and never the token; the user is the client ID', async () => {
    const room = privateRoom();
    const token = await tokenFor(room, 'alice');
    const { s, res } = await open(room, { protocols: ['edgeroom.v1', `auth.${token}`] });
    expect(res.headers.get('sec-websocket-protocol')).toBe('edgeroom.v1');
    expect(await hello(s, 'tab-1')).toMatchObject({ client: 'alice' });
  });

  it('let the DriftDB way in: ?token= on the socket URL, with no hello', async () => {
    const room = privateRoom();
    const { s } = await open(room, { token: await tokenFor(room, 'bob') });
    s.send(push('k', 'v'));
    s.send({ type: 'get', key: 'k', seq: 0 });
    const got = await s.drain();
    expect(got).toEqual([
      { type: 'push', key: 'k', value: 'v', seq: 1, client: 'bob' },
      { type: 'init', key: 'k', data: [{ value: 'v', seq: 1, client: 'bob' }] },
    ]);
  });

  it('refuse HTTP without a token (401) and serve it with one; IDs are scoped by the user', async () => {
    const room = privateRoom();
    const body = { type: 'push', key: 'k', value: 1, action: { type: 'append' }, id: 'm1' };
    const refused = await send(room, body);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ type: 'error', code: 'unauthorized', message: 'This room needs a token' });
    const token = await tokenFor(room, 'backend');
    expect(await (await send(room, body, token)).json()).toEqual({ type: 'ack', id: 'm1', seq: 1 });
    expect(await (await send(room, body, token)).json()).toEqual({ type: 'ack', id: 'm1', seq: 1, duplicate: true });
  });

  it("let one user's tabs (different secrets) stay open side by side; the same secret still replaces (4001)", async () => {
    const room = privateRoom();
    const token = await tokenFor(room, 'alice');
    const { s: tab1 } = await open(room, { token });
    const { s: tab2 } = await open(room, { token });
    const w1 = await hello(tab1, 'tab-1');
    const w2 = await hello(tab2, 'tab-2');
    expect([w1.client, w2.client]).toEqual(['alice', 'alice']);
    expect(w2.peers).toEqual([{ conn: w1.conn, client: 'alice', state: null }]);
    const { s: again } = await open(room, { token });
    await hello(again, 'tab-1');
    expect(await tab1.closed).toMatchObject({ code: 4001 });
    expect(tab2.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('rights', () => {
  it('a read-only token cannot publish, and nothing it sends changes a stored value', async () => {
    const room = privateRoom();
    const { s: writer } = await open(room, { token: await tokenFor(room, 'w') });
    writer.send(push('doc', 'original', 'replace'));
    await writer.drain();
    const { s: reader } = await open(room, { token: await tokenFor(room, 'r', { rights: { read: ['*'] } }) });
    reader.send(push('doc', 'vandalised', 'replace', 'x1'));
    reader.send(push('doc', 'more', 'append', 'x2'));
    reader.send(push('doc', 'snap', { type: 'compact', seq: 1 }, 'x3'));
    reader.send({ type: 'get', key: 'doc', seq: 0 });
    expect(await reader.drain()).toEqual([
      { type: 'error', code: 'forbidden', id: 'x1', key: 'doc', message: 'Your token may not write to doc' },
      { type: 'error', code: 'forbidden', id: 'x2', key: 'doc', message: 'Your token may not write to doc' },
      { type: 'error', code: 'forbidden', id: 'x3', key: 'doc', message: 'Your token may not compact doc' },
      { type: 'init', key: 'doc', data: [{ value: 'original', seq: 1, client: 'w' }] },
    ]);
    const http403 = await send(
      room,
      { type: 'push', key: 'doc', value: 'x', action: { type: 'replace' } },
      await tokenFor(room, 'r', { rights: { read: ['*'] } }),
    );
    expect(http403.status).toBe(403);
  });

  it('a subject-scoped token reads and writes only its subjects, and a DriftDB socket receives only what it may read', async () => {
    const room = privateRoom();
    const scoped = await tokenFor(room, 'guest', { rights: { read: ['public*'], write: ['public/guest'] } });
    const { s: guest } = await open(room, { token: scoped });
    const { s: owner } = await open(room, { token: await tokenFor(room, 'owner') });
    owner.send(push('secret', 's', 'append'));
    owner.send(push('public/news', 'n', 'append'));
    await owner.drain();
    guest.send(push('public/guest', 'hi', 'append', 'g1'));
    guest.send(push('public/news', 'forged', 'append', 'g2'));
    guest.send({ type: 'sub', key: 'secret' });
    guest.send({ type: 'get', key: 'secret', seq: 0 });
    const got = await guest.drain();
    expect(got.filter((m) => m.type === 'push').map((m) => m.key)).toEqual(['public/news', 'public/guest']);
    expect(got.filter((m) => m.type === 'error').map((m) => [m.code, m.key, m.id])).toEqual([
      ['forbidden', 'public/news', 'g2'],
      ['forbidden', 'secret', undefined],
      ['forbidden', 'secret', undefined],
    ]);
  });

  it('presence and direct messages need their rights', async () => {
    const room = privateRoom();
    const { s: mute } = await open(room, { token: await tokenFor(room, 'mute', { rights: { read: ['*'] } }) });
    mute.send({ type: 'hello', protocol: 1, secret: secretOf('mute'), presence: { typing: true } });
    expect(await mute.next()).toEqual({ type: 'error', code: 'forbidden', message: 'Your token may not set presence' });
    const welcome = await mute.next();
    expect(welcome).toMatchObject({ type: 'welcome', client: 'mute' });
    mute.send({ type: 'dm', to: welcome.conn, value: 1, id: 'd1' });
    expect(await mute.next()).toEqual({
      type: 'error',
      code: 'forbidden',
      id: 'd1',
      message: 'Your token may not send direct messages',
    });
  });

  it('survive the room hibernating and waking', async () => {
    const room = privateRoom();
    const { s } = await open(room, { token: await tokenFor(room, 'r', { rights: { read: ['*'] } }) });
    await evictDurableObject(roomStub(room), { webSockets: 'hibernate' });
    s.send(push('k', 1, 'append', 'after'));
    expect(await s.next()).toMatchObject({ code: 'forbidden', id: 'after' });
  });
});

describe("a token's end", () => {
  it('stops a subscriber that never sends from receiving, and closes it with 4101', async () => {
    const room = privateRoom();
    // Accepted for about 2 s more: the room allows the same 60 s of clock skew as the Worker.
    const exp = Math.floor(Date.now() / 1000) - 58;
    const { s: listener } = await open(room, { token: await tokenFor(room, 'l', { iat: undefined, exp }) });
    const { s: writer } = await open(room, { token: await tokenFor(room, 'w') });
    writer.send(push('k', 'before', 'append'));
    expect(await listener.next()).toMatchObject({ type: 'push', value: 'before' });
    const deadline = (exp + 60) * 1000;
    // The token's own end, not a sleep: wait until the clock passes it (bounded).
    while (Date.now() <= deadline + 50)
      await new Promise((r) => setTimeout(r, Math.min(250, deadline + 60 - Date.now())));
    writer.send(push('k', 'after', 'append'));
    await writer.drain();
    expect(await listener.next()).toEqual({ type: 'error', code: 'token_expired', message: 'Token expired' });
    expect(await listener.closed).toEqual({ code: 4101, reason: 'Token expired' });
    expect(listener.received.some((m) => m.value === 'after')).toBe(false);
  }, 10_000);
});

describe('open rooms', () => {
  it('still need no token, and a forged grant header from a client is ignored', async () => {
    const room = freshRoom();
    const res = await http(`/room/${room}/connect`, {
      headers: {
        Upgrade: 'websocket',
        'x-edgeroom-grant': JSON.stringify({ user: 'admin', exp: 9e9, rights: [[], [], [], 0] }),
      },
    });
    const s = new TestSocket(res.webSocket!);
    s.send(push('k', 1, 'append'));
    expect(await s.drain()).toEqual([{ type: 'push', key: 'k', value: 1, seq: 1 }]);
  });
});

const adminFor = (room: string) => tokenFor(room, 'operator', { rights: { admin: true } });

describe('in-band refresh', () => {
  it('takes a new token for the same user, keeping the socket, its subscriptions and position', async () => {
    const room = privateRoom();
    const { s } = await open(room, { token: await tokenFor(room, 'alice', { rights: { read: ['*'], write: ['a'] } }) });
    const welcome = await hello(s, 'tab');
    expect(welcome.exp).toEqual(expect.any(Number));
    s.send({ type: 'sub', key: 'b', replay: false });
    s.send(push('b', 1, 'append', 'before'));
    expect((await s.drain()).map((m) => m.code)).toEqual(['forbidden']);
    const later = Math.floor(Date.now() / 1000) + 1200;
    s.send({ type: 'auth', token: await tokenFor(room, 'alice', { exp: later }) });
    expect(await s.next()).toEqual({ type: 'auth_ok', exp: later });
    // The new token has no rights claim: it may write everything, b included, and the subscription holds.
    s.send(push('b', 2, 'append', 'after'));
    expect(await s.drain()).toEqual([
      { type: 'push', key: 'b', value: 2, seq: 1, client: 'alice' },
      { type: 'ack', id: 'after', seq: 1 },
    ]);
  });

  it("refuses another user's token, and a bad one, keeping the old grant", async () => {
    const room = privateRoom();
    const { s } = await open(room, { token: await tokenFor(room, 'alice') });
    await hello(s, 'tab');
    s.send({ type: 'auth', token: await tokenFor(room, 'mallory') });
    expect(await s.next()).toEqual({
      type: 'error',
      code: 'forbidden',
      message: 'A refreshed token must name the same user',
    });
    s.send({ type: 'auth', token: await tokenFor(room, 'alice', {}, true) });
    expect(await s.next()).toEqual({ type: 'error', code: 'unauthorized', message: 'Bad token signature' });
    s.send(push('k', 1, 'append', 'still'));
    expect(await s.until((m) => m.type === 'ack')).toMatchObject({ id: 'still' });
  });
});

describe('revocation', () => {
  const revoke = async (room: string, body: unknown, token?: string) =>
    http(`/room/${room}/revoke`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token ?? (await adminFor(room))}` },
    });

  it('of a user closes their open sockets at once (4102), and their old token cannot reconnect', async () => {
    const room = privateRoom();
    const alice = await tokenFor(room, 'alice', { iat: Math.floor(Date.now() / 1000) - 5 });
    const { s: a1 } = await open(room, { token: alice });
    const { s: bob } = await open(room, { token: await tokenFor(room, 'bob') });
    const res = await revoke(room, { user: 'alice' });
    expect(await res.json()).toMatchObject({ closed: 1 });
    expect(await a1.closed).toEqual({ code: 4102, reason: 'Token revoked' });
    const { s: again } = await open(room, { token: alice });
    expect(await again.closed).toEqual({ code: 4102, reason: 'Token revoked' });
    const viaHttp = await send(room, { type: 'ping' }, alice);
    expect(viaHttp.status).toBe(401);
    expect(await viaHttp.json()).toEqual({ type: 'error', code: 'token_revoked', message: 'Token revoked' });
    bob.send({ type: 'ping', nonce: 1 });
    expect(await bob.next()).toEqual({ type: 'pong', nonce: 1 });
  });

  it('of one token by jti, and of every token issued before a time, across hibernation', async () => {
    const room = privateRoom();
    const marked = await tokenFor(room, 'carol', { jti: 't-1' });
    const { s: c1 } = await open(room, { token: marked });
    expect(await (await revoke(room, { jti: 't-1' })).json()).toMatchObject({ closed: 1 });
    expect((await c1.closed).code).toBe(4102);
    const old = await tokenFor(room, 'dave', { iat: Math.floor(Date.now() / 1000) - 30 });
    await evictDurableObject(roomStub(room), { webSockets: 'close' });
    expect(await (await revoke(room, { before: Math.floor(Date.now() / 1000) - 10 })).json()).toMatchObject({
      closed: 0,
    });
    await evictDurableObject(roomStub(room), { webSockets: 'close' });
    const { s: d } = await open(room, { token: old });
    expect((await d.closed).code).toBe(4102);
  });

  it('needs an admin token', async () => {
    const room = privateRoom();
    const res = await revoke(room, { before: 1 }, await tokenFor(room, 'alice'));
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      type: 'error',
      code: 'forbidden',
      message: 'This needs a token with the admin right',
    });
  });
});

describe('POST /new', () => {
  it('makes a private room only with an admin token good for p_*', async () => {
    const refused = await http('/new', { method: 'POST', body: '{"private":true}' });
    expect(refused.status).toBe(401);
    const admin = await tokenFor('p_*', 'operator', { rights: { admin: true } });
    const made = await http('/new', {
      method: 'POST',
      body: '{"private":true}',
      headers: { authorization: `Bearer ${admin}` },
    });
    const { room } = (await made.json()) as { room: string };
    expect(room).toMatch(/^p_[A-Za-z0-9]{24}$/);
    const open = await http('/new', { method: 'POST' });
    expect(((await open.json()) as { room: string }).room).toMatch(/^[A-Za-z0-9]{24}$/);
  });
});

describe('allowed origins (ALLOWED_ORIGINS here: https://app.example, http://127.0.0.1:8787)', () => {
  it('refuse a browser socket from another origin with 4103, and let a listed one and a non-browser in', async () => {
    const room = freshRoom();
    const from = async (origin?: string) => {
      const res = await http(`/room/${room}/connect`, {
        headers: { Upgrade: 'websocket', ...(origin ? { origin } : {}) },
      });
      const s = new TestSocket(res.webSocket!);
      s.send({ type: 'ping', nonce: 1 });
      return Promise.race([s.next().then(() => 'open'), s.closed.then((c) => `${c.code} ${c.reason}`)]);
    };
    expect(await from('https://evil.example')).toBe('4103 Origin not allowed');
    expect(await from('https://app.example')).toBe('open');
    expect(await from(undefined)).toBe('open');
  });

  it('answer CORS only for a listed origin', async () => {
    const preflight = (origin: string) =>
      http('/room/abc/send', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    expect((await preflight('https://app.example')).headers.get('access-control-allow-origin')).toBe(
      'https://app.example',
    );
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe("a token's own limits", () => {
  it("raise or lower its holder's publish rate, within maxTokenRateFactor (10x), and show in welcome.limits", async () => {
    const room = privateRoom();
    const { s: fast } = await open(room, {
      token: await tokenFor(room, 'fast', { limits: { publishBurst: 150, framesPerSecond: 1_000_000 } }),
    });
    const welcome = await hello(fast, 'fast');
    expect(welcome.limits).toMatchObject({ publishBurst: 150, framesPerSecond: 2000 });
    for (let i = 1; i <= 151; i++) fast.send(push('k', i, 'relay', `f${i}`));
    const fastGot = await fast.drain();
    expect(fastGot.filter((m) => m.type === 'ack')).toHaveLength(150);
    expect(fastGot.filter((m) => m.type === 'error').map((m) => [m.code, m.id])).toEqual([['rate_limited', 'f151']]);
    const { s: slow } = await open(room, { token: await tokenFor(room, 'slow', { limits: { publishBurst: 3 } }) });
    for (let i = 1; i <= 4; i++) slow.send(push('k', i, 'relay', `s${i}`));
    expect((await slow.drain()).filter((m) => m.type === 'error').map((m) => m.id)).toEqual(['s4']);
  });
});
