// edgeroom mounted in another Worker (test/embed/fixture), in real workerd: the
// host's routes, URLs under the prefix, options given in code reaching the Worker
// and the room, the gate as strict as standalone, and typed subjects.
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { mintToken } from '../../../worker/auth/mint.ts';
import { leafFor, leafName } from '../../../worker/fanout.ts';
import { clientIdOf } from '../../../worker/identity.ts';
import type { RoomLeaf } from '../../../worker/leaf.ts';
import { freshRoom, http, TestSocket, type Msg } from '../../worker/helpers.ts';

const KEY = { kid: 'embed', alg: 'HS256', secret: 'embed-test-secret-0123456789abcdef' } as const;

async function upgrade(path: string, headers: Record<string, string> = {}): Promise<TestSocket> {
  const res = await http(path, { headers: { Upgrade: 'websocket', ...headers } });
  if (res.status !== 101 || !res.webSocket) throw new Error(`Upgrade failed: ${res.status} ${await res.text()}`);
  return new TestSocket(res.webSocket);
}

async function member(room: string, name: string, prefix = '/rt'): Promise<{ s: TestSocket; welcome: Msg }> {
  const s = await upgrade(`${prefix}/room/${room}/connect`);
  s.send({ type: 'hello', protocol: 1, secret: `${name}-secret-0123456789` });
  const welcome = await s.next();
  expect(welcome.type).toBe('welcome');
  return { s, welcome };
}

const send = (room: string, body: unknown, query = '', prefix = '/rt') =>
  http(`${prefix}/room/${room}/send${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const push = (key: string, value: unknown, action = 'append', id?: string) => ({
  type: 'push',
  key,
  value,
  action: { type: action },
  ...(id ? { id } : {}),
});

describe('the host Worker', () => {
  it('keeps its own routes, and answers its own unknown paths', async () => {
    expect(await (await http('/')).text()).toBe('the host app');
    expect(await (await http('/rt-like')).text()).toContain('host app');
    expect((await http('/new', { method: 'POST' })).status).toBe(404);
    // The demo pages are off unless asked for.
    expect((await http('/rt/r/abc')).status).toBe(404);
  });
});

describe('fanned-out rooms in an embedding', () => {
  /** A member of fanned-out room `room` (K leaves) on leaf `leaf`, through the routing hint. */
  async function memberOn(room: string, leaves: number, leaf: number, prefix = '/rt') {
    for (let i = 0; ; i++) {
      const name = `fan${leaf}-${i}`;
      const id = clientIdOf(`${name}-secret-0123456789`);
      if (leafFor(leaves, id) !== leaf) continue;
      const s = await upgrade(`${prefix}/room/${room}/connect?client=${id}`);
      s.send({ type: 'hello', protocol: 1, secret: `${name}-secret-0123456789` });
      const welcome = await s.next();
      expect(welcome.type).toBe('welcome');
      return { s, welcome };
    }
  }

  it('are made with the leaf class from createEdgeroom, under the binding the options name', async () => {
    const res = await http('/rt/new', { method: 'POST', body: JSON.stringify({ leaves: 2 }) });
    expect(res.status).toBe(200);
    const { room } = await res.json<Msg>();
    expect(room).toMatch(/^f2_[A-Za-z0-9]{24}$/);
    const a = await memberOn(room, 2, 0);
    const b = await memberOn(room, 2, 1);
    b.s.send({ type: 'sub', key: 'chat' });
    // Members hear of each other too (presence across leaves): read past it.
    expect(await b.s.until((m) => m.type === 'init')).toMatchObject({ type: 'init', key: 'chat', data: [] });
    a.s.send(push('chat', { text: 'across leaves' }, 'append', 'c1'));
    expect(await b.s.until((m) => m.type === 'push')).toMatchObject({
      type: 'push',
      key: 'chat',
      value: { text: 'across leaves' },
    });
    // Each socket is on its leaf, a ChatLeaf in CHAT_LEAVES (the root has none).
    const leaves = (env as unknown as { CHAT_LEAVES: DurableObjectNamespace<RoomLeaf> }).CHAT_LEAVES;
    for (const leaf of [0, 1]) {
      const stub = leaves.get(leaves.idFromName(leafName(room, leaf)));
      expect(await runInDurableObject(stub, (l: RoomLeaf) => l.stats.batches)).toBeGreaterThan(0);
    }
    a.s.close();
    b.s.close();
  });

  it('apply the options in code on the leaves: limits over the vars, typed subjects, keys', async () => {
    const room = ((await (await http('/rt/new', { method: 'POST', body: '{"leaves":3}' })).json()) as Msg).room;
    const { s, welcome } = await memberOn(room, 3, 2);
    expect(welcome.limits).toMatchObject({ maxMessageBytes: 4096, retentionSeconds: 3600, maxSubscriptions: 7 });
    // The leaf enforces the frame limit from code...
    s.send(push('k', 'x'.repeat(5000)));
    expect(await s.next()).toMatchObject({ type: 'error', code: 'too_large' });
    // ...and the room's object the typed subjects, for a push that came through the leaf.
    s.send(push('chat', { text: 1 }, 'append', 'bad'));
    expect(await s.next()).toMatchObject({ type: 'error', code: 'invalid_value', id: 'bad', key: 'chat' });
    // A refresh is verified on the leaf, with the keys from code (a private fanned-out room).
    s.close();
    const made = await http('/rt/new', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await mintToken({ room: 'p_*', sub: 'ops', rights: { admin: true } }, KEY)}`,
      },
      body: JSON.stringify({ leaves: 2, private: true }),
    });
    const closed = ((await made.json()) as Msg).room;
    expect(closed).toMatch(/^p_f2_/);
    const token = await mintToken({ room: closed, sub: 'alice' }, KEY);
    const t = await upgrade(`/rt/room/${closed}/connect?token=${token}`);
    t.send({ type: 'hello', protocol: 1 });
    expect(await t.next()).toMatchObject({ type: 'welcome', client: 'alice' });
    t.send({ type: 'auth', token: await mintToken({ room: closed, sub: 'alice', ttlSeconds: 600 }, KEY) });
    expect(await t.next()).toMatchObject({ type: 'auth_ok' });
    t.close();
  });

  it('refuse to serve when the leaf class was built without the options (the plain RoomLeaf)', async () => {
    const res = await http(`/mismatch-leaves/room/f2_${'a'.repeat(24)}/connect`, { headers: { Upgrade: 'websocket' } });
    expect(res.status).toBe(500);
    expect(await res.text()).toBe(
      'Misconfigured: export the Durable Object class from the same createEdgeroom as the router (edgeroom.RoomLeaf)',
    );
  });
});

