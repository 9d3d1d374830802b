/**
 * The WebRTC half of the browser tests, run by webrtc.test.ts inside a fresh
 * network namespace (`unshare -n`, as root). Chromium gathers no ICE
 * candidates with only a loopback interface or without a default route, so
 * this sets up a veth pair and a default route first; nothing can leave the
 * namespace. The worker and Chromium both run in here. Each finding goes to
 * stdout as one `RESULT {json}` line for the test to assert on.
 *
 * By hand, after `node scripts/build-demo.mjs`, with Node 24 (it strips the
 * types): `unshare -n npx node test/browser/webrtc-netns.ts`.
 */
import { spawnSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { connected, newRoomUrl, screenshot, startDemo, STEP_MS } from './harness.ts';

const report = (result: Record<string, unknown>): void =>
  void process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);

function setUpNetwork(): string | undefined {
  const steps = [
    'link set lo up',
    'link add v0 type veth peer name v1',
    'addr add 10.77.0.1/24 dev v0',
    'addr add 10.77.0.2/24 dev v1',
    'link set v0 up',
    'link set v1 up',
    'route add default dev v0',
  ];
  for (const step of steps) {
    const run = spawnSync('ip', step.split(' '), { encoding: 'utf8', timeout: 5000 });
    if (run.status !== 0) return `ip ${step}: ${(run.stderr || run.error?.message || `exit ${run.status}`).trim()}`;
  }
  return undefined;
}

const failure = setUpNetwork();
if (failure) {
  report({ scenario: 'network', skip: failure });
  process.exit(0);
}

const demo = await startDemo();
const lines = (page: Page) => page.locator('#log li').allTextContents();
const openCalls = (page: Page) => page.locator('#peers li[data-state="open"]');
async function say(page: Page, text: string): Promise<void> {
  await page.locator('#text').fill(text);
  await page.locator('#text').press('Enter');
}
/** Poll until `ok` holds, at most STEP_MS; then fail with the last value seen. */
async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + STEP_MS;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last saw ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What every open page shows, for the failure report. */
function snapshot(): Promise<string[]> {
  const pages = demo.browser.contexts().flatMap((context) => context.pages());
  return Promise.all(
    pages.map((page) =>
      page
        .evaluate(
          () =>
            `${location.pathname}: ${document.querySelector('#status')?.textContent} | ${document.querySelector('#peers')?.textContent}`,
        )
        .catch((error) => String(error)),
    ),
  );
}

async function scenario(name: string, run: () => Promise<Record<string, unknown>>): Promise<void> {
  try {
    report({ scenario: name, ...(await run()) });
  } catch (error) {
    report({ scenario: name, error: String((error as Error)?.stack ?? error), pages: await snapshot() });
  } finally {
    await Promise.all(demo.browser.contexts().map((context) => context.close()));
  }
}

