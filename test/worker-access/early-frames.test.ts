// Early frames (docs/protocol.md) with tokens: the Worker's gate comes first, and each early
// frame is checked against the token's rights as the same frame on the socket would be.
import { describe, expect, it } from 'vitest';
import { leafFor } from '../../worker/fanout.ts';
import { connectOffering, earlyEntry, freshRoom, http, idOf, push, secretOf } from '../worker/helpers.ts';
import { tokenFor } from './tokens.ts';

const hello = (name: string, extra: object = {}) => ({ type: 'hello', protocol: 1, secret: secretOf(name), ...extra });

describe('early frames with a token', () => {
  it("apply the token's rights to each early frame: forbidden ones refused, the rest applied, in order", async () => {
    const room = `p_${freshRoom()}`;
    const writer = await tokenFor(room, 'writer');
    for (const key of ['pub/a', 'secret/b']) {
      const res = await http(`/room/${room}/send`, {
        method: 'POST',
        body: JSON.stringify(push(key, `in ${key}`)),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${writer}` },
      });
      expect(res.status).toBe(200);
    }
    const token = await tokenFor(room, 'reader', { rights: { read: ['pub/*'] } });
    const early = earlyEntry([
      hello('tab', { presence: { x: 1 } }),
      { type: 'sub', key: 'secret/b' },
      { type: 'sub', key: 'pub/a' },
    ]);
    const { s } = await connectOffering(room, [`auth.${token}`, early]);
    expect(await s.next()).toEqual({ type: 'error', code: 'forbidden', message: 'Your token may not set presence' });
    expect(await s.next()).toMatchObject({ type: 'welcome', client: 'reader' });
    expect(await s.next()).toEqual({
      type: 'error',
      code: 'forbidden',
      key: 'secret/b',
      message: 'Your token may not read secret/b',
    });
    expect(await s.next()).toMatchObject({ type: 'init', key: 'pub/a', data: [{ value: 'in pub/a' }] });
  });

  it('apply none of them when the gate refuses the upgrade', async () => {
    const room = `p_${freshRoom()}`;
    const { s } = await connectOffering(room, [earlyEntry([hello('nobody'), { type: 'sub', key: 'k' }])]);
    expect(await s.closed).toEqual({ code: 4100, reason: 'This room needs a token' });
    expect(s.received).toEqual([]);
  });

  it("route a fanned-out room's socket by the token's user before the early hello's secret", async () => {
    const admin = await tokenFor('p_*', 'operator', { rights: { admin: true } });
    const made = await http('/new', {
      method: 'POST',
      body: JSON.stringify({ private: true, leaves: 3 }),
      headers: { authorization: `Bearer ${admin}` },
    });
    const { room } = (await made.json()) as { room: string };
    const user = 'user-0';
    let name = 'tab-0';
    for (let i = 1; leafFor(3, user) === leafFor(3, idOf(name)); i++) name = `tab-${i}`;
    const { s } = await connectOffering(room, [`auth.${await tokenFor(room, user)}`, earlyEntry([hello(name)])]);
    const welcome = await s.next();
    expect(welcome).toMatchObject({ type: 'welcome', client: user });
    expect(Number(welcome.conn.split('.')[0])).toBe(leafFor(3, user));
  });
});
