// @ts-check
/**
 * One room of the soak: a fixed number of our clients (members) and a few
 * plain DriftDB-style sockets, and what the soak checks in it at the end.
 *
 * Members say hello with a presence state and subscribe to `chat` (a stream,
 * replayed from the start), `state` (key/value), `cursor` (relays, live only)
 * and `log` (a stream compacted now and then, subscribed to its last 5).
 * `tick()` does one random operation; `churn()` one membership change: a
 * member leaves and a new one joins, a member is cut off for a second or two
 * (it reconnects and resumes what it missed), or a member unsubscribes from `chat` and subscribes again.
 * `check()` then compares what everyone holds with what the room stored.
 */
import WebSocket from 'ws';
import { connect } from '../../../client/index.ts';
import { RawSocket } from './raw.mjs';
import { readStream } from './server.mjs';
import { until, within } from './wait.mjs';

/** @typedef {{ seq: number, value: any }} Row */
/** @typedef {import('../../../client/index.ts').Room} Room */
/**
 * What `tick` does: 'all' (the mixed load), or one kind only, to tell apart what
 * costs memory: 'relays' (stored nothing), 'appends' (chat appends only), 'none'.
 * @typedef {'all' | 'relays' | 'appends' | 'none'} Mix
 */

/** Tallies shared by every room of a soak. */
export function tallies() {
  return {
    relays: 0,
    appends: 0,
    sets: 0,
    presence: 0,
    dms: 0,
    dmsIn: 0,
    logAppends: 0,
    compactions: 0,
    joins: 0,
    leaves: 0,
    cuts: 0,
    resubs: 0,
    resets: 0,
    /** Error events and rejected publishes, apart from those of a member we closed ourselves. */
    errors: 0,
    /** dms to a member who left meanwhile: expected under churn, counted apart. */
    dmsGone: 0,
    /** Reconnects nobody caused: a socket the room or the runtime closed. */
    unexpectedDrops: 0,
    /** @type {string[]} */
    samples: [],
  };
}

export class SoakRoom {
  /** @type {Member[]} */
  members = [];
  /** @type {{ s: RawSocket, seqs: number[], chat: Row[] }[]} */
  plain = [];
  /** Every chat value sent (`r:i`), and the seq it was acknowledged with. */
  chat = { issued: new Set(), /** @type {Map<string, number>} */ acked: new Map() };
  /**
   * Acknowledged log appends, the seq of the last acknowledged compaction, and the seq of every
   * compaction sent: one whose member left before its ack may have been applied all the same.
   */
  log = {
    /** @type {Map<string, number>} */ acked: new Map(),
    issued: new Set(),
    compactedAt: 0,
    /** @type {Set<number>} */ compactions: new Set(),
  };
  /** @type {Set<Promise<unknown>>} */
  inflight = new Set();
  #n = 0;

  /**
   * @param {{ origin: string, room: string, socketUrl: string, index: number, size: number, plainSockets: number,
   *   random: () => number, tally: ReturnType<typeof tallies>, mix?: Mix }} options
   */
  constructor(options) {
    this.o = options;
  }

  async open() {
    for (let i = 0; i < this.o.plainSockets; i++) {
      /** @type {{ s: RawSocket, seqs: number[], chat: Row[] }} */
      const p = { s: /** @type {any} */ (undefined), seqs: [], chat: [] };
      p.s = new RawSocket(this.o.socketUrl, (m) => {
        if (m.type !== 'push') return;
        p.seqs.push(m.seq);
        if (m.key === 'chat') p.chat.push({ seq: m.seq, value: m.value });
      });
      await within(p.s.opened, 30_000, 'a plain socket to open');
      await p.s.ping();
      this.plain.push(p);
    }
    for (let i = 0; i < this.o.size; i++) this.members.push(this.#join());
    await until(
      () => this.members.every((m) => m.room.status === 'open'),
      60_000,
      `room ${this.o.index}'s members to open`,
    );
  }

  #join() {
    const m = new Member(this.o.socketUrl, this.#n++, this.o.random, this.o.tally);
    return m;
  }

  /** @param {number} k */
  #pick(k = this.members.length) {
    return /** @type {Member} */ (this.members[Math.floor(this.o.random() * k)]);
  }