describe('edgeroom under a prefix', () => {
  it('returns URLs under the prefix it was mounted at (app.route and basePath alike)', async () => {
    const made = await (await http('/rt/new', { method: 'POST' })).json<Msg>();
    expect(made).toEqual({
      room: expect.stringMatching(/^[A-Za-z0-9]{24}$/),
      socket_url: `ws://edgeroom.test/rt/room/${made.room}/connect`,
      http_url: `http://edgeroom.test/rt/room/${made.room}/send`,
    });
    expect(await (await http('/rt/room/team-1', { headers: { 'x-forwarded-proto': 'https' } })).json()).toEqual({
      room: 'team-1',
      socket_url: 'wss://edgeroom.test/rt/room/team-1/connect',
      http_url: 'https://edgeroom.test/rt/room/team-1/send',
    });
    expect(await (await http('/raw/room/team-1')).json()).toMatchObject({
      socket_url: 'ws://edgeroom.test/raw/room/team-1/connect',
    });
    // The client library is served under the prefix too.
    const lib = await http('/rt/lib/edgeroom.js');
    expect(lib.status).toBe(200);
    expect(lib.headers.get('content-type')).toContain('javascript');
  });

  it('keeps rooms in the binding the options name, shared by both mounts', async () => {
    const room = freshRoom();
    const { s } = await member(room, 'alice');
    s.send(push('k', 'through /rt', 'append', 'a1'));
    await s.until((m) => m.type === 'ack');
    const got = await send(room, { type: 'get', key: 'k' }, '', '/raw');
    expect(await got.json()).toMatchObject({ data: [{ value: 'through /rt', seq: 1 }] });
    // The room is the CHAT_ROOMS object of that name: its RPC answers for it.
    const stub = (env as unknown as { CHAT_ROOMS: DurableObjectNamespace<import('../../../worker/room.ts').Room> })
      .CHAT_ROOMS;
    const reply = await stub.get(stub.idFromName(room)).send({ type: 'get', key: 'k' });
    expect(JSON.parse(reply.body)).toMatchObject({ data: [{ value: 'through /rt' }] });
    s.close();
  });

  it('gives the room the limits from code, over the wrangler vars, and the vars where code says nothing', async () => {
    const { s, welcome } = await member(freshRoom(), 'alice');
    expect(welcome.limits).toMatchObject({ maxMessageBytes: 4096, retentionSeconds: 3600, maxSubscriptions: 7 });
    // The room enforces them, not just reports them.
    s.send(push('k', 'x'.repeat(5000)));
    expect(await s.next()).toMatchObject({ type: 'error', code: 'too_large' });
    s.close();
    // And the Worker: its 413 names the limit from code.
    const big = await send(freshRoom(), push('k', 'x'.repeat(5000)));
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: 'too_large', message: 'Body exceeds maxMessageBytes (4096 bytes)' });
  });
});

