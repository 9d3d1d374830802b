// The chat: a late joiner sees the history, in order, once; live messages follow.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connected, newRoomUrl, screenshot, startDemo, STEP_MS, type Demo } from './harness.ts';

let demo: Demo;
beforeAll(async () => {
  demo = await startDemo();
});
afterAll(() => demo?.stop());

type Page = import('playwright-core').Page;
const lines = (page: Page) => page.locator('#log li').allTextContents();
async function say(page: Page, text: string): Promise<void> {
  await page.locator('#text').fill(text);
  await page.locator('#text').press('Enter');
}
const nameOf = async (page: Page) => page.evaluate(() => sessionStorage.getItem('demo.name'));

describe('chat', () => {
  it('shows a late joiner the history, then live messages both ways', async () => {
    const alice = await demo.visitor();
    await newRoomUrl(alice, demo.url);
    await alice.getByRole('link', { name: 'chat' }).click();
    await connected(alice);
    const a = await nameOf(alice);
    for (const text of ['first', 'second', 'third']) await say(alice, text);
    await expect.poll(() => lines(alice), { timeout: STEP_MS }).toEqual([`${a} first`, `${a} second`, `${a} third`]);

    const bob = await demo.visitor();
    await bob.goto(alice.url());
    await connected(bob);
    const b = await nameOf(bob);
    await expect.poll(() => lines(bob), { timeout: STEP_MS }).toEqual([`${a} first`, `${a} second`, `${a} third`]);

    await say(bob, 'hello from the late joiner');
    await say(alice, 'welcome');
    const all = [`${a} first`, `${a} second`, `${a} third`, `${b} hello from the late joiner`, `${a} welcome`];
    await expect.poll(() => lines(alice), { timeout: STEP_MS }).toEqual(all);
    await expect.poll(() => lines(bob), { timeout: STEP_MS }).toEqual(all);
    await screenshot(bob, 'chat');
  });

  it('sends what was typed offline once the connection is back, without gaps or repeats', async () => {
    const alice = await demo.visitor();
    await newRoomUrl(alice, demo.url);
    await alice.getByRole('link', { name: 'chat' }).click();
    const bob = await demo.visitor();
    await bob.goto(alice.url());
    await Promise.all([connected(alice), connected(bob)]);
    const a = await nameOf(alice);
    await say(alice, 'before');
    await expect.poll(() => lines(bob), { timeout: STEP_MS }).toEqual([`${a} before`]);

    demo.network.cut();
    await alice.locator('#status[data-status="reconnecting"]').waitFor();
    await say(alice, 'while offline');
    demo.network.restore();
    await Promise.all([connected(alice), connected(bob)]);
    await say(alice, 'after');
    const all = [`${a} before`, `${a} while offline`, `${a} after`];
    await expect.poll(() => lines(bob), { timeout: STEP_MS }).toEqual(all);
    await expect.poll(() => lines(alice), { timeout: STEP_MS }).toEqual(all);
  });
});
