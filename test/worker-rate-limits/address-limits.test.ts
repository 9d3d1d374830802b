// Limits per client address in the Worker: the Rate Limiting binding (wrangler.toml: new
// rooms 30, connects 120 and HTTP sends 100 per 10 s), smoothed by a token bucket per
// isolate whose burst is let in at once. Each test uses an address of its own.
import { describe, expect, it } from 'vitest';
import { tokenFor } from '../worker-access/tokens.ts';
import { freshRoom, http, TestSocket } from '../worker/helpers.ts';

const NEW_ROOMS = { burst: 10, window: 30 };
const CONNECTS = { burst: 40, window: 120 };
const SENDS = { burst: 20, window: 100 };

/** At least the burst gets in, and never more than the binding's window allows. */
function expectWithin(allowed: number, limit: { burst: number; window: number }): void {
  expect(allowed).toBeGreaterThanOrEqual(limit.burst);
  expect(allowed).toBeLessThanOrEqual(limit.window);
}

/**
 * Calls `attempt` from one address until it is refused, and returns how many
 * were let in first. The local binding counts in fixed 10 s windows: a run that
 * crosses into the next one starts again, from a fresh address.
 */
async function allowedBeforeRefusal(
  attempt: (from: string) => Promise<boolean>,
  limit: { window: number },
): Promise<number> {
  const window = () => Math.floor(Date.now() / 10_000);
  for (let tries = 0; tries < 2; tries++) {
    const started = window();
    const from = address();
    let allowed = 0;
    while (allowed <= 2 * limit.window && (await attempt(from))) allowed++;
    if (window() === started) return allowed;
  }
  throw new Error('crossed a window boundary twice');
}

let last = 0;
/** A documentation address (RFC 5737) no other test uses. */
const address = (): string => `203.0.113.${++last}`;