  /**
   * A publish whose promise the soak tracks: rejected only when its member closed.
   * @param {Member} m
   * @param {Promise<number>} promise
   * @param {(seq: number) => void} [done]
   */
  #track(m, promise, done) {
    const p = promise.then(done, (error) => {
      if (!m.closed) {
        this.o.tally.errors++;
        this.o.tally.samples.length < 10 && this.o.tally.samples.push(`publish refused: ${error}`);
      }
    });
    this.inflight.add(p);
    p.finally(() => this.inflight.delete(p));
  }

  /** One random operation by a random open member. */
  tick() {
    const m = this.#pick();
    if (m.room.status !== 'open') return;
    const t = this.o.tally;
    const mix = this.o.mix ?? 'all';
    if (mix === 'none') return;
    // One kind only: a roll in its band of the mixed load, so values look alike.
    const roll =
      mix === 'relays' ? 0.3 * this.o.random() : mix === 'appends' ? 0.3 + 0.2 * this.o.random() : this.o.random();
    const r = this.o.index;
    if (roll < 0.3) {
      t.relays++;
      this.#track(m, m.room.publish('cursor', { x: Math.floor(roll * 1000) }));
    } else if (roll < 0.5) {
      const name = `${r}:${t.appends++}`;
      this.chat.issued.add(name);
      this.#track(m, m.room.append('chat', { name, text: 'x'.repeat(64) }), (seq) => this.chat.acked.set(name, seq));
    } else if (roll < 0.65) {
      t.sets++;
      this.#track(m, m.room.set('state', { v: t.sets }));
    } else if (roll < 0.8) {
      t.presence++;
      m.room.setPresence({ n: m.n, t: t.presence });
    } else if (roll < 0.9) {
      const peer = [...m.room.peers.keys()][Math.floor(this.o.random() * m.room.peers.size)];
      if (peer !== undefined) {
        t.dms++;
        m.room.dm(peer, { from: m.n });
      }
    } else {
      const name = `${r}:log:${t.logAppends++}`;
      this.log.issued.add(name);
      this.#track(m, m.room.append('log', { name }), (seq) => this.log.acked.set(name, seq));
    }
  }

  /** One membership change. */
  churn() {
    const t = this.o.tally;
    const roll = this.o.random();
    const i = Math.floor(this.o.random() * this.members.length);
    const m = /** @type {Member} */ (this.members[i]);
    if (roll < 0.4) {
      m.close();
      this.members[i] = this.#join();
      t.leaves++;
      t.joins++;
    } else if (roll < 0.8) {
      // Away for 0.5 to 2 s, long enough for several values to be appended meanwhile.
      if (m.cut(500 + 1500 * this.o.random())) t.cuts++;
    } else {
      m.resubscribe();
      t.resubs++;
    }
  }

  /** Compacts `log` at the seq of its latest acknowledged append, keeping a snapshot there. */
  compact() {
    const m = this.#pick();
    const seq = Math.max(0, ...this.log.acked.values());
    if (m.room.status !== 'open' || seq <= this.log.compactedAt) return;
    this.o.tally.compactions++;
    this.log.compactions.add(seq);
    this.#track(
      m,
      m.room.compact('log', seq, { snapshot: seq }),
      () => (this.log.compactedAt = Math.max(this.log.compactedAt, seq)),
    );
  }

  /**
   * After the load: what the room stored against what everyone holds.
   * @param {number} timeoutMs
   */
  async check(timeoutMs) {
    /** @type {string[]} */
    const problems = [];
    const say = (/** @type {string} */ text) => problems.length < 20 && problems.push(`room ${this.o.index}: ${text}`);
    await within(Promise.all(this.inflight), timeoutMs, 'the last publishes to be answered');
    const chat = await readStream(this.o.origin, this.o.room, 'chat');
    const names = chat.map((row) => row.value.name);
    if (new Set(names).size !== names.length) say('a chat value is stored twice');
    for (const name of names) if (!this.chat.issued.has(name)) say(`chat holds ${name}, which nobody sent`);
    const seqOf = new Map(chat.map((row) => [row.value.name, row.seq]));
    for (const [name, seq] of this.chat.acked)
      if (seqOf.get(name) !== seq) say(`chat ${name} acknowledged at ${seq}, stored at ${seqOf.get(name)}`);
    // Everyone's chat, replayed from the start and resumed across cuts, is the stored stream.
    const want = JSON.stringify(chat);
    await until(
      () =>
        this.members.every((m) => m.chat.length >= chat.length) &&
        this.plain.every((p) => p.chat.length >= chat.length),
      timeoutMs,
      'every member to hold the whole chat',
    ).catch((e) => say(String(e)));
    this.members.forEach(
      (m) =>
        JSON.stringify(m.chat) === want ||
        say(`member ${m.n} holds ${m.chat.length} chat values, ${chat.length} stored, or others`),
    );
    this.plain.forEach((p, i) => {
      if (JSON.stringify(p.chat) !== want)
        say(`plain socket ${i} received ${p.chat.length} chat values, ${chat.length} stored`);
      if (p.seqs.some((seq, k) => k > 0 && seq <= (p.seqs[k - 1] ?? 0)))
        say(`plain socket ${i} received a seq twice or out of order`);
      if (p.s.errors.length || p.s.unexpectedClose !== undefined)
        say(`plain socket ${i}: ${JSON.stringify(p.s.errors)} close ${p.s.unexpectedClose}`);
    });
    // The compacted log: the last snapshot, then every acknowledged append after it, once.
    const log = await readStream(this.o.origin, this.o.room, 'log');
    const after = log.filter((row) => row.value.name !== undefined);
    // A later compaction than the last acknowledged one, sent by a member that left before its ack, may have been
    // applied: the log then starts with its snapshot, and what it folded away is not missing.
    const head = log[0];
    const compactedAt =
      head && head.value.name === undefined && head.seq > this.log.compactedAt && this.log.compactions.has(head.seq)
        ? head.seq
        : this.log.compactedAt;
    if (compactedAt && head?.seq !== compactedAt) say(`log starts at ${head?.seq}, compacted at ${compactedAt}`);
    if (new Set(after.map((row) => row.value.name)).size !== after.length) say('a log value is stored twice');
    for (const [name, seq] of this.log.acked) {
      if (seq > compactedAt && !after.some((row) => row.value.name === name && row.seq === seq))
        say(`log ${name} (seq ${seq}) is missing`);
    }
    // Key/value: everyone ends with the stored value; presence: everyone sees everyone else.
    const state = (await readStream(this.o.origin, this.o.room, 'state')).at(-1)?.value;
    await until(
      () => this.members.every((m) => JSON.stringify(m.room.get('state')) === JSON.stringify(state)),
      timeoutMs,
      'every member to hold the stored state',
    ).catch((e) => say(String(e)));
    await until(
      () => this.members.every((m) => m.room.peers.size === this.members.length - 1),
      timeoutMs,
      () => `every member to see the others (${this.members.map((m) => m.room.peers.size).join(',')})`,
    ).catch((e) => say(String(e)));
    for (const m of this.members) if (m.logOutOfOrder) say(`member ${m.n} got log values out of order`);
    return problems;
  }

  async close() {
    for (const m of this.members) m.close();
    await Promise.all(this.plain.map((p) => p.s.close()));
  }
}

