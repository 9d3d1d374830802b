// Counted pushes in a busy room (rates out of the way, vitest.config.ts worker-counted):
// an offline client's resends after 20,000 other publishes, and the window's size.
import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { DEDUP_WINDOW, ORIGIN_WINDOW } from '../../protocol/limits.ts';
import { storeOf } from '../../worker/store.ts';
import {
  connect,
  connectClient,
  counted,
  freshRoom,
  idOf,
  originOf,
  push,
  roomStub,
  type Msg,
  type TestSocket,
} from '../worker/helpers.ts';

const PENDING = 50;
const OTHERS = 20_000;
const O = originOf('alice');

const acks = async (s: TestSocket, timeoutMs = 20_000): Promise<Msg[]> =>
  (await s.drain(timeoutMs)).filter((m) => m.type === 'ack' || m.type === 'error');

/** The entries a room holds for `key`: value, seq and client. */
async function entries(room: string, key: string): Promise<{ value: unknown; seq: number; client?: string }[]> {
  const s = await connect(room);
  s.send({ type: 'sub', key, seq: 0 });
  const data: { value: unknown; seq: number; client?: string }[] = [];
  for (;;) {
    const init = await s.until((m) => m.type === 'init');
    data.push(...init.data);
    if (!init.more) break;
  }
  s.close();
  return data;
}

/** `count` publishes from another client, each with an ID (so each takes a place in the room's ID window). */
async function othersPublish(room: string, count: number): Promise<void> {
  const { s: bob } = await connectClient(room, 'bob');
  for (let sent = 0; sent < count; ) {
    const batch = Math.min(2000, count - sent);
    for (let i = 0; i < batch; i++, sent++) bob.send(push('chatter', sent, 'relay', `b${sent}`));
    const got = await acks(bob);
    expect(got).toHaveLength(batch);
  }
  bob.close();
}

describe('a busy room', () => {
  it(`applies an offline client's ${PENDING} counted pushes once when they come back after ${OTHERS} others`, async () => {
    expect(OTHERS).toBeGreaterThan(DEDUP_WINDOW);
    const room = freshRoom();
    // alice counts her pushes; carol only has message IDs, as every client before counters.
    const { s: alice } = await connectClient(room, 'alice');
    const { s: carol } = await connectClient(room, 'carol');
    const half = PENDING / 2;
    for (let n = 1; n <= half; n++) {
      alice.send(counted('notes', `a${n}`, n, O));
      carol.send(push('plain', `c${n}`, 'append', `c${n}`));
    }
    expect(await acks(alice)).toHaveLength(half);
    expect(await acks(carol)).toHaveLength(half);
    // The rest are sent and applied, but their acks are lost with the sockets: both go offline.
    for (let n = half + 1; n <= PENDING; n++) {
      alice.send(counted('notes', `a${n}`, n, O));
      carol.send(push('plain', `c${n}`, 'append', `c${n}`));
    }
    alice.close();
    carol.close();
    await Promise.all([alice.closed, carol.closed]);
    const before = await entries(room, 'notes');
    expect(before.map((e) => e.value)).toEqual(Array.from({ length: PENDING }, (_, i) => `a${i + 1}`));
    expect(await entries(room, 'plain')).toHaveLength(PENDING);

    await othersPublish(room, OTHERS);

    // Back (in another tab even: the outbox's origin is what counts), every push resent as it was minted.
    const { s: back } = await connectClient(room, 'alice-recovering-tab');
    for (let n = 1; n <= PENDING; n++) back.send(counted('notes', `a${n}`, n, O));
    expect(await acks(back)).toEqual(
      before.map((e, i) => ({ type: 'ack', id: `n${i + 1}`, seq: e.seq, duplicate: true })),
    );
    const after = await entries(room, 'notes');
    expect(after).toEqual(before);
    expect(after.filter((e) => e.client === idOf('alice'))).toHaveLength(PENDING);

    // Without counters the room's ID window has forgotten carol's publishes: her resends are applied again.
    const { s: carolBack } = await connectClient(room, 'carol');
    for (let n = 1; n <= PENDING; n++) carolBack.send(push('plain', `c${n}`, 'append', `c${n}`));
    const carolAcks = await acks(carolBack);
    expect(carolAcks).toHaveLength(PENDING);
    expect(carolAcks.filter((m) => m.duplicate)).toEqual([]);
    expect(await entries(room, 'plain')).toHaveLength(2 * PENDING);
  }, 180_000);

  it('keeps at most ORIGIN_WINDOW numbers per origin, and the bytes they count match the rows', async () => {
    const room = freshRoom();
    const { s } = await connectClient(room, 'alice');
    // Relays store no values, so every byte the room holds is the counters'.
    for (let n = 1; n <= ORIGIN_WINDOW + 200; n++) s.send(counted('cursor', n, n, O, 'relay'));
    s.send(counted('cursor', 0, 1, originOf('bob'), 'relay'));
    expect(await acks(s)).toHaveLength(ORIGIN_WINDOW + 201);
    const look = () =>
      runInDurableObject(roomStub(room), (_instance, state) => {
        const store = storeOf(state.storage)!;
        const rows = state.storage.sql
          .exec<{ origins: number; numbers: number }>(
            'SELECT (SELECT count(*) FROM origins) AS origins, (SELECT count(*) FROM origin_msgs) AS numbers',
          )
          .one();
        return { ...rows, bytes: store.counterBytes(), room: store.roomBytes };
      });
    const seen = await look();
    // 22 characters of hash + 16 per row: each origin, and each number remembered.
    const bytes = 38 * (2 + ORIGIN_WINDOW + 1);
    expect(seen).toEqual({
      origins: 2,
      numbers: ORIGIN_WINDOW + 1,
      bytes: { kept: bytes, counted: bytes },
      room: bytes,
    });
    // The running total is stored with the rows: a woken room has it without counting them.
    await evictDurableObject(roomStub(room), { webSockets: 'close' });
    expect(await look()).toEqual(seen);
  }, 60_000);
});
