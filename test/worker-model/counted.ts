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

/** How many sends met each fate in this run, to show that each was exercised. */
export const fates = new Map<string, number>();
const tallyFate = (kind: string, n = 1) => {
  if (n > 0) fates.set(kind, (fates.get(kind) ?? 0) + n);
};

const viaName = (via: Via) => (via === 'http' ? 'http' : `c${via}`);
const canSend = (sys: Sys, via: Via) => via === 'http' || sys.clients[via]!.s !== undefined;
const label = (p: Minted) =>
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
  tallyFate(kind);
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
    this.what = label(p);
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

type BurstItem = [
  who: number,
  origin: number,
  key: string,
  action: Action,
  value: unknown,
  kind: 'fresh' | 'again' | 'old',
  pick: number,
];
interface BurstSend {
  c: Client;
  p: Minted;
  kind: BurstItem[5];
}

/**
 * Counted pushes sent at once by several clients, without waiting in between:
 * fresh ones, earlier ones, and the same push sent again by the same or another
 * client, as two tabs recovering one outbox would. The room orders them. Of the
 * sends of one push not applied before, exactly one is applied and the others are
 * answered as its duplicates, with its seq; subscribers see each applied push
 * once, in the order of the seqs. A push whose fate depends on that order (one
 * the burst itself would push below its origin's window) is left out.
 */
