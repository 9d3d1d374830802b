// A private room (p_…) in the demo pages, as a developer tries it: the key
// `npm run dev` makes, links from `npm run token` with the token in the
// address's fragment. Two people chat with theirs; a page without a token, with
// one for another room, or with an expired one, is refused and says why.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevKey, readDevVars } from '../../scripts/dev-key.mjs';
import { mintToken } from '../../worker/auth/mint.ts';
import { connected, screenshot, startDemo, STEP_MS, type Demo } from './harness.ts';

type Page = import('playwright-core').Page;

const TOKEN_SCRIPT = fileURLToPath(new URL('../../scripts/token.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'edgeroom-private-'));
const devVars = join(dir, '.dev.vars');
let demo: Demo;

beforeAll(async () => {
  expect(ensureDevKey(devVars)).toBe(true);
  expect(ensureDevKey(devVars)).toBe(false); // a second run keeps the key
  demo = await startDemo({ AUTH_KEYS: readDevVars(devVars).AUTH_KEYS! });
});
afterAll(async () => {
  await demo?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** `npm run token -- …` with this test's development key: the token and the demo link it prints. */
async function tokenLink(...args: string[]): Promise<{ token: string; url: string }> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    TOKEN_SCRIPT,
    '--dev-vars',
    devVars,
    '--base',
    demo.url,
    ...args,
  ]);
  const url = /^Open (\S+)$/m.exec(stdout)?.[1];
  const token = stdout.split('\n')[1];
  if (!url || !token) throw new Error(`unexpected output from token.mjs:\n${stdout}`);
  return { token, url };
}

const privateRoom = () => `p_${Math.random().toString(36).slice(2, 12)}`;
const lines = (page: Page) => page.locator('#log li').allTextContents();
const names = (page: Page) => page.locator('#people li').allTextContents();
async function say(page: Page, text: string): Promise<void> {
  await page.locator('#text').fill(text);
  await page.locator('#text').press('Enter');
}
/** The room's refusal: the status badge at `closed` (for good), and the page's message. */
async function refusal(page: Page): Promise<string> {
  await page.locator('#status[data-status="closed"]').waitFor();
  return page.locator('#refused').innerText();
}

describe('a private room', () => {
  it('lets in the holders of its tokens, who chat and see each other; the token never goes in a URL', async () => {
    const room = privateRoom();
    const alice = await demo.visitor();
    const bob = await demo.visitor();
    const sockets: string[] = [];
    for (const page of [alice, bob]) page.on('websocket', (ws) => sockets.push(ws.url()));

    const forAlice = await tokenLink('--room', room, '--sub', 'alice', '--page', 'chat');
    expect(forAlice.url).toBe(`${demo.url}/demo/chat?room=${room}#token=${forAlice.token}`);
    await alice.goto(forAlice.url);
    await connected(alice);
    await bob.goto((await tokenLink('--room', room, '--sub', 'bob', '--page', 'chat')).url);
    await connected(bob);

    await say(alice, 'hello bob');
    await expect.poll(() => lines(bob), { timeout: STEP_MS }).toEqual(['alice hello bob']);
    await say(bob, 'hi alice');
    // Alice's own line is marked as hers (the chat page marks the server-stamped client ID).
    await expect.poll(() => lines(alice), { timeout: STEP_MS }).toEqual(['alice (you) hello bob', 'bob hi alice']);
    await screenshot(bob, 'private-room');

    // The nav links keep the token; the address to share does not.
    await alice.getByRole('link', { name: 'room' }).click();
    await connected(alice);
    await expect.poll(() => names(alice), { timeout: STEP_MS }).toEqual(['alice (you)', 'bob · chat']);
    expect(await alice.locator('#share').inputValue()).toBe(`${demo.url}/r/${room}`);
    expect(await alice.locator('#refused').count()).toBe(0);

    // Alice's chat and room pages, Bob's chat: the token went in the subprotocol header.
    expect(sockets.length).toBeGreaterThanOrEqual(3);
    for (const url of sockets) expect(url).toMatch(new RegExp(`/room/${room}/connect$`));
  });

  it("refuses a page without a token, with another room's, or with an expired one, and the page says why", async () => {
    const room = privateRoom();
    const stranger = await demo.visitor();
    await stranger.goto(`${demo.url}/demo/chat?room=${room}`);
    expect(await refusal(stranger)).toBe(
      'Refused: This room needs a token (4100). It is a private room: open it with a link that carries a token (…#token=…).',
    );
    await screenshot(stranger, 'private-room-refused');

    const elsewhere = await demo.visitor();
    await elsewhere.goto(
      `${demo.url}/r/${room}#token=${(await tokenLink('--room', privateRoom(), '--sub', 'carol')).token}`,
    );
    expect(await refusal(elsewhere)).toBe(
      "Refused: Token is for another room (4103). This link's token does not let you in (any more): ask for a new one.",
    );

    const key = JSON.parse(readDevVars(devVars).AUTH_KEYS!)[0];
    const expired = await mintToken({ room, sub: 'dave', ttlSeconds: 60, now: Date.now() / 1000 - 600 }, key);
    const late = await demo.visitor();
    await late.goto(`${demo.url}/r/${room}#token=${expired}`);
    expect(await refusal(late)).toMatch(/^Refused: Token expired \(4101\)\. /);
  });
});
