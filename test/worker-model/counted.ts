// Counted pushes in the model-based test (docs/protocol.md, "Counted pushes"):
// pushes minted under a few origins that every client shares, as tabs recovering
// one outbox do; resends of them by the same client or another, over a socket or
// HTTP, after drops, resumes and evictions; and numbers below the window. The
// model gives each send its fate: applied once, a duplicate answered with its
// first seq, or expired with nothing stored.
import { expect } from 'vitest';
import { ORIGIN_WINDOW } from '../../protocol/limits.ts';
import { counted, http, type Msg, originOf } from '../worker/helpers.ts';
import {
  type Client,
  type Cmd,
  compactAt,
  connected,
  type Minted,
  observe,
  read,
  type Sys,
  seen,
  settle,
} from './driver.ts';
import type { Action } from './model.ts';

/** Outboxes every client shares: any of them may mint under one, or resend what another minted. */
export const ORIGINS = [originOf('shared-0'), originOf('shared-1')];

/** Who sends: a client's socket, or HTTP (with no ?client=: a counted push is scoped by its origin). */
export type Via = number | 'http';

/** How many sends met each fate in this run (new ones apart if below their origin's highest n): shows that each was exercised. */
export const fates = new Map<string, number>();

const viaName = (via: Via) => (via === 'http' ? 'http' : `c${via}`);
const canSend = (sys: Sys, via: Via) => via === 'http' || sys.clients[via]!.s !== undefined;
const describe = (p: Minted) =>
  `o${p.origin} n=${p.n} ${typeof p.action === 'string' ? p.action : `compact@${p.action.seq}`} ${p.key} ${JSON.stringify(p.value)}`;

const expiredFrame = (id: string, key: string, n: number): Msg => ({
  type: 'error',
  code: 'expired',
  id,
  key,
  message: `Push n=${n} is ${ORIGIN_WINDOW} or more below the highest n of its origin (ORIGIN_WINDOW): it may have been applied, so it is not applied now`,
});

/**
 * Sends one counted push (with `id`) and checks what every open socket gets, and
 * the HTTP reply, against the model's fate for it. New: applied once, at a seq
 * above every earlier one, delivered once to each subscriber. Applied before: a
 * duplicate `ack` with the first seq, and nothing for anyone else. Expired:
 * refused, nothing stored or delivered.
 */
