/**
 * Chaos: a subscriber's and a publisher's sockets are cut at random moments
 * (random points in the stream of acknowledgements, so the amount of chaos does
 * not depend on how fast the server is) while several subjects receive
 * thousands of appends. Every stored value must
 * reach the subscriber exactly once and in order, and every publish must be
 * stored exactly once although unacknowledged ones are resent after each cut.
 *
 * The seed is printed; rerun a failure with CHAOS_SEED=<seed>.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRoom, type Room } from '../../client/index.ts';
import { closeAll, droppableSockets, open, recorder, seeded } from './client-harness.ts';
import { waitFor } from './wait.ts';
import { LIMITS_OUT_OF_THE_WAY, startServer, type TestServer } from './server.ts';

const SUBJECTS = ['alpha', 'beta', 'gamma', 'delta'];
const PER_SUBJECT = 1000;
const BATCH = 50; // appends per subject in flight at once
const SUBSCRIBER_CUTS = 28;
const PUBLISHER_CUTS = 12;

let server: TestServer;
beforeAll(async () => {
  // This test is about drops and resumes, not rate limits: at the default
  // 50 publishes/s per socket the client would pace its 4,000 appends over 80 s,
  // and its bursts of resent publishes and subscriptions would pass the frame
  // and room limits. Raised far above what the test sends.
  server = await startServer(LIMITS_OUT_OF_THE_WAY);
});
afterAll(async () => {
  closeAll();
  await server?.stop();
});

it('delivers every stored value exactly once, in order, across random socket drops', async () => {
  const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`chaos seed ${seed}`);
  const random = seeded(seed);
  const { socket_url: url } = await createRoom(server.url);

  const subscriberNet = droppableSockets();
  const subscriber = open(url, { WebSocket: subscriberNet.WebSocket, random });
  const received = new Map(SUBJECTS.map((subject) => [subject, recorder<{ subject: string; i: number }>()]));
  for (const [subject, rec] of received) subscriber.subscribe(subject, rec.listener);

  const publisherNet = droppableSockets();
  const publisher = open(url, { WebSocket: publisherNet.WebSocket, random, queueLimit: 10_000 });
  await waitFor(() => subscriber.status === 'open' && publisher.status === 'open', 10_000, 'both clients open');

  let subscriberDrops = 0;
  let publisherDrops = 0;
  // Cut after the n-th acknowledgement, at random n; a cut while that socket is
  // already down does nothing, so fewer cuts than points may happen.
  const cuts = new Map<number, () => void>();
  const total = SUBJECTS.length * PER_SUBJECT;
  const cutAt = (cut: () => void) => {
    let at: number;
    do at = 1 + Math.floor(random() * (total - 1));
    while (cuts.has(at));
    cuts.set(at, cut);
  };
  for (let n = 0; n < SUBSCRIBER_CUTS; n++) cutAt(() => void (subscriberDrops += Number(subscriberNet.drop())));
  for (let n = 0; n < PUBLISHER_CUTS; n++) cutAt(() => void (publisherDrops += Number(publisherNet.drop())));
  let acks = 0;

  const acked = new Map(SUBJECTS.map((subject) => [subject, [] as number[]]));
  let tail: ReturnType<typeof recorder> | undefined;
  for (let start = 0; start < PER_SUBJECT; start += BATCH) {
    const batch: Promise<void>[] = [];
    for (let i = start; i < start + BATCH; i++) {
      // A fresh order per index interleaves the subjects unpredictably.
      for (const subject of [...SUBJECTS].sort(() => random() - 0.5)) {
        batch.push(
          publisher.append(subject, { subject, i }).then((seq) => {
            acked.get(subject)!.push(seq);
            cuts.get(++acks)?.();
          }),
        );
      }
    }
    await Promise.all(batch);
    if (start === PER_SUBJECT / 2) {
      // Joins mid-stream on the cut socket: the last 5, then everything after, no gap.
      tail = recorder();
      subscriber.subscribe(SUBJECTS[0]!, tail.listener, { last: 5 });
    }
  }
  console.log(`chaos: ${subscriberDrops} subscriber drops, ${publisherDrops} publisher drops`);

  await waitFor(
    () => SUBJECTS.every((subject) => received.get(subject)!.seqs().length >= PER_SUBJECT),
    20_000,
    'the subscriber to catch up',
  );

  // What the room stored, read by a client that was never cut.
  const reader = open(url);
  const stored = new Map(SUBJECTS.map((subject) => [subject, recorder<{ subject: string; i: number }>()]));
  for (const [subject, rec] of stored) reader.subscribe(subject, rec.listener);
  await waitFor(() => SUBJECTS.every((s) => stored.get(s)!.seqs().length >= PER_SUBJECT), 20_000, 'the reader');

  const indices = Array.from({ length: PER_SUBJECT }, (_, i) => i);
  for (const subject of SUBJECTS) {
    const got = received.get(subject)!;
    const ackedSeqs = acked.get(subject)!.toSorted((a, b) => a - b);
    // Each publish stored exactly once, in publish order, at the seq its promise resolved with.
    expect(stored.get(subject)!.events.map((e) => e.type === 'message' && e.value.i)).toEqual(indices);
    expect(stored.get(subject)!.seqs()).toEqual(ackedSeqs);
    // The subscriber saw exactly the stored sequence: no gap, no duplicate, same order, no reset.
    expect(got.seqs()).toEqual(ackedSeqs);
    expect(got.events.map((e) => e.type === 'message' && e.value.i)).toEqual(indices);
  }
  const all = stored.get(SUBJECTS[0]!)!.seqs();
  const tailSeqs = tail!.seqs();
  expect(tailSeqs.length).toBeGreaterThanOrEqual(5);
  expect(tailSeqs).toEqual(all.slice(all.indexOf(tailSeqs[0]!)));
  expect(subscriberDrops).toBeGreaterThanOrEqual(5);
  expect(publisherDrops).toBeGreaterThanOrEqual(2);
  closeRooms(subscriber, publisher, reader);
});

function closeRooms(...rooms: Room[]): void {
  for (const room of rooms) room.close();
}
