// The shared slider: two browsers on the same room URL see each other's moves.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connected,
  newRoomUrl,
  screenshot,
  SOCKET_REFUSED_WHILE_CUT,
  startDemo,
  STEP_MS,
  watchedVisitor,
  type Demo,
} from './harness.ts';

let demo: Demo;
beforeAll(async () => {
  demo = await startDemo();
});
afterAll(() => demo?.stop());

/** Console errors, uncaught exceptions and failed requests of every page in the current test: none expected. */
let problems: string[] = [];
/** Set by a test that cuts the network: Chromium logs each socket that could not connect meanwhile. */
let cutsNetwork = false;
const visitor = () => watchedVisitor(demo, problems);
afterEach(() => {
  const found = problems.filter((problem) => !(cutsNetwork && SOCKET_REFUSED_WHILE_CUT.test(problem)));
  problems = [];
  cutsNetwork = false;
  expect(found).toEqual([]);
});

type Page = import('playwright-core').Page;
const shown = (page: Page) => page.locator('#value').textContent();
const thumb = (page: Page) => page.locator('#slider').inputValue();

describe('shared slider', () => {
  it('shows the number the thumb shows before anyone has moved it', async () => {
    const alice = await visitor();
    await newRoomUrl(alice, demo.url);
    await alice.getByRole('link', { name: 'slider' }).click();
    await connected(alice);
    expect(await thumb(alice)).toBe('50');
    expect(await shown(alice)).toBe('50');
  });

  it("shows each page the other's moves, thumb and number", async () => {
    const alice = await visitor();
    const roomUrl = await newRoomUrl(alice, demo.url);
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
    await newRoomUrl(alice, demo.url);
    await alice.getByRole('link', { name: 'slider' }).click();
    const bob = await visitor();
    await bob.goto(alice.url());
    await Promise.all([connected(alice), connected(bob)]);

    cutsNetwork = true;
    demo.network.cut();
    await Promise.all([alice, bob].map((page) => page.locator('#status[data-status="reconnecting"]').waitFor()));
    await alice.locator('#slider').press('End');
    expect(await shown(alice)).toBe('100'); // shown at once, sent when back
    demo.network.restore();
    await Promise.all([connected(alice), connected(bob)]);
    await expect.poll(() => shown(bob), { timeout: STEP_MS }).toBe('100');
  });
});
