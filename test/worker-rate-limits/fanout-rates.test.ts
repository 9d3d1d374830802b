// Rates in a fanned-out room (docs/hot-rooms.md): each socket's publish rate on its
// leaf, the room's publish budget at the room's object, refusals back to the sender.
import { describe, expect, it } from 'vitest';
import { http, push, type Msg, type TestSocket } from '../worker/helpers.ts';
import { clientOn, newFanoutRoom, pushesOf } from '../worker-fanout/helpers.ts';

/**
 * The answers to pushes with ids `ids`, an ack or an error each, in the order of `ids`.
 * A leaf's own refusal may come before the acks of earlier pushes, which wait for their batch.
 */
async function answers(s: TestSocket, ids: string[]): Promise<Msg[]> {
  const byId = new Map<string, Msg>();
  while (byId.size < ids.length) {
    const m = await s.until((m) => (m.type === 'ack' || m.type === 'error') && ids.includes(m.id));
    byId.set(m.id, m);
  }
  return ids.map((id) => byId.get(id));
}

describe('rates in a fanned-out room', () => {
  it("a socket's publish burst (5 here) holds on its leaf: the 6th gets rate_limited, not applied", async () => {
    const room = await newFanoutRoom(2);
    const { s } = await clientOn(room, 2, 0);
    const ids = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'];
    for (const id of ids) s.send(push('k', id, 'append', id));
    const got = await answers(s, ids);
    expect(got.slice(0, 5).map((m) => m.type)).toEqual(['ack', 'ack', 'ack', 'ack', 'ack']);
    expect(got[5]).toMatchObject({
      type: 'error',
      code: 'rate_limited',
      id: 'p6',
      key: 'k',
      message: 'Over publishesPerSecond (1/s, burst 5) for this socket',
    });
    expect(got[5].retryAfter).toBeGreaterThan(0);
    s.send({ type: 'sub', key: 'k' });
    const init = await s.until((m) => m.type === 'init');
    expect(init.data.map((e: Msg) => e.value)).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
  });

  it("the room's publish budget (8/s here) is the room's object's, across leaves; a refusal reaches its sender", async () => {
    const room = await newFanoutRoom(2);
    const a = await clientOn(room, 2, 0);
    const b = await clientOn(room, 2, 1);
    const ids = (p: string) => [1, 2, 3, 4, 5].map((i) => `${p}${i}`);
    for (const id of ids('a')) a.s.send(push('k', id, 'append', id));
    for (const id of ids('b')) b.s.send(push('k', id, 'append', id));
    const got = [...(await answers(a.s, ids('a'))), ...(await answers(b.s, ids('b')))];
    const refused = got.filter((m) => m.type === 'error');
    expect(refused.length).toBeGreaterThan(0);
    for (const m of refused) {
      expect(m).toMatchObject({ code: 'rate_limited', message: 'Over roomPublishesPerSecond (8/s) for this room' });
    }
    expect(got.filter((m) => m.type === 'ack')).toHaveLength(10 - refused.length);
  });
});

describe("the room's delivery budget in a fanned-out room", () => {
  it('counts what every leaf delivers: past 20/s a publish is refused as in a room of one object, and not delivered', async () => {
    const room = await newFanoutRoom(2);
    // Six subscribers on each leaf: five pushes are 60 deliveries, three times the budget.
    const subs: TestSocket[] = [];
    for (const leaf of [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]) {
      const { s } = await clientOn(room, 2, leaf);
      s.send({ type: 'sub', key: 'k' });
      await s.until((m) => m.type === 'init');
      subs.push(s);
    }
    const a = await clientOn(room, 2, 0);
    const b = await clientOn(room, 2, 1);
    const ids = ['a1', 'a2', 'a3', 'a4', 'a5'];
    for (const id of ids) a.s.send(push('k', id, 'append', id));
    const first = await answers(a.s, ids);
    const acked = first.filter((m) => m.type === 'ack').map((m) => m.id);
    expect(acked.length).toBeGreaterThan(0);
    for (const s of subs) expect((await pushesOf(s, 'k', acked.length)).map((p) => p.value)).toEqual(acked);
    // Every leaf has reported its deliveries: the budget is spent, for a publisher on either leaf and for HTTP.
    b.s.send(push('k', 'b1', 'append', 'b1'));
    const [refused] = await answers(b.s, ['b1']);
    const message = 'Over roomDeliveriesPerSecond (20/s) for this room';
    expect(refused).toMatchObject({ type: 'error', code: 'rate_limited', id: 'b1', key: 'k', message });
    expect(refused.retryAfter).toBeGreaterThan(0);
    expect(refused.retryAfter).toBeLessThanOrEqual(1000);
    for (const m of first.filter((m) => m.type === 'error')) expect(m).toMatchObject({ code: 'rate_limited', message });
    const sent = await http(`/room/${room}/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(push('k', 'h1')),
    });
    expect(sent.status).toBe(429);
    expect(await sent.json()).toMatchObject({ code: 'rate_limited', message });
    // Nothing refused reached anyone, and nothing was stored.
    for (const s of subs) expect((await s.drain()).filter((m) => m.type === 'push')).toEqual([]);
    const late = await clientOn(room, 2, 1);
    late.s.send({ type: 'sub', key: 'k' });
    expect((await late.s.until((m) => m.type === 'init')).data.map((e: Msg) => e.value)).toEqual(acked);
  });
});
