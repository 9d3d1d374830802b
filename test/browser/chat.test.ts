// The chat: a late joiner sees the history, in order, once; live messages follow.
// Your own messages are marked "(you)" by the client ID the server stamped on
// them, and what you send shows at once as "sending…" until the room has it.
import { describe, expect, it } from 'vitest';
import { connected, newRoomUrl, screenshot, STEP_MS, useWatchedDemo } from './harness.ts';

const watched = useWatchedDemo();
const visitor = watched.visitor;

type Page = import('playwright-core').Page;
const lines = (page: Page) => page.locator('#log li').allTextContents();
const marked = (page: Page, selector: string) => page.locator(`#log li${selector}`).allTextContents();
async function say(page: Page, text: string): Promise<void> {
  await page.locator('#text').fill(text);
  await page.locator('#text').press('Enter');
}
async function setName(page: Page, name: string): Promise<void> {
  await page.getByLabel('your name').fill(name);
  await page.getByLabel('your name').press('Enter');
}
/** Alice opens a new room's chat, Bob follows her link; both named, both connected. */
async function twoInChat(): Promise<[Page, Page]> {
  const alice = await visitor();
  await newRoomUrl(alice, watched.demo.url);
  await alice.getByRole('link', { name: 'chat' }).click();
  await connected(alice);
  await setName(alice, 'Alice');
  const bob = await visitor();
  await bob.goto(alice.url());
  await connected(bob);
  await setName(bob, 'Bob');
  return [alice, bob];
}

describe('chat', () => {
  it('shows a late joiner the history, then live messages both ways, each marking its own', async () => {
    const alice = await visitor();
    await newRoomUrl(alice, watched.demo.url);
    await alice.getByRole('link', { name: 'chat' }).click();
    await connected(alice);
    await setName(alice, 'Alice');
    for (const text of ['first', 'second', 'third']) await say(alice, text);
    const history = ['first', 'second', 'third'];
    await expect.poll(() => lines(alice), { timeout: STEP_MS }).toEqual(history.map((text) => `Alice (you) ${text}`));

    const bob = await visitor();
    await bob.goto(alice.url());
    await connected(bob);
    await setName(bob, 'Bob');
    await expect.poll(() => lines(bob), { timeout: STEP_MS }).toEqual(history.map((text) => `Alice ${text}`));

    await say(bob, 'hello from the late joiner');
    await expect.poll(() => lines(alice), { timeout: STEP_MS }).toHaveLength(4);
    await say(alice, 'welcome');
    await expect
      .poll(() => lines(alice), { timeout: STEP_MS })
      .toEqual([
        'Alice (you) first',
        'Alice (you) second',
        'Alice (you) third',
        'Bob hello from the late joiner',
        'Alice (you) welcome',
      ]);
    await expect
      .poll(() => lines(bob), { timeout: STEP_MS })
      .toEqual(['Alice first', 'Alice second', 'Alice third', 'Bob (you) hello from the late joiner', 'Alice welcome']);
    expect(await marked(alice, '.mine')).toEqual([
      'Alice (you) first',
      'Alice (you) second',
      'Alice (you) third',
      'Alice (you) welcome',
    ]);
    expect(await marked(bob, '.mine')).toEqual(['Bob (you) hello from the late joiner']);
    await screenshot(bob, 'chat');
  });

  it('marks messages by who sent them, not by the name they claim', async () => {
    const [alice, bob] = await twoInChat();
    await say(alice, 'I am Alice');
    await expect.poll(() => lines(bob), { timeout: STEP_MS }).toEqual(['Alice I am Alice']);
    await setName(bob, 'Alice');
    await say(bob, 'so am I');
    await expect.poll(() => lines(alice), { timeout: STEP_MS }).toEqual(['Alice (you) I am Alice', 'Alice so am I']);
    await expect.poll(() => lines(bob), { timeout: STEP_MS }).toEqual(['Alice I am Alice', 'Alice (you) so am I']);
    expect(await marked(alice, '.mine')).toEqual(['Alice (you) I am Alice']);
    expect(await marked(bob, '.mine')).toEqual(['Alice (you) so am I']);
  });

  it('shows what was typed offline as sending, then sends it once the connection is back, without gaps or repeats', async () => {
    const [alice, bob] = await twoInChat();
    await say(alice, 'before');
    await expect.poll(() => lines(bob), { timeout: STEP_MS }).toEqual(['Alice before']);
    await expect.poll(() => lines(alice), { timeout: STEP_MS }).toEqual(['Alice (you) before']);

    watched.cutNetwork();
    await alice.locator('#status[data-status="reconnecting"]').waitFor();
    await say(alice, 'while offline');
    await say(alice, 'still offline');
    const pending = ['Alice (you) while offline sending…', 'Alice (you) still offline sending…'];
    await expect.poll(() => lines(alice), { timeout: STEP_MS }).toEqual(['Alice (you) before', ...pending]);
    expect(await marked(alice, '.pending')).toEqual(pending);
    expect(await alice.locator('#text').inputValue()).toBe('');
    await screenshot(alice, 'chat-pending');

    watched.demo.network.restore();
    await Promise.all([connected(alice), connected(bob)]);
    await say(alice, 'after');
    await say(bob, 'welcome back');
    const sent = ['before', 'while offline', 'still offline', 'after'];
    await expect
      .poll(() => lines(alice), { timeout: STEP_MS })
      .toEqual([...sent.map((text) => `Alice (you) ${text}`), 'Bob welcome back']);
    await expect
      .poll(() => lines(bob), { timeout: STEP_MS })
      .toEqual([...sent.map((text) => `Alice ${text}`), 'Bob (you) welcome back']);
    expect(await marked(alice, '.pending')).toEqual([]);
  });
});
