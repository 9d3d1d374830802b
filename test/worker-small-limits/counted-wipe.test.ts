// The retention wipe (1 s here) forgets counted pushes with the rest of the room's data.
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { storeOf } from '../../worker/store.ts';
import { connectClient, counted, freshRoom, originOf, roomStub } from '../worker/helpers.ts';

const O = originOf('alice');

const rows = (room: string) =>
  runInDurableObject(roomStub(room), (_instance, state) => {
    const count = (table: string) =>
      state.storage.sql.exec<{ k: number }>(`SELECT count(*) AS k FROM ${table}`).one().k;
    return { origins: count('origins'), numbers: count('origin_msgs'), bytes: storeOf(state.storage)!.counterBytes() };
  });

describe('counted pushes and retention', () => {
  it('are wiped with the room: afterwards the same n is a new push', async () => {
    const room = freshRoom();
    const { s } = await connectClient(room, 'alice');
    s.send(counted('log', 'before', 1, O));
    const ack = await s.until((m) => m.type === 'ack');
    expect(ack).toEqual({ type: 'ack', id: 'n1', seq: 1 });
    expect(await rows(room)).toEqual({ origins: 1, numbers: 1, bytes: { kept: 76, counted: 76 } });
    expect((await s.closed).code).toBe(4000); // bounded by the test timeout

    expect(await rows(room)).toEqual({ origins: 0, numbers: 0, bytes: { kept: 0, counted: 0 } });
    const { s: back } = await connectClient(room, 'alice');
    back.send(counted('log', 'after', 1, O));
    const again = await back.until((m) => m.type === 'ack');
    expect(again).toEqual({ type: 'ack', id: 'n1', seq: expect.any(Number) });
    expect(again.seq).toBeGreaterThan(1);
  }, 10_000);
});
