// The model-based test's driver: the system under test (a room, its clients and
// the model beside it), and how a step reads and checks what each socket got.
import type fc from 'fast-check';
import { expect } from 'vitest';
import type { Msg, TestSocket } from '../worker/helpers.ts';
import type { Action, Entry, RoomModel } from './model.ts';

/** How long to wait for a message the model expects. */
export const READ_MS = 2000;

export interface Client {
  name: string;
  id: string;
  s?: TestSocket;
  conn?: string;
  /** Subjects subscribed to, each with the last seq this client saw of it (where it resumes from). */
  subs: Map<string, number>;
  state: unknown;
}

/**
 * A counted push as its minter keeps it in an outbox: sent again as it is (same
 * origin, n and frame) however often, by whichever client recovers the outbox.
 */
export interface Minted {
  /** Which of the shared origins (an index into ORIGINS). */
  origin: number;
  n: number;
  id: string;
  key: string;
  action: Action | { type: 'compact'; seq: number };
  value: unknown;
}

export interface Sys {
  room: string;
  m: RoomModel;
  clients: Client[];
  ids: number;
  /** Every counted push minted so far, sent or not, in the order minted. */
  outbox: Minted[];
  /** The last n minted under each origin. */
  minted: number[];
}

export const connected = (sys: Sys) => sys.clients.filter((c) => c.s);

export async function read(c: Client, n: number): Promise<Msg[]> {
  const got: Msg[] = [];
  try {
    while (got.length < n) got.push(await c.s!.next(READ_MS));
  } catch {
    /* fewer than expected: the comparison says what is missing */
  }
  return got;
}

/** Drains `c` and checks that what it got in this step is exactly `expected`. */
export async function settle(c: Client, got: Msg[], expected: Msg[], step: string): Promise<void> {
  got.push(...(await c.s!.drain()));
  expect(got, `${c.name} after ${step}`).toEqual(expected);
}

/** Reads each open socket's expected messages of this step, then checks them exactly (and nothing else). */
export async function observe(sys: Sys, expected: Map<Client, Msg[]>, step: string): Promise<void> {
  for (const c of connected(sys)) {
    const want = expected.get(c) ?? [];
    await settle(c, await read(c, want.length), want, step);
  }
}

export const initOf = (key: string, data: Entry[], reset: boolean): Msg => ({
  type: 'init',
  key,
  data,
  ...(reset ? { reset: true } : {}),
});

export const seen = (c: Client, key: string, seq: number) => c.subs.set(key, Math.max(c.subs.get(key) ?? 0, seq));

/** A valid seq to compact `key` at (at most the room's latest): one of the subject's, its floor, or any handed out. */
export function compactAt(sys: Sys, key: string, pick: number): number {
  const own = sys.m.replay(key, 0).data.map((e) => e.seq);
  const candidates = [...own, sys.m.floor(key), sys.m.lastSeq, 1 + (pick % sys.m.lastSeq)].filter((n) => n > 0);
  return candidates[pick % candidates.length]!;
}

export type Cmd = fc.AsyncCommand<Sys, Sys, false>;
