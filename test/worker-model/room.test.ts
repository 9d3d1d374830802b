// Model-based: random sequences of operations by several clients against the
// real worker (relay, replace, append, compact; sub from a seq or the last N,
// unsub; presence; dms; dropped sockets and resumes; evictions, hibernating or
// closing the sockets; counted pushes and their resends, in counted.ts), every
// observation checked against model.ts.
//
//   npm test                                   a few cases (MODEL_RUNS, default 40)
//   npm run test:model                          500 cases
//   MODEL_SEED=123 npx vitest run --project worker-model   replays one seed
//   MODEL_BREAK=no-resubscribe ...             the driver skips the resubscribe on resume: must fail
//
// It prints the number of cases, the seed and a tally of the steps run; a
// failure prints fast-check's shrunk counterexample (the list of steps).
//
// After each step every open socket is drained (a ping answered proves what
// was, and was not, sent before it), so each step's effects are checked alone.
import { env } from 'cloudflare:workers';
import { evictDurableObject } from 'cloudflare:test';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ORIGIN_WINDOW } from '../../protocol/limits.ts';
import {
  connect,
  freshRoom,
  http,
  idOf,
  push,
  roomStub,
  secretOf,
  type Msg,
  type TestSocket,
} from '../worker/helpers.ts';
import {
  type Client,
  type Cmd,
  compactAt,
  connected,
  initOf,
  observe,
  READ_MS,
  read,
  type Sys,
  seen,
  settle,
} from './driver.ts';
import { CountedBurst, fates, MintCounted, ORIGINS, Resend, Stale, type Via } from './counted.ts';
import { type Action, RoomModel } from './model.ts';

const CLIENTS = 3;
const KEYS = ['a', 'b', 'c'] as const;

const settings = env as unknown as { MODEL_RUNS?: string; MODEL_SEED?: string; MODEL_BREAK?: string };
const RUNS = Number(settings.MODEL_RUNS || 40);
const SEED = settings.MODEL_SEED ? Number(settings.MODEL_SEED) : (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) | 0;
/** Deliberate breakage of the driver, to show that the test fails: `no-resubscribe`. */
const BREAK = settings.MODEL_BREAK ?? '';

/** Connects `c` with its secret and presence, checks the welcome and the join, and resubscribes from where it was. */
async function connectAs(sys: Sys, c: Client, resubscribe = true): Promise<void> {
  const s = await connect(sys.room);
  s.send({ type: 'hello', protocol: 1, secret: secretOf(c.name), ...(c.state === null ? {} : { presence: c.state }) });
  const welcome = await s.next(READ_MS);
  expect(welcome).toEqual({
    type: 'welcome',
    protocol: 1,
    conn: expect.any(String),
    client: c.id,
    seq: expect.any(Number),
    limits: expect.any(Object),
    peers: expect.any(Array),
  });
  const byConn = (a: { conn: string }, b: { conn: string }) => (a.conn < b.conn ? -1 : 1);
  expect([...welcome.peers].sort(byConn), `${c.name}'s welcome roster`).toEqual(
    sys.m.peersFor(welcome.conn).sort(byConn),
  );
  expect(sys.m.welcomeSeq(welcome.seq)).toBeUndefined();
  const peer = { conn: welcome.conn, client: c.id, state: c.state };
  const others = connected(sys);
  c.s = s;
  c.conn = welcome.conn;
  sys.m.join(peer);
  const expected = new Map<Client, Msg[]>(others.map((o) => [o, [{ type: 'presence', event: 'join', peer }]]));
  // Resume as our client does: every subject again, from the last seq seen of it.
  const mine: Msg[] = [];
  if (resubscribe && BREAK !== 'no-resubscribe') {
    for (const [key, from] of c.subs) {
      s.send({ type: 'sub', key, seq: from });
      const { data, reset } = sys.m.replay(key, from);
      mine.push(initOf(key, data, reset));
    }
  }
  expected.set(c, mine);
  await observe(sys, expected, `${c.name} connects`);
  for (const msg of mine) for (const e of msg.data) seen(c, msg.key, e.seq);
}

// ---- commands --------------------------------------------------------------