describe('the options in code', () => {
  it("leave the host's env as it was: they shadow its vars, never write to them", async () => {
    await upgrade(`/rt/room/${freshRoom()}/connect`).then((s) => s.close());
    await http('/rt/room/abc');
    const own = env as unknown as Record<string, unknown>;
    expect([own.MAX_MESSAGE_BYTES, own.AUTH_KEYS, own.ALLOWED_ORIGINS, own.ROOMS]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(own.RETENTION_SECONDS).toBe('100');
  });
});

describe("a room class built without the router's options", () => {
  it('refuses to serve, loudly, rather than run rooms without the schemas and limits', async () => {
    const res = await http(`/mismatch/room/${freshRoom()}/connect`, { headers: { Upgrade: 'websocket' } });
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('Misconfigured');
    const sent = await send(freshRoom(), push('chat', { text: 1 }), '', '/mismatch');
    expect(sent.status).toBe(500);
    expect(await sent.json()).toMatchObject({ code: 'internal', message: expect.stringContaining('Misconfigured') });
  });
});

describe('access control through the embed, with keys from code', () => {
  it('shuts a private room to a socket without a token, or with a token from another key', async () => {
    const room = `p_${freshRoom()}`;
    const none = await upgrade(`/rt/room/${room}/connect`);
    expect(await none.closed).toMatchObject({ code: 4100 });
    const forged = await mintToken({ room, sub: 'mallory' }, { ...KEY, secret: 'some-other-secret-0123456789abcdef' });
    const bad = await upgrade(`/rt/room/${room}/connect?token=${forged}`);
    expect(await bad.closed).toMatchObject({ code: 4100, reason: 'Bad token signature' });
    expect((await http(`/rt/room/${room}/send`, { method: 'POST', body: '{"type":"ping"}' })).status).toBe(401);
  });

  it('lets a token signed with the key from code in, as its user, and holds it to its rights', async () => {
    const room = `p_${freshRoom()}`;
    const token = await mintToken({ room, sub: 'alice', rights: { read: ['*'], write: ['chat'] } }, KEY);
    const s = await upgrade(`/rt/room/${room}/connect?token=${token}`);
    s.send({ type: 'hello', protocol: 1 });
    expect(await s.next()).toMatchObject({ type: 'welcome', client: 'alice' });
    s.send(push('notes', 'x', 'append', 'n1'));
    expect(await s.next()).toMatchObject({ type: 'error', code: 'forbidden', id: 'n1' });
    // The room verifies a refresh itself: with the keys from code too.
    s.send({ type: 'auth', token: await mintToken({ room, sub: 'alice', ttlSeconds: 600 }, KEY) });
    expect(await s.next()).toMatchObject({ type: 'auth_ok' });
    s.close();
  });

  it('refuses a browser origin the code does not allow, and takes the one it does', async () => {
    const room = freshRoom();
    const evil = await upgrade(`/rt/room/${room}/connect`, { origin: 'https://evil.example' });
    expect(await evil.closed).toMatchObject({ code: 4103 });
    const good = await upgrade(`/rt/room/${room}/connect`, { origin: 'https://host.example' });
    good.send({ type: 'ping', nonce: 1 });
    expect(await good.next()).toEqual({ type: 'pong', nonce: 1 });
    good.close();
    const cors = await http('/rt/room/abc', { headers: { origin: 'https://evil.example' } });
    expect(cors.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('ignores a grant or address a client sends in the headers the Worker uses', async () => {
    const room = freshRoom();
    const grant = JSON.stringify({ user: 'admin', room, exp: 9e9, rights: [['*'], ['*'], ['*'], 15] });
    const s = await upgrade(`/rt/room/${room}/connect`, { 'x-edgeroom-grant': grant });
    s.send({ type: 'hello', protocol: 1, secret: 'bob-secret-0123456789' });
    const welcome = await s.next();
    expect(welcome.client).not.toBe('admin');
    s.close();
  });
});

describe('typed subjects', () => {
  it('refuses a bad value over a socket, naming the subject and the first issue, and neither stores nor relays it', async () => {
    const room = freshRoom();
    const { s: watcher } = await member(room, 'watcher');
    watcher.send({ type: 'sub', key: 'chat' });
    const { s } = await member(room, 'alice');
    s.send(push('chat', { text: 42 }, 'append', 'bad1'));
    const error = await s.next();
    expect(error).toEqual({
      type: 'error',
      code: 'invalid_value',
      id: 'bad1',
      key: 'chat',
      message: expect.stringMatching(/^Invalid value for chat: text: .+/),
    });
    s.send(push('chat', { text: 'hi' }, 'append', 'good1'));
    expect(await s.until((m) => m.type === 'ack')).toMatchObject({ id: 'good1', seq: 1 });
    // The watcher saw the good value only, and a late reader finds only it.
    expect((await watcher.drain()).filter((m) => m.type === 'push')).toEqual([
      { type: 'push', key: 'chat', value: { text: 'hi' }, seq: 1, client: expect.any(String) },
    ]);
    expect(await (await send(room, { type: 'get', key: 'chat' })).json()).toMatchObject({
      data: [{ value: { text: 'hi' }, seq: 1 }],
    });
    // A refused ID is not remembered: fixed and resent with it, the value applies.
    s.send(push('chat', { text: 'fixed' }, 'append', 'bad1'));
    expect(await s.until((m) => m.type === 'ack')).toMatchObject({ id: 'bad1', seq: 2 });
    s.close();
    watcher.close();
  });

  it('remembers nothing of a counted push it refuses: fixed and resent with the same n, it applies once', async () => {
    const room = freshRoom();
    const { s } = await member(room, 'alice');
    const counted = (value: unknown) => ({
      ...push('chat', value, 'append', 'c1'),
      n: 1,
      origin: 'alice-outbox-0123456789',
    });
    s.send(counted({ text: 42 }));
    expect(await s.next()).toMatchObject({ type: 'error', code: 'invalid_value', id: 'c1', key: 'chat' });
    s.send(counted({ text: 'fixed' }));
    s.send(counted({ text: 'fixed' }));
    expect((await s.drain()).filter((m) => m.type === 'ack')).toEqual([
      { type: 'ack', id: 'c1', seq: 1 },
      { type: 'ack', id: 'c1', seq: 1, duplicate: true },
    ]);
    s.close();
  });

  it('checks relays, replaces and compactions too, and prefixes by the longest match', async () => {
    const room = freshRoom();
    const { s } = await member(room, 'alice');
    const refused = async (message: unknown) => {
      s.send(message);
      const m = await s.next();
      expect(m).toMatchObject({ type: 'error', code: 'invalid_value' });
      return m.message as string;
    };
    expect(await refused(push('cursor/7', { x: 1 }, 'relay'))).toMatch(/^Invalid value for cursor\/7: y: /);
    expect(await refused(push('score', 1.5, 'replace'))).toMatch(/^Invalid value for score: /);
    // cursor/admin* is longer than cursor/*: its schema applies.
    expect(await refused(push('cursor/admin1', { x: 1, y: 2 }, 'relay'))).toMatch(/admin: /);
    s.send(push('score', 3, 'replace'));
    s.send({ type: 'push', key: 'score', value: 'three', action: { type: 'compact', seq: 1 } });
    const after = await s.drain();
    expect(after.filter((m) => m.type === 'error')).toEqual([
      expect.objectContaining({ code: 'invalid_value', key: 'score' }),
    ]);
    // Subjects no pattern matches take any value.
    s.send(push('free', { anything: [1, 'two'] }, 'append', 'f1'));
    expect(await s.until((m) => m.type === 'ack')).toMatchObject({ id: 'f1' });
    s.close();
  });

  it('takes a zod/mini schema beside zod classic ones, and words its issue in English as they do', async () => {
    const room = freshRoom();
    const { s } = await member(room, 'alice');
    s.send(push('level', -1, 'replace', 'l1'));
    s.send(push('chat', { text: 'x'.repeat(201) }, 'append', 'c1'));
    s.send(push('level', 2, 'replace', 'l2'));
    expect(await s.drain()).toEqual([
      {
        type: 'error',
        code: 'invalid_value',
        id: 'l1',
        key: 'level',
        message: 'Invalid value for level: Too small: expected number to be >=0',
      },
      {
        type: 'error',
        code: 'invalid_value',
        id: 'c1',
        key: 'chat',
        message: 'Invalid value for chat: text: Too big: expected string to have <=200 characters',
      },
      { type: 'ack', id: 'l2', seq: 1 },
    ]);
    s.close();
  });

  it('refuses a bad value over HTTP with a 400, storing nothing, and returns the seq of a good one with an id', async () => {
    const room = freshRoom();
    const bad = await send(room, push('chat', { text: 'x'.repeat(201) }, 'append', 'h1'), '?client=backend');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      type: 'error',
      code: 'invalid_value',
      key: 'chat',
      id: 'h1',
      message: expect.stringContaining('text'),
    });
    expect(await (await send(room, { type: 'get', key: 'chat' })).json()).toEqual({
      type: 'init',
      key: 'chat',
      data: [],
    });
    const good = await send(room, push('chat', { text: 'ok' }, 'append', 'h1'), '?client=backend');
    expect(await good.json()).toEqual({ type: 'ack', id: 'h1', seq: 1 });
  });
});