export async function sendCounted(sys: Sys, via: Via, p: Minted, id: string, step: string): Promise<void> {
  const origin = ORIGINS[p.origin]!;
  const fate = sys.m.fate(origin, p.n);
  const kind = fate.kind === 'new' && p.n < sys.m.highest(origin) ? 'new below the highest n' : fate.kind;
  fates.set(kind, (fates.get(kind) ?? 0) + 1);
  const frame = counted(p.key, p.value, p.n, origin, p.action, id);
  const c: Client | undefined = via === 'http' ? undefined : sys.clients[via]!;
  let reply: Msg | undefined;
  if (c) c.s!.send(frame);
  else {
    const res = await http(`/room/${sys.room}/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(frame),
    });
    expect(res.status, `${step}: HTTP status`).toBe(fate.kind === 'expired' ? 400 : 200);
    reply = await res.json();
  }
  const answer = (msg: Msg) => {
    if (reply) expect(reply, `${step}: the HTTP reply`).toEqual(msg);
    return new Map<Client, Msg[]>(c ? [[c, [msg]]] : []);
  };

  if (fate.kind === 'expired') return observe(sys, answer(expiredFrame(id, p.key, p.n)), step);
  if (fate.kind === 'duplicate') {
    return observe(sys, answer({ type: 'ack', id, seq: fate.seq, duplicate: true }), step);
  }
  if (typeof p.action === 'object') {
    // A compaction is applied at its own seq, and delivered to nobody.
    const at = p.action.seq;
    sys.m.compact(p.key, p.value, at, c?.id);
    sys.m.counted(origin, p.n, at);
    const size = sys.m.size(p.key);
    const expected = answer({ type: 'ack', id, seq: at });
    if (c && size > 1) expected.get(c)!.push({ type: 'stream_size', key: p.key, size });
    return observe(sys, expected, step);
  }

  const action: Action = p.action;
  const sizeAfter = action === 'relay' ? sys.m.size(p.key) : action === 'replace' ? 1 : sys.m.size(p.key) + 1;
  const audience = connected(sys).filter((o) => o.subs.has(p.key));
  const count = (o: Client) => (o.subs.has(p.key) ? 1 : 0) + (o === c ? 1 + (sizeAfter > 1 ? 1 : 0) : 0);
  const got = new Map<Client, Msg[]>();
  for (const o of connected(sys)) got.set(o, await read(o, count(o)));
  const seq: number | undefined = c ? got.get(c)!.find((x) => x.type === 'ack')?.seq : reply?.seq;
  expect(seq, `${step}: the seq it was applied at`).toEqual(expect.any(Number));
  expect(sys.m.takeSeq(seq!), step).toBeUndefined();
  sys.m.write(p.key, action, p.value, seq!, c?.id);
  sys.m.counted(origin, p.n, seq!);
  if (reply) expect(reply, `${step}: the HTTP reply`).toEqual({ type: 'ack', id, seq });
  // Over HTTP without a token the push names no client.
  const out = { type: 'push', key: p.key, value: p.value, seq, ...(c ? { client: c.id } : {}) };
  for (const o of connected(sys)) {
    const want: Msg[] = o.subs.has(p.key) ? [out] : [];
    if (o === c) {
      want.push({ type: 'ack', id, seq });
      if (sizeAfter > 1) want.push({ type: 'stream_size', key: p.key, size: sizeAfter });
    }
    await settle(o, got.get(o)!, want, step);
  }
  for (const o of audience) seen(o, p.key, seq!);
}

/**
 * Mints the next number of an origin (after a gap, up to a whole window: the
 * numbers it skips past become `expired`) and sends it, or only keeps it in the
 * outbox, as a push queued offline: sent later, it is applied below the origin's
 * highest n.
 */
export class MintCounted implements Cmd {
  n = 0;
  at = 0;
  readonly via: Via;
  readonly origin: number;
  readonly key: string;
  readonly action: Action | 'compact';
  readonly value: unknown;
  readonly gap: number;
  readonly pick: number;
  readonly held: boolean;
  constructor(
    via: Via,
    origin: number,
    key: string,
    action: Action | 'compact',
    value: unknown,
    gap: number,
    pick: number,
    held: boolean,
  ) {
    this.via = via;
    this.origin = origin;
    this.key = key;
    this.action = action;
    this.value = value;
    this.gap = gap;
    this.pick = pick;
    this.held = held;
  }
  check = (sys: Sys) => (this.held || canSend(sys, this.via)) && (this.action !== 'compact' || sys.m.lastSeq > 0);
  async run(sys: Sys): Promise<void> {
    this.n = sys.minted[this.origin]! + this.gap;
    sys.minted[this.origin] = this.n;
    if (this.action === 'compact') this.at = compactAt(sys, this.key, this.pick);
    const p: Minted = {
      origin: this.origin,
      n: this.n,
      id: `m${++sys.ids}`,
      key: this.key,
      action: this.action === 'compact' ? { type: 'compact', seq: this.at } : this.action,
      value: this.value,
    };
    sys.outbox.push(p);
    if (!this.held) await sendCounted(sys, this.via, p, p.id, `${this}`);
  }
  toString = () =>
    `${this.held ? 'mint' : `counted(${viaName(this.via)},`} o${this.origin} ${this.n ? `n=${this.n}` : `+${this.gap}`} ${this.action === 'compact' ? `compact@${this.at || `pick ${this.pick}`}` : this.action} ${this.key} ${JSON.stringify(this.value)})`;
}

/**
 * Sends an earlier counted push again, as an outbox recovered after a drop, a
 * resume, an eviction or by another tab would: the same origin, n and frame,
 * under the same id or (another tab's bookkeeping) a new one.
 */
export class Resend implements Cmd {
  what = '';
  readonly via: Via;
  readonly pick: number;
  readonly newId: boolean;
  constructor(via: Via, pick: number, newId: boolean) {
    this.via = via;
    this.pick = pick;
    this.newId = newId;
  }
  check = (sys: Sys) => sys.outbox.length > 0 && canSend(sys, this.via);
  async run(sys: Sys): Promise<void> {
    // Every other resend sends a push still unapplied, if there is one: held ones would seldom be picked.
    const unapplied = sys.outbox.filter((x) => sys.m.fate(ORIGINS[x.origin]!, x.n).kind === 'new');
    const from = this.pick % 2 === 0 && unapplied.length > 0 ? unapplied : sys.outbox;
    const p = from[(this.pick >> 1) % from.length]!;
    this.what = describe(p);
    await sendCounted(sys, this.via, p, this.newId ? `m${++sys.ids}` : p.id, `${this}`);
  }
  toString = () => `resend(${viaName(this.via)}, ${this.what || `pick ${this.pick}`}${this.newId ? ', new id' : ''})`;
}

/** The origins whose highest n is past ORIGIN_WINDOW, so that some n ≥ 1 is below their window. */
const windowed = (sys: Sys) => ORIGINS.flatMap((o, i) => (sys.m.highest(o) > ORIGIN_WINDOW ? [i] : []));

/**
 * A push numbered at or below the window of an origin that has one (its highest
 * n − ORIGIN_WINDOW), never minted: `expired`.
 */
export class Stale implements Cmd {
  n = 0;
  resolved = 0;
  readonly via: Via;
  readonly origin: number;
  readonly key: string;
  readonly value: unknown;
  readonly below: number;
  constructor(via: Via, origin: number, key: string, value: unknown, below: number) {
    this.via = via;
    this.origin = origin;
    this.key = key;
    this.value = value;
    this.below = below;
  }
  check = (sys: Sys) => canSend(sys, this.via) && windowed(sys).length > 0;
  async run(sys: Sys): Promise<void> {
    const eligible = windowed(sys);
    this.resolved = eligible[this.origin % eligible.length]!;
    const edge = sys.m.highest(ORIGINS[this.resolved]!) - ORIGIN_WINDOW;
    const below = [edge, edge - 1, 1].filter((n) => n >= 1);
    this.n = below[this.below % below.length]!;
    const p: Minted = {
      origin: this.resolved,
      n: this.n,
      id: `m${++sys.ids}`,
      key: this.key,
      action: 'append',
      value: this.value,
    };
    await sendCounted(sys, this.via, p, p.id, `${this}`);
  }
  toString = () =>
    `stale(${viaName(this.via)}, ${this.n ? `o${this.resolved} n=${this.n}` : `pick ${this.origin}, edge - ${this.below % 3}`} ${this.key} ${JSON.stringify(this.value)})`;
}