class Write implements Cmd {
  readonly who: number;
  readonly key: string;
  readonly action: Action;
  readonly value: unknown;
  readonly withId: boolean;
  constructor(who: number, key: string, action: Action, value: unknown, withId: boolean) {
    this.who = who;
    this.key = key;
    this.action = action;
    this.value = value;
    this.withId = withId;
  }
  check = (sys: Sys) => sys.clients[this.who]!.s !== undefined;
  async run(sys: Sys): Promise<void> {
    const c = sys.clients[this.who]!;
    const id = this.withId ? `m${++sys.ids}` : undefined;
    c.s!.send(push(this.key, this.value, this.action, id));
    const sizeAfter =
      this.action === 'relay' ? sys.m.size(this.key) : this.action === 'replace' ? 1 : sys.m.size(this.key) + 1;
    const audience = connected(sys).filter((o) => o.subs.has(this.key));
    const count = (o: Client) =>
      (o.subs.has(this.key) ? 1 : 0) + (o === c ? (id ? 1 : 0) + (sizeAfter > 1 ? 1 : 0) : 0);
    const got = new Map<Client, Msg[]>();
    for (const o of connected(sys)) got.set(o, await read(o, count(o)));
    // The seq: from the ack, or from whoever saw the push. An unseen relay without an ID stays unknown.
    let seq: number | undefined = id
      ? got.get(c)!.find((x) => x.type === 'ack')?.seq
      : [...got.values()].flat().find((x) => x.type === 'push')?.seq;
    if (seq === undefined && this.action !== 'relay') {
      // A stored value nobody saw: it is what follows the last seq known, over HTTP.
      const res = await http(`/room/${sys.room}/send`, {
        method: 'POST',
        body: JSON.stringify({ type: 'get', key: this.key, seq: sys.m.lastSeq }),
      });
      const init = (await res.json()) as Msg;
      expect(init, `${this}: the value after seq ${sys.m.lastSeq}`).toEqual({
        type: 'init',
        key: this.key,
        data: [{ value: this.value, seq: expect.any(Number), client: c.id }],
      });
      seq = init.data[0].seq;
    }
    if (seq !== undefined) expect(sys.m.takeSeq(seq), `${this}`).toBeUndefined();
    else
      expect(id === undefined && this.action === 'relay' && audience.length === 0, `${this}: no seq observed`).toBe(
        true,
      );
    if (seq !== undefined) sys.m.write(this.key, this.action, this.value, seq, c.id);
    const out = { type: 'push', key: this.key, value: this.value, seq, client: c.id };
    for (const o of connected(sys)) {
      const want: Msg[] = o.subs.has(this.key) ? [out] : [];
      if (o === c) {
        if (id) want.push({ type: 'ack', id, seq });
        if (sizeAfter > 1) want.push({ type: 'stream_size', key: this.key, size: sizeAfter });
      }
      await settle(o, got.get(o)!, want, `${this}`);
    }
    if (seq !== undefined) for (const o of audience) seen(o, this.key, seq);
  }
  toString = () =>
    `${this.action}(c${this.who}, ${this.key}, ${JSON.stringify(this.value)}${this.withId ? ', id' : ''})`;
}

/**
 * Writes by several clients sent at once, without waiting in between. The room
 * orders them; the seqs in the acks say how, and every socket must see its
 * share in exactly that order.
 */