/** One of our clients in a soak room. */
class Member {
  /** @type {Row[]} */
  chat = [];
  closed = false;
  logOutOfOrder = false;
  #expectDrop = false;
  /** @type {WebSocket[]} */
  #sockets = [];
  /** Until then (performance.now()), its dials go nowhere: it is cut off. */
  #awayUntil = 0;
  /** @type {() => void} */
  #offChat = () => {};

  /**
   * @param {string} url
   * @param {number} n
   * @param {() => number} random
   * @param {ReturnType<typeof tallies>} tally
   */
  constructor(url, n, random, tally) {
    this.n = n;
    this.tally = tally;
    const sockets = this.#sockets;
    const away = () => performance.now() < this.#awayUntil;
    class Tracked extends WebSocket {
      /**
       * @param {string} address
       * @param {string[]} [protocols] the client's: `edgeroom.v1` and its early frames (its hello and subs)
       */
      constructor(address, protocols = []) {
        // While cut off, a dial goes to a port nobody listens on and fails, as on a dead network.
        super(away() ? 'ws://127.0.0.1:9/' : address, protocols, { perMessageDeflate: false });
        sockets.splice(0, sockets.length, this);
      }
    }
    // The client's default backoff (250 ms to 15 s), as in a browser.
    this.room = connect(url, { WebSocket: Tracked, random, presence: { n } });
    this.room.on('status', (status) => {
      if (status === 'reconnecting' && !this.#expectDrop) tally.unexpectedDrops++;
      if (status === 'open') this.#expectDrop = false;
    });
    this.room.on('error', (error) => {
      if (error.code === 'no_such_connection') return void tally.dmsGone++;
      tally.errors++;
      tally.samples.length < 10 && tally.samples.push(`member error: ${error.code} ${error.message}`);
    });
    this.room.on('dm', () => tally.dmsIn++);
    this.#subscribeChat();
    this.room.subscribe('state', () => {});
    this.room.subscribe('cursor', () => {}, { replay: false });
    let lastLog = 0;
    this.room.subscribe(
      'log',
      (event) => {
        if (event.type === 'reset') {
          tally.resets++;
          lastLog = 0;
        } else if (event.type === 'message') {
          if (event.seq <= lastLog) this.logOutOfOrder = true;
          lastLog = event.seq;
        }
      },
      { last: 5 },
    );
  }

  #subscribeChat() {
    this.chat = [];
    this.#offChat = this.room.subscribe('chat', (event) => {
      if (event.type === 'message') this.chat.push({ seq: event.seq, value: event.value });
      else {
        this.tally.errors++;
        this.tally.samples.length < 10 && this.tally.samples.push(`chat ${event.type} at member ${this.n}`);
      }
    });
  }

  resubscribe() {
    this.#offChat();
    this.#subscribeChat();
  }

  /**
   * Cuts the socket without a closing handshake and keeps the client off the network for
   * `awayMs`; it reconnects with its backoff and resumes.
   * @param {number} awayMs
   */
  cut(awayMs) {
    const socket = this.#sockets[0];
    if (this.room.status !== 'open' || socket?.readyState !== WebSocket.OPEN) return false;
    this.#expectDrop = true;
    this.#awayUntil = performance.now() + awayMs;
    socket.terminate();
    return true;
  }

  close() {
    this.closed = true;
    this.room.close();
  }
}