describe('limits per client address', () => {
  it('refuses room creation past the limit with 429, Retry-After and a typed error', async () => {
    let refused!: Response;
    const allowed = await allowedBeforeRefusal(async (from) => {
      const res = await http('/new', { method: 'POST', headers: { 'cf-connecting-ip': from } });
      if (res.status !== 200) refused = res;
      return res.status === 200;
    }, NEW_ROOMS);
    expectWithin(allowed, NEW_ROOMS);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('10');
    expect(await refused.json()).toEqual({
      type: 'error',
      code: 'rate_limited',
      retryAfter: 10_000,
      message: 'Too many new rooms from this address; try again in 10 s',
    });
    // Another address is not affected.
    expect((await http('/new', { method: 'POST', headers: { 'cf-connecting-ip': address() } })).status).toBe(200);
  });

  it('closes connects past the limit with 4290 before any room is touched', async () => {
    const room = freshRoom();
    const open: TestSocket[] = [];
    let refused!: TestSocket;
    const allowed = await allowedBeforeRefusal(async (from) => {
      const res = await http(`/room/${room}/connect`, { headers: { Upgrade: 'websocket', 'cf-connecting-ip': from } });
      expect(res.status).toBe(101);
      const s = new TestSocket(res.webSocket!);
      // A refused socket is closed at once; one let in answers a ping.
      s.send({ type: 'ping', nonce: 1 });
      const first = await Promise.race([s.next().then(() => 'open'), s.closed.then(() => 'closed')]);
      if (first === 'open') open.push(s);
      else refused = s;
      return first === 'open';
    }, CONNECTS);
    expectWithin(allowed, CONNECTS);
    expect(await refused.closed).toEqual({
      code: 4290,
      reason: 'too many connects from this address: reconnect after 5000 ms',
    });
    // The sockets let in work.
    open[0]!.send({ type: 'ping', nonce: 1 });
    expect(await open[0]!.next()).toEqual({ type: 'pong', nonce: 1 });
    for (const s of open) s.close();
  });

  it('counts connects with a verified token per user: a full address still lets signed-in users in', async () => {
    const room = freshRoom();
    const open: TestSocket[] = [];
    /** Connects from `from`, with `token` if given; 'open' once it answers a ping, else how it closed. */
    const connect = async (from: string, token?: string) => {
      const query = token === undefined ? '' : `?token=${token}`;
      const res = await http(`/room/${room}/connect${query}`, {
        headers: { Upgrade: 'websocket', 'cf-connecting-ip': from },
      });
      expect(res.status).toBe(101);
      const s = new TestSocket(res.webSocket!);
      s.send({ type: 'ping', nonce: 1 });
      const first = await Promise.race([s.next().then(() => 'open' as const), s.closed]);
      if (first === 'open') open.push(s);
      return first;
    };
    // One address (an office behind NAT) spends its whole budget on anonymous connects...
    const office = address();
    let anonymous: Awaited<ReturnType<typeof connect>> = 'open';
    for (let i = 0; i <= 2 * CONNECTS.window && anonymous === 'open'; i++) anonymous = await connect(office);
    expect(anonymous).toEqual({ code: 4290, reason: 'too many connects from this address: reconnect after 5000 ms' });
    // ...and people with tokens behind it still get in, each on a budget of their own.
    for (const user of ['ana', 'ben', 'cy']) expect(await connect(office, await tokenFor(room, user))).toBe('open');

    // One user is limited wherever they connect from: a fresh address per connect does not help.
    // (A user per try: allowedBeforeRefusal starts again when it crosses the binding's window.)
    let token = '';
    let tokenFrom = '';
    let refused: Awaited<ReturnType<typeof connect>> = 'open';
    const allowed = await allowedBeforeRefusal(async (from) => {
      if (tokenFrom !== from) token = await tokenFor(room, `dee@${(tokenFrom = from)}`);
      refused = await connect(address(), token);
      return refused === 'open';
    }, CONNECTS);
    expectWithin(allowed, CONNECTS);
    expect(refused).toEqual({
      code: 4290,
      reason: 'too many connects from this user: reconnect after 5000 ms',
    });
    for (const s of open) s.close();
  });

  it('counts a connect with a refused token against its address', async () => {
    const room = freshRoom();
    const from = address();
    const bad = await tokenFor(room, 'eve', {}, true);
    let closed!: { code: number; reason: string };
    let refusedAsBadToken = 0;
    for (let i = 0; i <= 2 * CONNECTS.window; i++) {
      const res = await http(`/room/${room}/connect?token=${bad}`, {
        headers: { Upgrade: 'websocket', 'cf-connecting-ip': from },
      });
      closed = await new TestSocket(res.webSocket!).closed;
      if (closed.code === 4290) break;
      refusedAsBadToken++;
    }
    // Each bad token is refused for what it is until the address's budget is spent.
    expectWithin(refusedAsBadToken, CONNECTS);
    expect(closed).toEqual({ code: 4290, reason: 'too many connects from this address: reconnect after 5000 ms' });
  });

  it('refuses HTTP sends past the limit with 429', async () => {
    const room = freshRoom();
    const ping = (from: string) =>
      http(`/room/${room}/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'cf-connecting-ip': from },
        body: '{"type":"ping"}',
      });
    let refused!: Response;
    const allowed = await allowedBeforeRefusal(async (from) => {
      const res = await ping(from);
      if (res.status !== 200) refused = res;
      return res.status === 200;
    }, SENDS);
    expectWithin(allowed, SENDS);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({
      code: 'rate_limited',
      message: 'Too many sends from this address; try again in 10 s',
    });
    // A backend with a token is counted as its user, not as the address it shares.
    const from = `203.0.113.${last}`;
    const signed = await http(`/room/${room}/send`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'cf-connecting-ip': from,
        authorization: `Bearer ${await tokenFor(room, 'backend')}`,
      },
      body: '{"type":"ping"}',
    });
    expect(signed.status).toBe(200);
  });
});