class Burst implements Cmd {
  readonly writes: [number, string, Action, unknown][];
  constructor(writes: [number, string, Action, unknown][]) {
    this.writes = writes;
  }
  check = (sys: Sys) => this.writes.every(([w]) => sys.clients[w]!.s !== undefined);
  async run(sys: Sys): Promise<void> {
    const sent = this.writes.map(([w, key, action, value]) => ({
      c: sys.clients[w]!,
      key,
      action,
      value,
      id: `m${++sys.ids}`,
      seq: 0,
    }));
    for (const x of sent) x.c.s!.send(push(x.key, x.value, x.action, x.id));
    // What each socket gets does not depend on the order, except stream_size: read up to the last ack.
    const got = new Map<Client, Msg[]>();
    for (const o of connected(sys)) {
      const pushes = sent.filter((x) => o.subs.has(x.key)).length;
      const acks = sent.filter((x) => x.c === o).length;
      // stream_size replies are not known in number until the order is: read past them.
      const msgs: Msg[] = [];
      while (msgs.filter((m) => m.type !== 'stream_size').length < pushes + acks) {
        const more = await read(o, 1);
        if (more.length === 0) break;
        msgs.push(...more);
      }
      got.set(o, msgs);
    }
    for (const x of sent) {
      const ack = got.get(x.c)!.find((m) => m.type === 'ack' && m.id === x.id);
      expect(ack, `${this}: ack of ${x.id}`).toBeDefined();
      x.seq = ack.seq;
    }
    sent.sort((a, b) => a.seq - b.seq);
    const expected = new Map<Client, Msg[]>(connected(sys).map((o) => [o, []]));
    for (const x of sent) {
      expect(sys.m.takeSeq(x.seq), `${this}`).toBeUndefined();
      sys.m.write(x.key, x.action, x.value, x.seq, x.c.id);
      const out = { type: 'push', key: x.key, value: x.value, seq: x.seq, client: x.c.id };
      for (const o of connected(sys)) if (o.subs.has(x.key)) expected.get(o)!.push(out);
      expected.get(x.c)!.push({ type: 'ack', id: x.id, seq: x.seq });
      const size = sys.m.size(x.key);
      if (size > 1) expected.get(x.c)!.push({ type: 'stream_size', key: x.key, size });
    }
    for (const o of connected(sys)) {
      const want = expected.get(o)!;
      const have = got.get(o)!;
      have.push(...(await read(o, want.length - have.length)));
      await settle(o, have, want, `${this}`);
    }
    for (const x of sent) for (const o of connected(sys)) if (o.subs.has(x.key)) seen(o, x.key, x.seq);
  }
  toString = () => `burst(${this.writes.map(([w, k, a, v]) => `${a}(c${w}, ${k}, ${JSON.stringify(v)})`).join(', ')})`;
}

class Compact implements Cmd {
  at = 0;
  readonly who: number;
  readonly key: string;
  readonly value: unknown;
  readonly pick: number;
  constructor(who: number, key: string, value: unknown, pick: number) {
    this.who = who;
    this.key = key;
    this.value = value;
    this.pick = pick;
  }
  check = (sys: Sys) => sys.clients[this.who]!.s !== undefined && sys.m.lastSeq > 0;
  async run(sys: Sys): Promise<void> {
    const c = sys.clients[this.who]!;
    this.at = compactAt(sys, this.key, this.pick);
    const id = `m${++sys.ids}`;
    c.s!.send(push(this.key, this.value, { type: 'compact', seq: this.at }, id));
    sys.m.compact(this.key, this.value, this.at, c.id);
    const size = sys.m.size(this.key);
    const mine: Msg[] = [
      { type: 'ack', id, seq: this.at },
      ...(size > 1 ? [{ type: 'stream_size', key: this.key, size }] : []),
    ];
    await observe(sys, new Map([[c, mine]]), `${this}`);
  }
  toString = () =>
    `compact(c${this.who}, ${this.key}, ${JSON.stringify(this.value)}, seq ${this.at || `pick ${this.pick}`})`;
}

type SubMode = { seq: number } | { last: number } | { all: true };
class Sub implements Cmd {
  from: SubMode | undefined;
  readonly who: number;
  readonly key: string;
  readonly mode: 'seq' | 'last' | 'all';
  readonly n: number;
  constructor(who: number, key: string, mode: 'seq' | 'last' | 'all', n: number) {
    this.who = who;
    this.key = key;
    this.mode = mode;
    this.n = n;
  }
  check = (sys: Sys) => sys.clients[this.who]!.s !== undefined;
  async run(sys: Sys): Promise<void> {
    const c = sys.clients[this.who]!;
    let frame: Msg;
    let want: Msg;
    if (this.mode === 'last') {
      const n = 1 + (this.n % 3);
      this.from = { last: n };
      frame = { type: 'sub', key: this.key, last: n };
      want = initOf(this.key, sys.m.last(this.key, n), false);
    } else if (this.mode === 'all') {
      this.from = { all: true };
      frame = { type: 'sub', key: this.key };
      want = initOf(this.key, sys.m.replay(this.key, 0).data, false);
    } else {
      const floor = sys.m.floor(this.key);
      const candidates = [
        0,
        c.subs.get(this.key) ?? 0,
        floor,
        floor - 1,
        sys.m.lastSeq,
        ...sys.m.replay(this.key, 0).data.map((e) => e.seq),
      ].filter((x) => x >= 0);
      const seq = candidates[this.n % candidates.length]!;
      this.from = { seq };
      frame = { type: 'sub', key: this.key, seq };
      const { data, reset } = sys.m.replay(this.key, seq);
      want = initOf(this.key, data, reset);
      seen(c, this.key, seq);
    }
    c.s!.send(frame);
    c.subs.set(this.key, c.subs.get(this.key) ?? 0);
    await observe(sys, new Map([[c, [want]]]), `${this}`);
    for (const e of want.data) seen(c, this.key, e.seq);
  }
  toString = () =>
    `sub(c${this.who}, ${this.key}, ${this.from ? JSON.stringify(this.from) : `${this.mode} ${this.n}`})`;
}

