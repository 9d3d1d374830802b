// Two pages open a WebRTC data channel through the room's signaling. WebRTC
// needs a network namespace (see webrtc-netns.ts), so the browser half runs
// in a child process under `unshare -n`; this file asserts on what it reports.
// Where no namespace can be made (not root, no unshare or ip), only these
// cases are skipped, with a warning that says why.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connected, newRoomUrl, startDemo, STEP_MS, watchedVisitor, type Demo } from './harness.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const CHILD_MS = 120_000;

function whyNoNamespace(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root, so no network namespace can be made';
  const probe = spawnSync('unshare', ['-n', 'ip', 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (probe.error) return `cannot run unshare: ${probe.error.message}`;
  if (probe.status !== 0) return `unshare -n with a veth pair failed: ${probe.stderr.trim() || `exit ${probe.status}`}`;
  return undefined;
}

type Result = Record<string, any>;

/** Run the child under `unshare -n`; kill its whole process group if it overruns. */
function runInNamespace(): Promise<{ results: Map<string, Result>; log: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-n', process.execPath, 'test/browser/webrtc-netns.ts'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    let log = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (log += chunk));
    const timer = setTimeout(() => {
      process.kill(-child.pid!, 'SIGKILL');
      reject(new Error(`the namespace child ran over ${CHILD_MS} ms\n${out}\n${log}`));
    }, CHILD_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const results = new Map<string, Result>();
      for (const line of out.split('\n')) {
        if (line.startsWith('RESULT ')) {
          const result = JSON.parse(line.slice(7));
          results.set(result.scenario, result);
        }
      }
      if (code !== 0 && !results.size) reject(new Error(`the namespace child exited ${code}\n${out}\n${log}`));
      else resolve({ results, log });
    });
  });
}

const noNamespace = whyNoNamespace();
if (noNamespace) {
  console.warn(
    `\n!!! SKIPPING the WebRTC browser tests: ${noNamespace}.\n!!! Run as root with unshare (util-linux) and ip (iproute2), as .ci/run does.\n`,
  );
}

describe.skipIf(noNamespace)('WebRTC call through the room (in a network namespace)', () => {
  let results: Map<string, Result>;
  let log: string;
  const result = (scenario: string): Result => {
    const found = results.get(scenario);
    if (!found) throw new Error(`no result for ${scenario}\n${log}`);
    if (found.error) throw new Error(`${scenario}: ${found.error}\nthe pages showed:\n${found.pages?.join('\n')}`);
    return found;
  };

  beforeAll(async () => {
    ({ results, log } = await runInNamespace());
    const network = results.get('network');
    if (network?.skip) throw new Error(`the namespace was made but its network could not be set up: ${network.skip}`);
  }, CHILD_MS + 10_000);

  it('opens a data channel between two demo pages and exchanges messages both ways', () => {
    const call = result('demo call');
    expect(call.bobSaw).toEqual([expect.stringMatching(/^guest-\w+ hello over WebRTC$/)]);
    expect(call.aliceSaw).toEqual(['you hello over WebRTC', expect.stringMatching(/^guest-\w+ hello back$/)]);
  });

  it('hangs up when the other page is closed', () => {
    const call = result('demo call');
    expect(call.peersBefore).toBe(1);
    expect(call.peersAfter).toBe(0);
    expect(call.aloneShown).toBe(true);
  });

  it('settles glare when both sides renegotiate at once: the polite side yields, and both get the new track', () => {
    const glare = result('glare');
    expect(glare.offersHeld).toEqual([1, 1]);
    expect(glare.polite.toSorted()).toEqual([false, true]);
    expect(glare.tracks).toEqual([1, 1]);
    expect(glare.stable).toEqual(['stable', 'stable']);
    expect(glare.received).toEqual([
      [`from the ${glare.polite[1] ? 'polite' : 'impolite'} side`],
      [`from the ${glare.polite[0] ? 'polite' : 'impolite'} side`],
    ]);
  });

  it('opens a call where only one side adds a channel, polite or impolite', () => {
    const both = ['from the impolite side', 'from the polite side'];
    expect(result('one-sided')).toEqual({ scenario: 'one-sided', polite: both, impolite: both });
  });

  it('calls again by itself after the signaling connection dropped', () => {
    const again = result('reconnect');
    expect(again.after).toHaveLength(1);
    expect(again.after[0]).not.toBe(again.before);
    expect(again.aliceSaw).toEqual([expect.stringMatching(/^guest-\w+ still here$/)]);
  });
});

// Alone on the call page no WebRTC is involved, so this needs no network namespace.
describe('call page with nobody else in it', () => {
  let demo: Demo;
  beforeAll(async () => {
    demo = await startDemo();
  });
  afterAll(() => demo?.stop());

  it('says that nobody else is in the call, keeps send off, and keeps what was typed', async () => {
    const problems: string[] = [];
    const alice = await watchedVisitor(demo, problems);
    await newRoomUrl(alice, demo.url);
    await alice.getByRole('link', { name: 'call' }).click();
    await connected(alice);
    const note = alice.getByRole('status');
    const send = alice.getByRole('button', { name: 'send' });
    expect(await note.textContent()).toBe(
      "Nobody else is in this call yet: open this page's address in another browser, and you can send them messages here.",
    );
    expect(await note.isVisible()).toBe(true);
    expect(await send.isDisabled()).toBe(true);

    await alice.locator('#text').fill('hello?');
    await alice.locator('#text').press('Enter');
    expect(await alice.locator('#text').inputValue()).toBe('hello?');
    expect(await alice.locator('#log li').count()).toBe(0);
    expect(await note.isVisible()).toBe(true);
    expect(await send.isDisabled()).toBe(true);

    // Someone on another page of the room is not in the call: still nobody to send to.
    const bob = await watchedVisitor(demo, problems);
    await bob.goto(alice.url().replace('/demo/call', '/demo/chat'));
    await connected(bob);
    await expect
      .poll(() => alice.evaluate(() => (globalThis as any).demo.room.peers.size), { timeout: STEP_MS })
      .toBe(1);
    expect(await note.isVisible()).toBe(true);
    expect(await send.isDisabled()).toBe(true);
    expect(problems).toEqual([]);
  });
});
