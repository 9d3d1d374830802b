/**
 * Crash and restart: the room's workerd process is frozen (SIGSTOP) and then
 * killed with SIGKILL in the middle of a stream of appends, and the server is started again on the same
 * port with the same state directory, as `npm run dev` would be after a crash.
 *
 * Several publishers append `{ p, i }` values through our client and several
 * subscribers (our client, from checkpoint 0) listen. The kill comes after the
 * K-th acknowledgement, K drawn from the seed. Nobody tells the clients: they
 * notice the drop, reconnect to their original URL with backoff, resend what
 * was not acknowledged and resume their subscriptions, until every publisher
 * has had PER_PUBLISHER appends acknowledged. Then:
 *
 * - every acknowledged write is stored exactly once, at the seq it was
 *   acknowledged with (read back over HTTP `get`, page by page);
 * - no value is stored twice, and each publisher's values are in its order;
 * - every subscriber received every stored value exactly once, in seq order;
 * - what was stored at the crash (read from the room's SQLite file while the
 *   process is dead) includes every write acknowledged before it, and every
 *   write stored after the restart has a seq above every one used before;
 * - a write sent but not acknowledged at the crash is stored once, either
 *   before the crash (its resend is answered with the original seq) or after.
 *
 * A real crash loses the ack of a committed write only if it strikes in the
 * microseconds between the commit and the send (acks already written reach the
 * client from the kernel's buffers after the process is gone), so few runs
 * would resend a stored write by themselves. A few acks before the kill, one
 * publisher's socket therefore starts dropping the acks it receives
 * (crash/wire.ts): those writes are stored, unacknowledged at the crash, and
 * resent after the restart, so every run makes the room recognise resends
 * from the IDs it persisted before it died.
 *
 * Which process: `startServer` runs wrangler's proxy workerd (it owns the port)
 * and the user workerd (the worker and its Durable Objects), both children of
 * this process. Only the latter has the room's SQLite files open under the
 * state directory, so that one alone is killed (test/e2e/crash/processes.ts).
 * The old server is stopped in the same tick, which stops the proxy (freeing
 * the port) and keeps miniflare from restarting the dead runtime by itself; the
 * test checks that the state directory did not change between the crash and
 * its own restart.
 *
 * Three runs with random seeds; CRASH_SEED=<n> replays one.
 */
import { afterAll, afterEach, expect, it } from 'vitest';
import { createRoom, type Room } from '../../client/index.ts';
import { closeAll, open, recorder, seeded } from './client-harness.ts';
import { waitFor } from './wait.ts';
import { alive, listeningWorkerds, roomWorkerds } from './crash/processes.ts';
import { storedAtCrash, type StoredRow } from './crash/snapshot.ts';
import { wire as watchWire } from './crash/wire.ts';
import { LIMITS_OUT_OF_THE_WAY, startServer, type TestServer } from './server.ts';

const SUBJECT = 'log';
const PUBLISHERS = 4;
const PER_PUBLISHER = 1000;
const WINDOW = 20; // appends in flight per publisher
const SUBSCRIBERS = 3;
const RUNS = 3;
const TOTAL = PUBLISHERS * PER_PUBLISHER;

// Throughput and per-address limits are not what this tests: raised out of the
// way, so reconnects and resends are never refused.
const VARS = LIMITS_OUT_OF_THE_WAY;

type Value = { p: number; i: number };
const name = (v: Value): string => `${v.p}:${v.i}`;