class Unsub implements Cmd {
  readonly who: number;
  readonly key: string;
  constructor(who: number, key: string) {
    this.who = who;
    this.key = key;
  }
  check = (sys: Sys) => sys.clients[this.who]!.s !== undefined && sys.clients[this.who]!.subs.has(this.key);
  async run(sys: Sys): Promise<void> {
    const c = sys.clients[this.who]!;
    c.s!.send({ type: 'unsub', key: this.key });
    c.subs.delete(this.key);
    await observe(sys, new Map(), `${this}`);
  }
  toString = () => `unsub(c${this.who}, ${this.key})`;
}

class Presence implements Cmd {
  readonly who: number;
  readonly state: unknown;
  constructor(who: number, state: unknown) {
    this.who = who;
    this.state = state;
  }
  check = (sys: Sys) => sys.clients[this.who]!.s !== undefined;
  async run(sys: Sys): Promise<void> {
    const c = sys.clients[this.who]!;
    c.s!.send({ type: 'presence', state: this.state });
    c.state = this.state;
    const peer = { conn: c.conn!, client: c.id, state: this.state };
    sys.m.join(peer);
    const others = connected(sys).filter((o) => o !== c);
    await observe(sys, new Map(others.map((o) => [o, [{ type: 'presence', event: 'update', peer }]])), `${this}`);
  }
  toString = () => `presence(c${this.who}, ${JSON.stringify(this.state)})`;
}

class Dm implements Cmd {
  readonly who: number;
  readonly to: number;
  readonly value: unknown;
  constructor(who: number, to: number, value: unknown) {
    this.who = who;
    this.to = to;
    this.value = value;
  }
  check = (sys: Sys) =>
    sys.clients[this.who]!.s !== undefined && this.who !== this.to && sys.clients[this.to]!.conn !== undefined;
  async run(sys: Sys): Promise<void> {
    const c = sys.clients[this.who]!;
    const t = sys.clients[this.to]!;
    const to = t.conn!;
    const id = `d${++sys.ids}`;
    c.s!.send({ type: 'dm', to, value: this.value, id });
    const expected = sys.m.present.has(to)
      ? new Map([[t, [{ type: 'dm', from: c.conn, value: this.value }]]])
      : new Map([
          [c, [{ type: 'error', code: 'no_such_connection', id, message: `No connection ${to} in this room` }]],
        ]);
    await observe(sys, expected, `${this}`);
  }
  toString = () => `dm(c${this.who} → c${this.to}, ${JSON.stringify(this.value)})`;
}

async function closedWithin(s: TestSocket, ms = READ_MS): Promise<void> {
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('socket not closed')), ms));
  await Promise.race([s.closed, timeout]);
}

class Drop implements Cmd {
  readonly who: number;
  constructor(who: number) {
    this.who = who;
  }
  check = (sys: Sys) => sys.clients[this.who]!.s !== undefined;
  async run(sys: Sys): Promise<void> {
    const c = sys.clients[this.who]!;
    c.s!.close();
    await closedWithin(c.s!);
    c.s = undefined;
    const peer = sys.m.leave(c.conn!)!;
    await observe(
      sys,
      new Map(connected(sys).map((o) => [o, [{ type: 'presence', event: 'leave', peer }]])),
      `${this}`,
    );
  }
  toString = () => `drop(c${this.who})`;
}