try {
  await scenario('demo call', async () => {
    const alice = await demo.visitor();
    await newRoomUrl(alice, demo.url);
    await alice.getByRole('link', { name: 'call' }).click();
    const bob = await demo.visitor();
    await bob.goto(alice.url());
    await Promise.all([connected(alice), connected(bob)]);
    await Promise.all([openCalls(alice).waitFor(), openCalls(bob).waitFor()]);
    await say(alice, 'hello over WebRTC');
    const bobSaw = await until(
      'bob to get a message',
      () => lines(bob),
      (seen) => seen.length > 0,
    );
    await say(bob, 'hello back');
    const aliceSaw = await until(
      'alice to get a reply',
      () => lines(alice),
      (seen) => seen.length > 1,
    );
    await screenshot(alice, 'call');
    const peersBefore = await alice.locator('#peers li[data-conn]').count();
    await bob.close();
    const peersAfter = await until(
      'alice to hang up',
      () => alice.locator('#peers li[data-conn]').count(),
      (n) => n === 0,
    );
    const aloneShown = await alice.locator('#alone').isVisible();
    return { bobSaw, aliceSaw, peersBefore, peersAfter, aloneShown };
  });

  await scenario('glare', async () => {
    // A call is up; then both sides add a video track at once, holding their
    // outgoing signals until each has made its offer, so each receives an
    // offer while its own is pending: glare on both sides.
    const room = `glare-${Date.now()}`;
    const pages = [await demo.visitor(), await demo.visitor()];
    for (const page of pages) {
      // Any document the server sends will do (a page made up by the test would
      // count as public and be barred from loopback): the room's JSON.
      await page.goto(`${demo.url}/room/${room}`);
      await page.evaluate(async (id) => {
        const { connect } = await import('/lib/edgeroom.js' as string);
        const { signaling } = await import('/lib/signaling.js' as string);
        const room = connect({ base: location.origin, room: id });
        const state = {
          held: [] as [string, unknown][],
          hold: false,
          offers: 0,
          tracks: 0,
          received: [] as string[],
          polite: undefined as boolean | undefined,
          pc: undefined as RTCPeerConnection | undefined,
          channel: undefined as RTCDataChannel | undefined,
        };
        const send = room.dm.bind(room);
        room.dm = (to: string, value: { 'edgeroom.rtc'?: { description?: { type: string } } }) => {
          if (!state.hold) return send(to, value);
          if (value['edgeroom.rtc']?.description?.type === 'offer') state.offers++;
          state.held.push([to, value]);
        };
        signaling(room, {
          onCall({ pc, polite }: { pc: RTCPeerConnection; polite: boolean }) {
            Object.assign(state, { pc, polite });
            pc.ontrack = () => state.tracks++;
            const channel = pc.createDataChannel('x', { negotiated: true, id: 0 });
            channel.onopen = () => (state.channel = channel);
            channel.onmessage = (event) => state.received.push(event.data);
          },
        });
        (globalThis as Record<string, unknown>).glare = { state, send };
      }, room);
    }
    const read = <T>(fn: () => T) => Promise.all(pages.map((page) => page.evaluate(fn)));
    await until(
      'the call to open and settle',
      () =>
        read(() => {
          const { state } = (globalThis as any).glare;
          return `${state.channel?.readyState} ${state.pc?.signalingState}`;
        }),
      (s) => s.every((x) => x === 'open stable'),
    );
    await read(() => {
      const { state } = (globalThis as any).glare;
      state.hold = true;
      const stream = document.createElement('canvas').captureStream(5);
      state.pc.addTrack(stream.getVideoTracks()[0], stream);
    });
    const offersHeld = await until(
      'both to make an offer',
      () => read(() => (globalThis as any).glare.state.offers),
      (n) => n.every((x) => x >= 1),
    );
    await read(() => {
      const { state, send } = (globalThis as any).glare;
      state.hold = false;
      for (const [to, value] of state.held.splice(0)) send(to, value);
    });
    const tracks = await until(
      "both to receive the other's track",
      () => read(() => (globalThis as any).glare.state.tracks),
      (n) => n.every((x) => x >= 1),
    );
    const stable = await until(
      'both to settle',
      () => read(() => (globalThis as any).glare.state.pc.signalingState),
      (s) => s.every((x) => x === 'stable'),
    );
    await read(() => {
      const { state } = (globalThis as any).glare;
      state.channel.send(`from the ${state.polite ? 'polite' : 'impolite'} side`);
    });
    const received = await until(
      'both channels to deliver',
      () => read(() => (globalThis as any).glare.state.received),
      (r) => r.every((x) => x.length > 0),
    );
    const polite = await read(() => (globalThis as any).glare.state.polite);
    return { offersHeld, tracks, stable, received, polite };
  });

  await scenario('one-sided', async () => {
    // Only one side adds a data channel: the call opens either way, whether
    // that side opens the call (impolite) or must wait for the opening (polite).
    const outcome: Record<string, string[]> = {};
    for (const adder of ['polite', 'impolite']) {
      const room = `one-sided-${adder}-${Date.now()}`;
      const pages = [await demo.visitor(), await demo.visitor()];
      for (const page of pages) {
        await page.goto(`${demo.url}/room/${room}`);
        await page.evaluate(
          async ({ id, adder }) => {
            const { connect } = await import('/lib/edgeroom.js' as string);
            const { signaling } = await import('/lib/signaling.js' as string);
            const state = { received: [] as string[] };
            const use = (channel: RTCDataChannel, polite: boolean) => {
              channel.onopen = () => channel.send(`from the ${polite ? 'polite' : 'impolite'} side`);
              channel.onmessage = (event) => state.received.push(event.data);
            };
            signaling(connect({ base: location.origin, room: id }), {
              onCall({ pc, polite }: { pc: RTCPeerConnection; polite: boolean }) {
                if ((adder === 'polite') === polite) use(pc.createDataChannel('solo'), polite);
                else pc.ondatachannel = ({ channel }) => use(channel, polite);
              },
            });
            (globalThis as Record<string, unknown>).oneSided = state;
          },
          { id: room, adder },
        );
      }
      const received = await until(
        `the ${adder} side's channel to deliver both ways`,
        () => Promise.all(pages.map((page) => page.evaluate(() => (globalThis as any).oneSided.received))),
        (r) => r.every((x) => x.length > 0),
      );
      outcome[adder] = received.flat().toSorted();
    }
    return outcome;
  });

  await scenario('reconnect', async () => {
    const alice = await demo.visitor();
    await newRoomUrl(alice, demo.url);
    await alice.getByRole('link', { name: 'call' }).click();
    const bob = await demo.visitor();
    await bob.goto(alice.url());
    await Promise.all([openCalls(alice).waitFor(), openCalls(bob).waitFor()]);
    const before = await openCalls(alice).getAttribute('data-conn');
    demo.network.cut();
    await alice.locator('#status[data-status="reconnecting"]').waitFor();
    demo.network.restore();
    await Promise.all([connected(alice), connected(bob)]);
    const after = await until(
      'a new call to open',
      () =>
        alice
          .locator('#peers li[data-state="open"]')
          .evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.conn)),
      (conns) => conns.length === 1 && conns[0] !== before,
    );
    await say(bob, 'still here');
    const aliceSaw = await until(
      'alice to get a message',
      () => lines(alice),
      (seen) => seen.length > 0,
    );
    return { before, after, aliceSaw };
  });
} finally {
  await demo.stop();
}
process.exit(0);