/** Races `promise` against a deadline. */
function within<T>(promise: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    const text = () => (typeof what === 'string' ? what : what());
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${text()}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** The whole stream of `subject`, read over HTTP `get`, a page at a time. */
async function readStream(base: string, room: string, subject: string): Promise<StoredRow[]> {
  const rows: StoredRow[] = [];
  for (let seq = 0, pages = 0; ; pages++) {
    if (pages > 1000) throw new Error('more than 1000 pages');
    const response = await fetch(`${base}/room/${room}/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'get', key: subject, seq }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(response.status).toBe(200);
    const page = (await response.json()) as { type: string; data: StoredRow[]; more?: boolean };
    expect(page.type).toBe('init');
    rows.push(...page.data.map(({ seq, value }) => ({ seq, value })));
    if (!page.more) return rows;
    seq = page.data.at(-1)!.seq;
  }
}

const servers: TestServer[] = [];
const figures: string[] = [];
afterEach(async () => {
  closeAll();
  for (const server of servers.splice(0)) await within(server.stop(), 15_000, 'a server to stop').catch(() => {});
});
afterAll(() => {
  console.log(
    `crash-restart, ${PUBLISHERS} publishers × ${PER_PUBLISHER} appends, ${SUBSCRIBERS} subscribers:\n${figures.join('\n')}`,
  );
});

const seeds =
  process.env.CRASH_SEED !== undefined
    ? [Number(process.env.CRASH_SEED)]
    : Array.from({ length: RUNS }, () => Math.floor(Math.random() * 2 ** 31));

for (const seed of seeds) {
  it(`stores and delivers every write once across a SIGKILL of the room's process and a restart (seed ${seed})`, async () => {
    console.log(`crash seed ${seed} (replay: CRASH_SEED=${seed})`);
    const random = seeded(seed);
    const started = Date.now();
    let server = await startServer(VARS);
    servers.push(server);
    const { room: roomId, socket_url: url } = await createRoom(server.url);

    let killedAt = 0;
    const reconnects = { count: 0, lastOpenAt: 0 };
    const watch = (room: Room): Room => {
      room.on('status', (status) => {
        if (status === 'reconnecting') reconnects.count++;
        if (status === 'open' && killedAt) reconnects.lastOpenAt = Date.now();
      });
      return room;
    };
    const listeners = Array.from({ length: SUBSCRIBERS }, () => watch(open(url, { random })));
    const subscribers = listeners.map((room) => {
      const rec = recorder<Value>();
      room.subscribe(SUBJECT, rec.listener, { seq: 0 });
      return rec;
    });
    const wire = { sent: new Map<string, number>(), acked: new Set<string>() };
    const wires = Array.from({ length: PUBLISHERS }, () => watchWire((value) => name(value as Value), wire));
    const publishers = wires.map((w) => watch(open(url, { random, WebSocket: w.WebSocket })));
    await waitFor(
      () => [...listeners, ...publishers].every((r) => r.status === 'open'),
      10_000,
      'every client to open',
    );

    // The crash: after the K-th acknowledgement, K in the middle 60% of the stream.
    const killAfter = Math.floor(TOTAL * (0.2 + 0.6 * random()));
    // From a few acks before it, one publisher's acks are lost on the way, as those of writes
    // committed but not yet sent when the process dies would be (see crash/wire.ts): its
    // writes from then on are stored but unacknowledged, and resent after the restart.
    const unlucky = Math.floor(random() * PUBLISHERS);
    const loseFrom = killAfter - Math.floor(WINDOW * (0.5 + random()));
    let acks = 0;
    let crashed!: { resolve(): void; reject(error: unknown): void };
    const crash = new Promise<void>((resolve, reject) => void (crashed = { resolve, reject }));
    let preMax = Infinity;
    /** Per publisher: index → ack seq; and which were issued but unacknowledged at the kill. */
    const ackSeq = publishers.map(() => new Map<number, number>());
    let ackedAtKill = new Set<string>();
    let issuedAtKill = 0;
    const inFlightAtKill = new Set<string>();
    const issued = publishers.map(() => 0);
    const seenBeforeKill = { max: 0 };
    let firstNewAckAt = 0;
    let preCrash: { rows: StoredRow[]; reserved: number } | undefined;
    let killedPids: number[] = [];
    let backAt = 0;

    const kill = async (): Promise<void> => {
      const room = roomWorkerds(server.persist);
      const proxy = listeningWorkerds(server.port);
      expect(room.length, 'the workerd holding the room').toBe(1);
      expect(proxy.length, 'the workerd listening on the port').toBe(1);
      expect(proxy).not.toEqual(room);
      killedPids = room; // the proxy lives on until the old server is stopped, below
      // The crash: frozen, the process does nothing more from this instant. miniflare then
      // SIGKILLs it itself as the server stops. A SIGKILL from here raced miniflare, which
      // restarts a runtime that dies while it is not yet stopping: under load the restarted
      // runtime took writes before the test's own restart (twice in one session).
      for (const pid of killedPids) process.kill(pid, 'SIGSTOP');
      killedAt = Date.now();
      const stopped = within(server.stop({ keepState: true }), 15_000, 'the crashed server to stop');
      // Sent (or queued) and not acknowledged: the writes the crash may or may not have stored.
      // (Acks on the wire count: the client may not have resolved their promises yet.)
      publishers.forEach((_, p) => {
        for (let i = 0; i < issued[p]!; i++) if (!wire.acked.has(`${p}:${i}`)) inFlightAtKill.add(`${p}:${i}`);
      });
      ackedAtKill = new Set(wire.acked);
      issuedAtKill = issued.reduce((a, b) => a + b, 0);
      seenBeforeKill.max = Math.max(0, ...subscribers.flatMap((s) => s.seqs()));
      await waitFor(() => killedPids.every((pid) => !alive(pid)), 5000, 'the killed workerd to die');
      preCrash = storedAtCrash(server.persist, SUBJECT);
      preMax = Math.max(0, ...preCrash.rows.map((r) => r.seq));
      const { port, persist } = server;
      await stopped;
      // Nothing ran on that state between the crash and our restart (miniflare restarts a
      // crashed runtime by itself unless the server is being stopped).
      expect(storedAtCrash(server.persist, SUBJECT)).toEqual(preCrash);
      servers.splice(servers.indexOf(server), 1);
      server = await within(startServer(VARS, { port, persist }), 30_000, 'the server to restart');
      backAt = Date.now();
      servers.push(server);
    };

    const publish = async (p: number): Promise<void> => {
      const room = publishers[p]!;
      let next = 0;
      const one = async (): Promise<void> => {
        while (next < PER_PUBLISHER) {
          const i = next++;
          issued[p] = next;
          const seq = await room.append(SUBJECT, { p, i } satisfies Value);
          ackSeq[p]!.set(i, seq);
          if (killedAt && !firstNewAckAt && seq > preMax) firstNewAckAt = Date.now();
          if (++acks === loseFrom) wires[unlucky]!.loseAcks();
          if (acks === killAfter) kill().then(crashed.resolve, crashed.reject);
        }
      };
      await Promise.all(Array.from({ length: WINDOW }, one));
    };
    // A failed kill or restart fails at once instead of leaving the publishers waiting.
    await within(
      Promise.all([crash, ...publishers.map((_, p) => publish(p))]),
      40_000,
      () =>
        `every publisher to be acknowledged (acknowledged: ${ackSeq.map((m) => m.size).join(', ')} of ${PER_PUBLISHER} each)`,
    );
    const doneAt = Date.now();

    // What the room holds now, over HTTP from the restarted server.
    const stored = await readStream(server.url, roomId, SUBJECT);
    const seqs = stored.map((r) => r.seq);
    await waitFor(
      () => subscribers.every((s) => s.seqs().length >= stored.length),
      20_000,
      'the subscribers to catch up',
    );

    // Each of the TOTAL writes stored exactly once, nothing else stored, seqs increasing.
    const names = stored.map((r) => name(r.value as Value));
    expect(new Set(names).size, 'a value stored twice').toBe(names.length);
    const expected = publishers.flatMap((_, p) => Array.from({ length: PER_PUBLISHER }, (_, i) => `${p}:${i}`));
    expect(names.toSorted()).toEqual(expected.toSorted());
    expect(seqs).toEqual(seqs.toSorted((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    // Stored at the seq it was acknowledged with; each publisher's values in its order.
    const seqOf = new Map(stored.map((r) => [name(r.value as Value), r.seq]));
    publishers.forEach((_, p) => {
      expect(ackSeq[p]!.size).toBe(PER_PUBLISHER);
      for (const [i, seq] of ackSeq[p]!) expect(seqOf.get(`${p}:${i}`), `ack of ${p}:${i}`).toBe(seq);
      const mine = stored.filter((r) => (r.value as Value).p === p).map((r) => (r.value as Value).i);
      expect(mine).toEqual(Array.from({ length: PER_PUBLISHER }, (_, i) => i));
    });

    // Every subscriber: exactly the stored stream, in order, no reset, no duplicate.
    for (const sub of subscribers) {
      expect(sub.events.filter((e) => e.type !== 'message').map((e) => e.type)).toEqual([]);
      expect(sub.seqs()).toEqual(seqs);
      expect(sub.events.map((e) => e.type === 'message' && name(e.value))).toEqual(names);
    }

    // The crash: what the dead process had stored is kept, and includes every acknowledged write.
    const before = preCrash!.rows;
    const beforeSeq = new Map(before.map((r) => [name(r.value as Value), r.seq]));
    expect(ackedAtKill.size + inFlightAtKill.size).toBe(issuedAtKill);
    for (const value of ackedAtKill) expect(beforeSeq.get(value), `acked ${value} at the crash`).toBe(seqOf.get(value));
    for (const [value, seq] of beforeSeq) expect(seqOf.get(value), `${value} kept after the restart`).toBe(seq);
    // Numbers after the restart are above every number used before it.
    const usedBefore = Math.max(
      0,
      ...before.map((r) => r.seq),
      ...[...ackedAtKill].map((v) => seqOf.get(v)!),
      seenBeforeKill.max,
    );
    const after = stored.filter((r) => !beforeSeq.has(name(r.value as Value)));
    expect(after.length).toBe(TOTAL - before.length);
    expect(after.filter((r) => r.seq <= usedBefore)).toEqual([]);
    // Unacknowledged at the crash: stored before it or after it, once either way (checked above).
    // Each of them went out once, or once more after the restart; the ones stored before the
    // crash and sent again are the resends the room must recognise.
    const inFlight = [...inFlightAtKill];
    for (const value of inFlight) expect(wire.sent.get(value) ?? 0, `times ${value} was sent`).toBeLessThanOrEqual(2);
    const resentStored = inFlight.filter((v) => beforeSeq.has(v) && wire.sent.get(v) === 2).length;
    // The writes whose acks were lost: stored before the crash, sent again after it, and
    // answered with the seq they were stored at, not stored again (checked above).
    const lost = [...wires[unlucky]!.lost];
    expect(lost.length).toBeGreaterThan(0);
    for (const value of lost) {
      expect(beforeSeq.get(value), `${value}, whose ack was lost`).toBe(seqOf.get(value));
      expect(wire.sent.get(value), `times ${value} was sent`).toBe(2);
    }
    const lateAcks = inFlight.filter((v) => beforeSeq.has(v) && wire.sent.get(v) === 1).length;
    const storedAfter = inFlight.filter((v) => !beforeSeq.has(v)).length;
    expect(resentStored + lateAcks + storedAfter).toBe(inFlight.length);
    expect(inFlight.length).toBeGreaterThan(0);
    expect(reconnects.count).toBeGreaterThanOrEqual(PUBLISHERS + SUBSCRIBERS);

    const line =
      `seed ${seed}: ${stored.length} values stored once each (${before.length} before the kill at ack ${killAfter}, ` +
      `${after.length} after), 1 kill (workerd pid ${killedPids.join(',')}), ${inFlightAtKill.size} unacknowledged at the kill ` +
      `(${resentStored} stored before the crash and resent, answered with their old seq, ${lost.length} of them with their acks ` +
      `dropped on purpose; ${lateAcks} stored before it, ` +
      `acknowledged late without a resend; ${storedAfter} stored after the restart), ` +
      `seq ${usedBefore} before → ${after[0]?.seq} after (reserved ${preCrash!.reserved}), ` +
      `${reconnects.count} reconnects, server back ${backAt - killedAt} ms after the kill, every client open again after ` +
      `${reconnects.lastOpenAt - killedAt} ms, first new write acknowledged ${firstNewAckAt - killedAt} ms after the kill, ` +
      `all acknowledged ${doneAt - killedAt} ms after it, run ${((Date.now() - started) / 1000).toFixed(1)} s`;
    console.log(line);
    figures.push(line);
  });
}