export class CountedBurst implements Cmd {
  sends: BurstSend[] = [];
  readonly items: BurstItem[];
  constructor(items: BurstItem[]) {
    this.items = items;
  }
  check = (sys: Sys) => this.items.every(([w]) => sys.clients[w]!.s !== undefined);
  async run(sys: Sys): Promise<void> {
    const all: BurstSend[] = [];
    // Compactions stay out of bursts: one applied takes no seq of its own to order it by.
    const olds = sys.outbox.filter((x) => typeof x.action === 'string');
    for (const [w, origin, key, action, value, kind, pick] of this.items) {
      const c = sys.clients[w]!;
      if (kind === 'again' && all.length > 0) all.push({ c, p: all[pick % all.length]!.p, kind });
      else if (kind === 'old' && olds.length > 0) all.push({ c, p: olds[pick % olds.length]!, kind });
      else {
        sys.minted[origin]! += 1;
        const p: Minted = { origin, n: sys.minted[origin]!, id: `m${++sys.ids}`, key, action, value };
        sys.outbox.push(p);
        all.push({ c, p, kind: 'fresh' });
      }
    }
    // Each origin's highest n once the burst is in; a push new or applied before that it would put
    // below the window is expired or not depending on the order: left out.
    const before = new Map(all.map((x) => [x.p, sys.m.fate(ORIGINS[x.p.origin]!, x.p.n)]));
    const fateOf = (p: Minted) => before.get(p)!;
    const after = ORIGINS.map((o, i) =>
      Math.max(
        sys.m.highest(o),
        ...all.filter((x) => x.p.origin === i && fateOf(x.p).kind === 'new').map((x) => x.p.n),
      ),
    );
    this.sends = all.filter((x) => fateOf(x.p).kind === 'expired' || x.p.n > after[x.p.origin]! - ORIGIN_WINDOW);
    const sends = this.sends;
    for (const x of sends) x.c.s!.send(counted(x.p.key, x.p.value, x.p.n, ORIGINS[x.p.origin]!, x.p.action, x.p.id));

    // One group per push (origin, n), with its fate before the burst.
    const groups = new Map<Minted, BurstSend[]>();
    for (const x of sends) groups.set(x.p, [...(groups.get(x.p) ?? []), x]);
    const applied = [...groups].filter(([p]) => fateOf(p).kind === 'new');
    for (const [p, xs] of groups) {
      const kind = fateOf(p).kind;
      tallyFate(kind, kind === 'new' ? 1 : xs.length);
      if (kind === 'new') tallyFate('duplicate of a send in the same burst', xs.length - 1);
    }
    const got = new Map<Client, Msg[]>();
    for (const o of connected(sys)) {
      const want = applied.filter(([p]) => o.subs.has(p.key)).length + sends.filter((x) => x.c === o).length;
      const msgs: Msg[] = [];
      // stream_size replies are not known in number until the order is: read past them.
      while (msgs.filter((m) => m.type !== 'stream_size').length < want) {
        const more = await read(o, 1);
        if (more.length === 0) break;
        msgs.push(...more);
      }
      got.set(o, msgs);
    }
    // Each socket's replies come in the order it sent: pair them with its sends.
    const replyOf = new Map<BurstSend, Msg>();
    for (const o of connected(sys)) {
      const replies = got.get(o)!.filter((m) => m.type === 'ack' || m.type === 'error');
      sends.filter((x) => x.c === o).forEach((x, i) => replyOf.set(x, replies[i]));
    }
    // Of each new push's sends, the one answered without duplicate was applied, at the seq the rest carry.
    const order: { p: Minted; by: BurstSend; seq: number }[] = [];
    for (const [p, xs] of applied) {
      const firsts = xs.filter((x) => replyOf.get(x)?.type === 'ack' && !replyOf.get(x)?.duplicate);
      expect(firsts.length, `${this}: sends of o${p.origin} n=${p.n} applied`).toBe(1);
      order.push({ p, by: firsts[0]!, seq: replyOf.get(firsts[0]!)!.seq });
    }
    order.sort((a, b) => a.seq - b.seq);
    const pushes = new Map<Client, Msg[]>(connected(sys).map((o) => [o, []]));
    const sizes = new Map<BurstSend, number>();
    for (const { p, by, seq } of order) {
      expect(sys.m.takeSeq(seq), `${this}`).toBeUndefined();
      sys.m.write(p.key, p.action as Action, p.value, seq, by.c.id); // no compactions here (see olds)
      sys.m.counted(ORIGINS[p.origin]!, p.n, seq);
      sizes.set(by, sys.m.size(p.key));
      const out = { type: 'push', key: p.key, value: p.value, seq, client: by.c.id };
      for (const o of connected(sys)) if (o.subs.has(p.key)) pushes.get(o)!.push(out);
    }
    const firstSeq = new Map(order.map(({ p, seq }) => [p, seq]));
    for (const o of connected(sys)) {
      const replies: Msg[] = [];
      for (const x of sends.filter((s) => s.c === o)) {
        const fate = fateOf(x.p);
        const applier = order.find((a) => a.by === x);
        if (fate.kind === 'expired') replies.push(expiredFrame(x.p.id, x.p.key, x.p.n));
        else if (applier) {
          replies.push({ type: 'ack', id: x.p.id, seq: applier.seq });
          const size = sizes.get(x)!;
          if (size > 1) replies.push({ type: 'stream_size', key: x.p.key, size });
        } else {
          const seq = fate.kind === 'duplicate' ? fate.seq : firstSeq.get(x.p);
          replies.push({ type: 'ack', id: x.p.id, seq, duplicate: true });
        }
      }
      const have = got.get(o)!;
      const pending = replies.filter((m) => m.type === 'stream_size').length;
      have.push(...(await read(o, pending - have.filter((m) => m.type === 'stream_size').length)));
      have.push(...(await o.s!.drain()));
      // The order between pushes and this socket's own replies depends on the room's order: each apart.
      expect(
        have.filter((m) => m.type === 'push'),
        `${o.name}'s pushes after ${this}`,
      ).toEqual(pushes.get(o));
      expect(
        have.filter((m) => m.type !== 'push'),
        `${o.name}'s replies after ${this}`,
      ).toEqual(replies);
    }
    for (const { p, seq } of order) for (const o of connected(sys)) if (o.subs.has(p.key)) seen(o, p.key, seq);
  }
  toString = () =>
    `countedBurst(${
      this.sends.length > 0
        ? this.sends.map((x) => `${x.c.name} ${x.kind} ${label(x.p)}`).join(', ')
        : this.items.map(([w, o, k, a, v, kind]) => `c${w} ${kind} o${o} ${a} ${k} ${JSON.stringify(v)}`).join(', ')
    })`;
}