class Resume implements Cmd {
  readonly who: number;
  constructor(who: number) {
    this.who = who;
  }
  check = (sys: Sys) => sys.clients[this.who]!.s === undefined;
  run = (sys: Sys) => connectAs(sys, sys.clients[this.who]!);
  toString = () => `resume(c${this.who})`;
}

/**
 * A resume while another client appends: each subject's `init` comes before
 * any push of it, and the init and the pushes after it are together exactly
 * what followed the seq resumed from, with no gap and no duplicate.
 */
class ResumeUnderWrites implements Cmd {
  readonly who: number;
  readonly writer: number;
  readonly writes: [string, unknown][];
  constructor(who: number, writer: number, writes: [string, unknown][]) {
    this.who = who;
    this.writer = writer;
    this.writes = writes;
  }
  check = (sys: Sys) =>
    this.who !== this.writer && sys.clients[this.who]!.s === undefined && sys.clients[this.writer]!.s !== undefined;
  async run(sys: Sys): Promise<void> {
    const c = sys.clients[this.who]!;
    const w = sys.clients[this.writer]!;
    await connectAs(sys, c, false);
    const froms = [...c.subs];
    const resets = new Map(froms.map(([k, from]) => [k, sys.m.replay(k, from).reset]));
    const sent = this.writes.map(([key, value]) => ({ key, value, id: `m${++sys.ids}`, seq: 0 }));
    for (let i = 0; i < Math.max(froms.length, sent.length); i++) {
      const sub = froms[i];
      if (sub && BREAK !== 'no-resubscribe') c.s!.send({ type: 'sub', key: sub[0], seq: sub[1] });
      const x = sent[i];
      if (x) w.s!.send(push(x.key, x.value, 'append', x.id));
    }
    // The writer first: once its acks are in, every push has gone out.
    const mine: Msg[] = [];
    while (mine.filter((m) => m.type === 'ack').length < sent.length) {
      const more = await read(w, 1);
      if (more.length === 0) break;
      mine.push(...more);
    }
    for (const x of sent) {
      const ack = mine.find((m) => m.type === 'ack' && m.id === x.id);
      expect(ack, `${this}: ack of ${x.id}`).toBeDefined();
      x.seq = ack.seq;
    }
    sent.sort((a, b) => a.seq - b.seq);
    const expected = new Map<Client, Msg[]>(connected(sys).map((o) => [o, []]));
    for (const x of sent) {
      expect(sys.m.takeSeq(x.seq), `${this}`).toBeUndefined();
      sys.m.write(x.key, 'append', x.value, x.seq, w.id);
      const out = { type: 'push', key: x.key, value: x.value, seq: x.seq, client: w.id };
      for (const o of connected(sys)) if (o !== c && o.subs.has(x.key)) expected.get(o)!.push(out);
      expected.get(w)!.push({ type: 'ack', id: x.id, seq: x.seq });
      const size = sys.m.size(x.key);
      if (size > 1) expected.get(w)!.push({ type: 'stream_size', key: x.key, size });
    }
    const want = expected.get(w)!;
    mine.push(...(await read(w, want.length - mine.length)));
    await settle(w, mine, want, `${this}`);
    for (const o of connected(sys))
      if (o !== c && o !== w) await settle(o, await read(o, expected.get(o)!.length), expected.get(o)!, `${this}`);
    // The resumed client: per subject, its init, then live pushes.
    const got = await c.s!.drain();
    for (const [key, from] of froms) {
      const mineOfKey = got.filter((m) => m.key === key);
      expect(mineOfKey[0], `${c.name}'s first message of ${key} in ${this}`).toMatchObject({ type: 'init', key });
      const reset = resets.get(key)!;
      expect(mineOfKey[0].reset === true, `${key} reset in ${this}`).toBe(reset);
      const entries = [
        ...mineOfKey[0].data,
        ...mineOfKey.slice(1).map((m) => {
          expect(m.type, `${c.name} after its init of ${key} in ${this}`).toBe('push');
          return { value: m.value, seq: m.seq, client: m.client };
        }),
      ];
      expect(entries, `${c.name}'s ${key} from seq ${from} in ${this}`).toEqual(
        reset ? sys.m.replay(key, 0).data : sys.m.replay(key, from).data,
      );
      for (const e of entries) seen(c, key, e.seq);
    }
    expect(
      got.filter((m) => !c.subs.has(m.key)),
      `${c.name}: anything else in ${this}`,
    ).toEqual([]);
  }
  toString = () =>
    `resumeUnderWrites(c${this.who}, c${this.writer} appends ${this.writes.map(([k, v]) => `${k}:${JSON.stringify(v)}`).join(' ')})`;
}

