/**
 * Helpers for the storage-cap tests. This project's caps (vitest.config.ts):
 * 4 subjects, 5 entries or 1000 bytes per stream, 2500 bytes per room.
 *
 * An entry counts the bytes of its value's JSON text, of its key and of its
 * client ID, plus 16 (worker/store.ts). These tests use ASCII only and DriftDB
 * sockets (no client ID), so `sized(key, n)` is a value whose entry is n bytes.
 */
import { runInDurableObject } from 'cloudflare:test';
import { storeOf } from '../../worker/store.ts';
import { connect, http, roomStub, schemaProblem, type Msg } from '../worker/helpers.ts';

export const MESSAGE_SUBJECTS = 'A room may hold 4 subjects (maxSubjects)';

/** A string value whose entry under `key` counts exactly `bytes`. */
export const sized = (key: string, bytes: number, fill = 'x'): string => fill.repeat(bytes - 2 - key.length - 16);

export const entry = (value: unknown, seq: number) => ({ value, seq });

export async function httpSend(room: string, body: unknown): Promise<{ status: number; body: Msg; text: string }> {
  const res = await http(`/room/${room}/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const reply = JSON.parse(text);
  // A reply is null, or one message as a socket would get it.
  const problem = reply === null ? undefined : schemaProblem(reply);
  if (problem) throw new Error(`The server replied off its schema: ${problem} in ${text.slice(0, 300)}`);
  return { status: res.status, body: reply, text };
}

/** HTTP `get`, as DriftDB clients send it. */
export const httpGet = async (room: string, key: string, seq = 0): Promise<Msg> =>
  (await httpSend(room, { type: 'get', key, seq })).body;

/** What a new socket that subscribes to `key` from `seq` receives. */
export async function subFrom(room: string, key: string, seq: number): Promise<Msg[]> {
  const s = await connect(room);
  s.send({ type: 'sub', key, seq });
  const msgs = await s.drain();
  s.close();
  return msgs;
}

/** The room's own counts, from its store (a test-only look inside the object). */
export function countsOf(room: string): Promise<{ subjects: number; bytes: number; cached: number; rows: number }> {
  return runInDurableObject(roomStub(room), (_instance, state) => {
    const store = storeOf(state.storage);
    if (!store) throw new Error('no store for this room');
    const rows = state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM subjects').one().n;
    return { subjects: store.subjectCount, bytes: store.roomBytes, cached: store.cachedSubjects, rows };
  });
}
