// The offline outbox over one socket per browser, in Chromium: the notes demo page with
// `?tabs` (connectOffline(address, { connect: connectShared })). Two tabs of one profile
// share one socket; notes are appended in both while the room is unreachable (the proxy
// cuts every connection), the leading tab is reloaded, the network comes back: the room stores
// exactly those notes, once each, in each tab's order, over one connection.
// Unit tests: test/client/offline-tabs.test.ts.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createRoom, type Room } from '../../client/index.ts';
import { closeAll, open, recorder } from '../e2e/client-harness.ts';
import { waitFor } from '../e2e/wait.ts';
import { connected, SOCKET_REFUSED_WHILE_CUT, STEP_MS, useWatchedDemo, watchProblems } from './harness.ts';
import { launchForShell, offlineShell } from './offline-shell.ts';

const watched = useWatchedDemo();
const POLL = { timeout: STEP_MS };

declare global {
  var demo: { room: Room };
}

const unsent = (page: Page) => page.locator('#outbox').getAttribute('data-count');
const status = (page: Page) => page.locator('#status').getAttribute('data-status');
const isLeader = (page: Page) => page.evaluate(() => (globalThis.demo.room as { leader?: boolean }).leader === true);
/** Appends `count` notes from the page's room without waiting for their acks. */
const appendNotes = (page: Page, count: number, prefix: string) =>
  page.evaluate(
    ({ count, prefix }) => {
      for (let i = 0; i < count; i++) globalThis.demo.room.append('notes', { text: `${prefix} ${i}` }).catch(() => {});
    },
    { count, prefix },
  );
/** The browser tells the page the network is back (the client dials at once, not after its backoff). */
const online = (page: Page) => page.evaluate(() => dispatchEvent(new Event('online')));
const texts = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix} ${i}`);

describe('the offline outbox over one socket per browser, in Chromium', () => {
  it('notes appended offline in two tabs, the leader reloaded, are stored once each, in each tab order, over one socket', async () => {
    const { room } = await createRoom(watched.demo.url);
    // On the server itself (not through the proxy): the stored notes, and the room's connections.
    const notes = recorder<{ text: string }>();
    const observer = open({ base: watched.demo.server.url, room });
    observer.subscribe('notes', notes.listener);
    const stored = () => notes.events.flatMap((event) => (event.type === 'message' ? [event.value.text] : []));

    const browser = await launchForShell();
    const problems: string[] = [];
    /** Every socket the tabs opened that the server answered, in order. */
    const answered: string[] = [];
    try {
      const context = await browser.newContext();
      context.setDefaultTimeout(STEP_MS);
      await offlineShell(context);
      const tabs: Page[] = [];
      for (let i = 0; i < 2; i++) {
        const tab = await context.newPage();
        watchProblems(tab, problems);
        tab.on('websocket', (ws) => ws.once('framereceived', () => answered.push(ws.url())));
        await tab.goto(`${watched.demo.url}/demo/notes?room=${room}&tabs`);
        tabs.push(tab);
      }
      for (const tab of tabs) await connected(tab);
      expect(answered).toHaveLength(1);
      const leaders = await Promise.all(tabs.map(isLeader));
      expect(leaders.filter(Boolean)).toHaveLength(1);
      // `a` leads: its reload hands the socket to `b`, and `a` comes back as a follower.
      const a = tabs[leaders.indexOf(true)]!;
      const b = tabs[leaders.indexOf(false)]!;

      watched.demo.network.cut();
      await expect.poll(() => Promise.all(tabs.map(status)), POLL).not.toContain('open');
      await appendNotes(a, 3, 'a');
      await appendNotes(b, 3, 'b');
      await expect.poll(() => Promise.all(tabs.map(unsent)), POLL).toEqual(['3', '3']);

      // Reloaded while unreachable: the page comes from the shell, its notes from the disk.
      await a.reload();
      await expect.poll(() => unsent(a), POLL).toBe('3');
      await appendNotes(a, 2, 'a after reload');
      await expect.poll(() => unsent(a), POLL).toBe('5');
      expect(await status(a)).not.toBe('open');
      expect([await isLeader(a), await isLeader(b)]).toEqual([false, true]);

      const before = answered.length;
      watched.demo.network.restore();
      for (const tab of tabs) await online(tab);
      for (const tab of tabs) await connected(tab);
      await expect.poll(() => Promise.all(tabs.map(unsent)), POLL).toEqual(['0', '0']);

      await waitFor(() => stored().length >= 8, STEP_MS, 'the 8 stored notes');
      const all = stored();
      expect(all).toHaveLength(8);
      expect(all.filter((text) => text.startsWith('a'))).toEqual([...texts('a', 3), ...texts('a after reload', 2)]);
      expect(all.filter((text) => text.startsWith('b'))).toEqual(texts('b', 3));
      // Both tabs show them, in the room's order.
      for (const tab of tabs) await expect.poll(() => tab.locator('#notes li').allTextContents(), POLL).toEqual(all);

      // One socket for the two tabs after the restore, and the room sees one connection besides the observer.
      expect(answered.length - before).toBe(1);
      const conns = await Promise.all(tabs.map((tab) => tab.evaluate(() => globalThis.demo.room.conn)));
      expect(conns[0]).toBe(conns[1]);
      await expect
        .poll(() => [...observer.peers.keys()].filter((conn) => conn !== observer.conn), POLL)
        .toEqual([conns[0]]);
      expect(problems.filter((problem) => !SOCKET_REFUSED_WHILE_CUT.test(problem))).toEqual([]);
    } finally {
      closeAll();
      await browser.close();
    }
  }, 90_000);
});