class Evict implements Cmd {
  readonly webSockets: 'hibernate' | 'close';
  constructor(webSockets: 'hibernate' | 'close') {
    this.webSockets = webSockets;
  }
  check = (sys: Sys) => connected(sys).length > 0;
  async run(sys: Sys): Promise<void> {
    // Only a running object can be evicted: a ping over HTTP wakes it, as any request would.
    const woke = await http(`/room/${sys.room}/send`, {
      method: 'POST',
      body: JSON.stringify({ type: 'ping', nonce: 1 }),
    });
    expect(woke.status).toBe(200);
    await evictDurableObject(roomStub(sys.room), { webSockets: this.webSockets });
    if (this.webSockets === 'hibernate') return observe(sys, new Map(), `${this}`);
    // Every socket is closed, and nobody is left to see anyone leave.
    for (const c of connected(sys)) {
      await closedWithin(c.s!);
      const late = await c.s!.next(50).catch(() => undefined);
      expect(late, `${c.name} after ${this}`).toBeUndefined();
      c.s = undefined;
      sys.m.leave(c.conn!);
    }
  }
  toString = () => `evict(${this.webSockets})`;
}

// ---- the property ----------------------------------------------------------

const who = fc.integer({ min: 0, max: CLIENTS - 1 });
const key = fc.constantFrom(...KEYS);
const value = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.string({ maxLength: 4 }),
  fc.boolean(),
  fc.constant(null),
  fc.record({ x: fc.integer({ min: 0, max: 9 }) }),
);
const write = fc
  .tuple(who, key, fc.constantFrom<Action>('relay', 'replace', 'append', 'append'), value, fc.boolean())
  .map(([w, k, a, v, i]) => new Write(w, k, a, v, i));
const sub = fc
  .tuple(who, key, fc.constantFrom('seq', 'seq', 'last', 'all'), fc.nat(1000))
  .map(([w, k, m, n]) => new Sub(w, k, m as 'seq', n));
// Counted pushes: mostly over a socket, now and then over HTTP; any client under any origin.
const via: fc.Arbitrary<Via> = fc.oneof({ arbitrary: who, weight: 3 }, { arbitrary: fc.constant('http'), weight: 1 });
const origin = fc.integer({ min: 0, max: ORIGINS.length - 1 });
// Mostly the next number; now and then a jump of just under a window, or of a whole one (the
// numbers before it become expired).
const gap = fc.constantFrom(1, 1, 1, 1, 2, 3, ORIGIN_WINDOW - 1, ORIGIN_WINDOW);
const mint = fc
  .tuple(
    via,
    origin,
    key,
    fc.constantFrom<Action | 'compact'>('relay', 'replace', 'append', 'append', 'compact'),
    value,
    gap,
    fc.nat(1000),
    fc.constantFrom(false, false, false, true),
  )
  .map(([w, o, k, a, v, g, p, h]) => new MintCounted(w, o, k, a, v, g, p, h));
const resend = fc.tuple(via, fc.nat(1000), fc.boolean()).map(([w, p, i]) => new Resend(w, p, i));
const countedBurst = fc
  .array(
    fc.tuple(
      who,
      origin,
      key,
      fc.constantFrom<Action>('relay', 'replace', 'append', 'append'),
      value,
      fc.constantFrom('fresh', 'fresh', 'again', 'again', 'old'),
      fc.nat(1000),
    ),
    { minLength: 2, maxLength: 5 },
  )
  .map((items) => new CountedBurst(items));
