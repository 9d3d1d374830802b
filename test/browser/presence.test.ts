// The presence list on the shareable room page: joins and leaves, including
// a tab that is simply closed (the server notices the socket closing).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connected, newRoomUrl, screenshot, startDemo, STEP_MS, type Demo } from './harness.ts';

let demo: Demo;
beforeAll(async () => {
  demo = await startDemo();
});
afterAll(() => demo?.stop());

const names = (page: import('playwright-core').Page) => page.locator('#people li').allTextContents();

describe('presence list', () => {
  it('updates on join, on leaving for another page, and when a page is closed', async () => {
    const alice = await demo.visitor();
    const roomUrl = await newRoomUrl(alice, demo.url);
    await connected(alice);
    await expect.poll(() => names(alice), { timeout: STEP_MS }).toEqual([expect.stringMatching(/^guest-\w+ \(you\)$/)]);
    const aliceName = (await names(alice))[0]!.replace(' (you)', '');

    const bob = await demo.visitor();
    await bob.goto(roomUrl);
    await connected(bob);
    const bobName = (await names(bob))[0]!.replace(' (you)', '');
    expect(bobName).not.toBe(aliceName);
    await expect.poll(() => names(alice), { timeout: STEP_MS }).toEqual([`${aliceName} (you)`, `${bobName} · room`]);
    expect(await names(bob)).toEqual([`${bobName} (you)`, `${aliceName} · room`]);

    const carol = await demo.visitor();
    await carol.goto(roomUrl);
    await connected(carol);
    const carolName = (await names(carol))[0]!.replace(' (you)', '');
    await expect.poll(() => names(alice), { timeout: STEP_MS })
      .toEqual([`${aliceName} (you)`, `${bobName} · room`, `${carolName} · room`]);
    await screenshot(alice, 'presence');

    // Bob follows a link to the chat: his room page leaves, his chat page joins.
    await bob.getByRole('link', { name: 'chat' }).click();
    await connected(bob);
    await expect.poll(() => names(alice), { timeout: STEP_MS })
      .toEqual([`${aliceName} (you)`, `${carolName} · room`, `${bobName} · chat`]);

    await carol.close();
    await expect.poll(() => names(alice), { timeout: STEP_MS }).toEqual([`${aliceName} (you)`, `${bobName} · chat`]);

    await bob.context().close();
    await expect.poll(() => names(alice), { timeout: STEP_MS }).toEqual([`${aliceName} (you)`]);
  });
});
