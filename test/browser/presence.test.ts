// The presence list on the shareable room page: joins and leaves, including
// a tab that is simply closed (the server notices the socket closing).
import { describe, expect, it } from 'vitest';
import WS from 'ws';
import { connected, newRoomUrl, screenshot, STEP_MS, useWatchedDemo } from './harness.ts';

// A roster of 3 (maxRosterPeers), so that a test can go past it with a few sockets.
const watched = useWatchedDemo({ MAX_ROSTER_PEERS: '3' });
const visitor = watched.visitor;

type Page = import('playwright-core').Page;
const names = (page: Page) => page.locator('#people li').allTextContents();
/** Types a name into the header's name field and presses Enter, as a visitor would. */
async function setName(page: Page, name: string): Promise<void> {
  await page.getByLabel('your name').fill(name);
  await page.getByLabel('your name').press('Enter');
}

describe('presence list', () => {
  it('updates on join, on leaving for another page, and when a page is closed', async () => {
    const alice = await visitor();
    const roomUrl = await newRoomUrl(alice, watched.demo.url);
    await connected(alice);
    await expect.poll(() => names(alice), { timeout: STEP_MS }).toEqual([expect.stringMatching(/^guest-\w+ \(you\)$/)]);
    const aliceName = (await names(alice))[0]!.replace(' (you)', '');

    const bob = await visitor();
    await bob.goto(roomUrl);
    await connected(bob);
    const bobName = (await names(bob))[0]!.replace(' (you)', '');
    expect(bobName).not.toBe(aliceName);
    await expect.poll(() => names(alice), { timeout: STEP_MS }).toEqual([`${aliceName} (you)`, `${bobName} · room`]);
    expect(await names(bob)).toEqual([`${bobName} (you)`, `${aliceName} · room`]);

    const carol = await visitor();
    await carol.goto(roomUrl);
    await connected(carol);
    const carolName = (await names(carol))[0]!.replace(' (you)', '');
    await expect
      .poll(() => names(alice), { timeout: STEP_MS })
      .toEqual([`${aliceName} (you)`, `${bobName} · room`, `${carolName} · room`]);
    await screenshot(alice, 'presence');

    // Bob follows a link to the chat: his room page leaves, his chat page joins.
    await bob.getByRole('link', { name: 'chat' }).click();
    await connected(bob);
    await expect
      .poll(() => names(alice), { timeout: STEP_MS })
      .toEqual([`${aliceName} (you)`, `${carolName} · room`, `${bobName} · chat`]);

    await carol.close();
    await expect.poll(() => names(alice), { timeout: STEP_MS }).toEqual([`${aliceName} (you)`, `${bobName} · chat`]);

    await bob.context().close();
    await expect.poll(() => names(alice), { timeout: STEP_MS }).toEqual([`${aliceName} (you)`]);
  });

  it('shows the name a visitor chose, everywhere and after a reload, cut to 40 characters', async () => {
    const alice = await visitor();
    const roomUrl = await newRoomUrl(alice, watched.demo.url);
    await connected(alice);
    const bob = await visitor();
    await bob.goto(roomUrl);
    await connected(bob);
    const bobName = (await names(bob))[0]!.replace(' (you)', '');
    await expect
      .poll(() => names(alice), { timeout: STEP_MS })
      .toEqual([expect.stringMatching(/^guest-\w+ \(you\)$/), `${bobName} · room`]);

    await setName(alice, '  Alice   Liddell ');
    expect(await alice.getByLabel('your name').inputValue()).toBe('Alice Liddell');
    expect(await names(alice)).toEqual(['Alice Liddell (you)', `${bobName} · room`]);
    await expect.poll(() => names(bob), { timeout: STEP_MS }).toEqual([`${bobName} (you)`, 'Alice Liddell · room']);

    // Kept for this browser: a reload, and another page of the demo, start with it.
    await alice.reload();
    await connected(alice);
    expect(await alice.getByLabel('your name').inputValue()).toBe('Alice Liddell');
    await expect.poll(() => names(alice), { timeout: STEP_MS }).toEqual(['Alice Liddell (you)', `${bobName} · room`]);
    await alice.getByRole('link', { name: 'chat' }).click();
    await connected(alice);
    await expect.poll(() => names(bob), { timeout: STEP_MS }).toEqual([`${bobName} (you)`, 'Alice Liddell · chat']);
    await alice.locator('#text').fill('hello');
    await alice.locator('#text').press('Enter');
    await expect
      .poll(() => alice.locator('#log li:not(.pending)').allTextContents(), { timeout: STEP_MS })
      .toEqual(['Alice Liddell (you) hello']);

    // Longer than 40 characters: cut to 40, in the field and for the others.
    const long = 'B'.repeat(30) + 'c'.repeat(30);
    await setName(bob, long);
    const cut = 'B'.repeat(30) + 'c'.repeat(10);
    expect(await bob.getByLabel('your name').inputValue()).toBe(cut);
    expect(await names(bob)).toEqual([`${cut} (you)`, 'Alice Liddell · chat']);

    // Emptied: back to the guest name.
    await setName(bob, '   ');
    expect(await bob.getByLabel('your name').inputValue()).toBe(bobName);
    expect(await names(bob)).toEqual([`${bobName} (you)`, 'Alice Liddell · chat']);
  });

  it('lists the first members of a room larger than its roster, and counts the rest', async () => {
    const alice = await visitor();
    const roomUrl = await newRoomUrl(alice, watched.demo.url);
    await connected(alice);
    const room = roomUrl.split('/r/')[1];
    const hello = (name: string) =>
      `early.${encodeURIComponent(JSON.stringify([{ type: 'hello', protocol: 1, presence: { name } }]))}`;
    const crowd = ['n0', 'n1', 'n2'].map(
      (name) =>
        new WS(`${watched.demo.server.url.replace('http', 'ws')}/room/${room}/connect`, ['edgeroom.v1', hello(name)]),
    );
    await expect
      .poll(() => names(alice), { timeout: STEP_MS })
      .toEqual([expect.stringMatching(/\(you\)$/), 'n0 · ?', 'n1 · ?', 'and 1 more']);
    for (const ws of crowd) ws.close();
    await expect.poll(() => names(alice), { timeout: STEP_MS }).toEqual([expect.stringMatching(/\(you\)$/)]);
  });
});