// fc.commands picks each arbitrary alike: writes and subs are listed more than once to weigh more.
const commands = fc.commands(
  [
    write,
    write,
    write,
    sub,
    fc
      .tuple(who, key, fc.constantFrom<Action>('append', 'replace'), value)
      .map(([w, k, a, v]) => new Write(w, k, a, v, true)),
    fc.tuple(who, key, value, fc.nat(1000)).map(([w, k, v, p]) => new Compact(w, k, v, p)),
    fc
      .array(fc.tuple(who, key, fc.constantFrom<Action>('relay', 'replace', 'append', 'append'), value), {
        minLength: 2,
        maxLength: 6,
      })
      .map((ws) => new Burst(ws)),
    sub,
    fc.tuple(who, key).map(([w, k]) => new Unsub(w, k)),
    fc.tuple(who, fc.record({ n: fc.integer({ min: 0, max: 99 }) })).map(([w, s]) => new Presence(w, s)),
    fc.tuple(who, who, value).map(([w, t, v]) => new Dm(w, t, v)),
    who.map((w) => new Drop(w)),
    who.map((w) => new Resume(w)),
    fc
      .tuple(who, who, fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 6 }))
      .map(([w, x, ws]) => new ResumeUnderWrites(w, x, ws)),
    fc.constantFrom<'hibernate' | 'close'>('hibernate', 'close').map((w) => new Evict(w)),
    mint,
    mint,
    resend,
    resend,
    countedBurst,
    fc.tuple(via, origin, key, value, fc.nat(2)).map(([w, o, k, v, b]) => new Stale(w, o, k, v, b)),
  ],
  { maxCommands: 80, size: 'max' },
);

describe('a room against its model', () => {
  it('agrees on every observation, under drops, resumes and evictions', async () => {
    let cases = 0;
    let steps = 0;
    const tally = new Map<string, number>();
    const counted = new WeakSet<object>();
    // The steps of the case running, as each ran. fast-check reuses a command in every shrink it
    // tries, so the values a step resolves as it runs (a push's n, a compaction's seq) are printed
    // as of the failing case here, and in the counterexample as of whichever case ran last.
    let trace: string[] = [];
    let failing: string[] = [];
    const started = Date.now();
    console.log(
      `model: ${RUNS} cases, seed ${SEED}${BREAK ? `, broken on purpose: ${BREAK}` : ''} (MODEL_SEED=${SEED} replays them)`,
    );
    try {
      await fc.assert(
        fc.asyncProperty(commands, async (cmds) => {
          cases++;
          trace = [];
          const sys: Sys = {
            room: freshRoom('model'),
            m: new RoomModel(),
            ids: 0,
            outbox: [],
            minted: ORIGINS.map(() => 0),
            clients: Array.from({ length: CLIENTS }, (_, i) => ({
              name: `c${i}`,
              id: idOf(`c${i}`),
              subs: new Map(),
              state: null,
            })),
          };
          try {
            for (const c of sys.clients) await connectAs(sys, c);
            for (const cmd of cmds) {
              if (counted.has(cmd)) continue;
              counted.add(cmd);
              const run = cmd.run.bind(cmd);
              const inner = (cmd as unknown as { cmd?: Cmd }).cmd ?? cmd; // fast-check wraps each command
              const name = inner instanceof Write ? inner.action : inner.constructor.name;
              cmd.run = async (m, r) => {
                tally.set(name, (tally.get(name) ?? 0) + 1);
                steps++;
                try {
                  await run(m, r);
                } finally {
                  trace.push(`${inner}`);
                }
              };
            }
            await fc.asyncModelRun(() => ({ model: sys, real: sys }), cmds);
          } catch (err) {
            failing = trace;
            throw err;
          } finally {
            for (const c of sys.clients) c.s?.close();
          }
        }),
        { numRuns: RUNS, seed: SEED },
      );
    } catch (err) {
      console.log(
        `model: failed after ${cases} runs (shrinking included), seed ${SEED}\n${(err as Error).message}\n` +
          `model: the shrunk counterexample as it ran (the last step failed):\n  ${failing.join('\n  ')}`,
      );
      throw err;
    }
    console.log(
      `model: ${RUNS} cases (${steps} steps) passed in ${((Date.now() - started) / 1000).toFixed(1)} s, seed ${SEED}: ${[...tally].map(([k, n]) => `${k} ${n}`).join(', ')}; counted pushes sent: ${[...fates].map(([k, n]) => `${k} ${n}`).join(', ')}`,
    );
  }, 3_600_000);
});
