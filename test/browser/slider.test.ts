// The shared slider: two browsers on the same room URL see each other's moves.
import { describe, expect, it } from 'vitest';
import { connected, newRoomUrl, screenshot, STEP_MS, useWatchedDemo } from './harness.ts';

const watched = useWatchedDemo();
const visitor = watched.visitor;

type Page = import('playwright-core').Page;
const shown = (page: Page) => page.locator('#value').textContent();
const thumb = (page: Page) => page.locator('#slider').inputValue();

describe('shared slider', () => {
  it('shows the number the thumb shows before anyone has moved it', async () => {
    const alice = await visitor();
    await newRoomUrl(alice, watched.demo.url);
    await alice.getByRole('link', { name: 'slider' }).click();
    await connected(alice);
    expect(await thumb(alice)).toBe('50');
    expect(await shown(alice)).toBe('50');
  });

  it("shows each page the other's moves, thumb and number", async () => {
    const alice = await visitor();
    const roomUrl = await newRoomUrl(alice, watched.demo.url);
    await alice.getByRole('link', { name: 'slider' }).click();
    const bob = await visitor();
    await bob.goto(roomUrl);
    await bob.getByRole('link', { name: 'slider' }).click();
    await Promise.all([connected(alice), connected(bob)]);
    expect(bob.url()).toBe(alice.url());

    await alice.locator('#slider').press('End');
    await expect.poll(() => shown(bob), { timeout: STEP_MS }).toBe('100');
    expect(await thumb(bob)).toBe('100');

    await bob.locator('#slider').press('Home');
    for (let i = 0; i < 7; i++) await bob.locator('#slider').press('ArrowRight');
    await expect.poll(() => shown(alice), { timeout: STEP_MS }).toBe('7');
    expect(await thumb(alice)).toBe('7');
    expect(await shown(bob)).toBe('7');
    await screenshot(alice, 'slider');

    // A third browser opening the page later starts from the current value.
    const carol = await visitor();
    await carol.goto(alice.url());
    await expect.poll(() => shown(carol), { timeout: STEP_MS }).toBe('7');
  });

  it('shows the dropped connection and catches up by itself once it is back', async () => {
    const alice = await visitor();
    await newRoomUrl(alice, watched.demo.url);
    await alice.getByRole('link', { name: 'slider' }).click();
    const bob = await visitor();
    await bob.goto(alice.url());
    await Promise.all([connected(alice), connected(bob)]);

    watched.cutNetwork();
    await Promise.all([alice, bob].map((page) => page.locator('#status[data-status="reconnecting"]').waitFor()));
    await alice.locator('#slider').press('End');
    expect(await shown(alice)).toBe('100'); // shown at once, sent when back
    watched.demo.network.restore();
    await Promise.all([connected(alice), connected(bob)]);
    await expect.poll(() => shown(bob), { timeout: STEP_MS }).toBe('100');
  });
});
