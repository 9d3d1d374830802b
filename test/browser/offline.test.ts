// The offline outbox in Chromium, on the notes demo page (public/demo/notes.js):
// writes made while the room is unreachable survive a reload and are stored once,
// in order; a page closed before its ack is answered as a duplicate when reopened;
// and a client that returns after 20,000 other publishes duplicates nothing.
// "Unreachable" is the proxy in front of the server cutting every connection;
// "before its ack" is the proxy holding what the server sends.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createRoom, type Room } from '../../client/index.ts';
import { closeAll, open, recorder } from '../e2e/client-harness.ts';
import { LIMITS_OUT_OF_THE_WAY } from '../e2e/server.ts';
import { waitFor } from '../e2e/wait.ts';
import { connected, SOCKET_REFUSED_WHILE_CUT, STEP_MS, useWatchedDemo, watchProblems } from './harness.ts';
import { launchForShell, offlineShell } from './offline-shell.ts';

// Rates out of the way: 20,000 publishes in a few seconds, and 100 appends in one burst.
const watched = useWatchedDemo(LIMITS_OUT_OF_THE_WAY);

interface Ack {
  id: string;
  seq: number;
  duplicate?: boolean;
}

/** The notes page of `room`, with its websocket's acks recorded. */
async function notesPage(page: Page, room: string, acks: Ack[] = []): Promise<Page> {
  page.on('websocket', (ws) =>
    ws.on('framereceived', ({ payload }) => {
      for (const frame of [JSON.parse(String(payload))].flat()) if (frame.type === 'ack') acks.push(frame);
    }),
  );
  await page.goto(`${watched.demo.url}/demo/notes?room=${room}`);
  return page;
}

const unsent = (page: Page) => page.locator('#outbox').getAttribute('data-count');
/** What the page's outbox holds on disk: the records' values, in key order. */
const onDisk = (page: Page): Promise<unknown[]> =>
  page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const request = indexedDB.open('edgeroom-v1', 1);
        request.onsuccess = () => {
          const read = request.result.transaction('outbox').objectStore('outbox').getAll();
          read.onsuccess = () => {
            request.result.close();
            resolve(read.result.map((record: { frame: { value: unknown } }) => record.frame.value));
          };
          read.onerror = () => reject(read.error);
        };
        request.onerror = () => reject(request.error);
      }),
  );
/** Appends `count` notes from the page's room without waiting for their acks. */
const appendNotes = (page: Page, count: number, prefix: string) =>
  page.evaluate(
    ({ count, prefix }) => {
      const { room } = (globalThis as unknown as { demo: { room: Room } }).demo;
      for (let i = 0; i < count; i++) room.append('notes', { text: `${prefix} ${i}` }).catch(() => {});
    },
    { count, prefix },
  );
/** The browser tells the page the network is back (the client dials at once, not after its backoff). */
const online = (page: Page) => page.evaluate(() => dispatchEvent(new Event('online')));

/** A reader on the server itself (not through the proxy): every stored note, in seq order. */
function reader(room: string) {
  const notes = recorder<{ text: string }>();
  open({ base: watched.demo.server.url, room }).subscribe('notes', notes.listener);
  return {
    texts: () => notes.events.flatMap((event) => (event.type === 'message' ? [event.value.text] : [])),
    seqs: notes.seqs,
  };
}

/** Test 1 on `page`: 100 notes while the room is unreachable, a reload, then the room back. */
async function outlivesReload(page: Page, room: string, problems: string[]): Promise<void> {
  await notesPage(page, room);
  await connected(page);

  watched.cutNetwork();
  await appendNotes(page, 100, 'offline');
  await expect.poll(() => unsent(page), { timeout: STEP_MS }).toBe('100');
  await expect.poll(() => onDisk(page).then((values) => values.length), { timeout: STEP_MS }).toBe(100);

  await page.reload(); // still unreachable: the page comes from the shell, the notes from the disk
  await expect.poll(() => unsent(page), { timeout: STEP_MS }).toBe('100');
  expect(await page.locator('#status').getAttribute('data-status')).not.toBe('open');

  watched.demo.network.restore();
  await online(page);
  await connected(page);
  await expect.poll(() => unsent(page), { timeout: STEP_MS }).toBe('0');
  const expected = Array.from({ length: 100 }, (_, i) => `offline ${i}`);
  await expect.poll(() => page.locator('#notes li').allTextContents(), { timeout: STEP_MS }).toEqual(expected);

  const stored = reader(room);
  await waitFor(() => stored.texts().length >= 100, STEP_MS, 'the stored notes');
  expect(stored.texts()).toEqual(expected);
  expect(await onDisk(page)).toEqual([]);
  expect(problems.filter((problem) => !SOCKET_REFUSED_WHILE_CUT.test(problem))).toEqual([]);
  closeAll();
}

describe('the offline outbox in Chromium', () => {
  it('stores exactly the 100 notes appended while the room was unreachable, in order, after a reload', async () => {
    const { room } = await createRoom(watched.demo.url);
    const browser = await launchForShell();
    const problems: string[] = [];
    const context = await browser.newContext();
    context.setDefaultTimeout(STEP_MS);
    await offlineShell(context);
    const page = await context.newPage();
    watchProblems(page, problems);
    try {
      await outlivesReload(page, room, problems);
    } finally {
      await browser.close();
    }
  });

  it('answers the resend of a page closed before its ack as a duplicate, with the original seq', async () => {
    const { room } = await createRoom(watched.demo.url);
    const stored = reader(room);
    const first = await notesPage(await watched.visitor(), room);
    await connected(first);

    watched.demo.network.hold(); // the server's replies stop on their way to the page
    await appendNotes(first, 1, 'held');
    await waitFor(() => stored.texts().length === 1, STEP_MS, 'the note stored by the server');
    const [seq] = stored.seqs();
    expect(await onDisk(first)).toEqual([{ text: 'held 0' }]);
    expect(await unsent(first)).toBe('1');
    const context = first.context();
    await first.close(); // before its ack: the note stays on disk, and this tab's Web Lock goes
    watched.cutNetwork(); // drops the held connection and the ack in it
    watched.demo.network.restore();

    // Another tab of the same browser finds the closed tab's outbox and sends it again.
    const acks: Ack[] = [];
    const second = await notesPage(await context.newPage(), room, acks);
    await connected(second);
    await expect.poll(() => unsent(second), { timeout: STEP_MS }).toBe('0');
    expect(acks).toEqual([{ type: 'ack', id: expect.any(String), seq, duplicate: true }]);
    expect(await onDisk(second)).toEqual([]);
    await expect.poll(() => second.locator('#notes li').allTextContents(), { timeout: STEP_MS }).toEqual(['held 0']);
    expect(stored.texts()).toEqual(['held 0']);
    closeAll();
  });

  it('duplicates none of 50 pending notes resent after 20,000 other publishes in the room', async () => {
    const { room } = await createRoom(watched.demo.url);
    const stored = reader(room);
    const acks: Ack[] = [];
    const page = await notesPage(await watched.visitor(), room, acks);
    await connected(page);

    watched.demo.network.hold();
    await appendNotes(page, 50, 'pending');
    await waitFor(() => stored.texts().length === 50, STEP_MS, 'the 50 notes stored by the server');
    const seqs = stored.seqs();
    watched.cutNetwork(); // offline, none of the 50 acknowledged
    expect(await unsent(page)).toBe('50');

    // Far more than the room's window of recent message IDs (10,000) meanwhile.
    const busy = open({ base: watched.demo.server.url, room });
    for (let sent = 0; sent < 20_000; sent += 1000) {
      await Promise.all(Array.from({ length: 1000 }, (_, i) => busy.append('others', sent + i)));
    }

    watched.demo.network.restore();
    await online(page);
    await connected(page);
    await expect.poll(() => unsent(page), { timeout: STEP_MS }).toBe('0');
    expect(acks).toHaveLength(50);
    expect(acks.map((ack) => [ack.seq, ack.duplicate])).toEqual(seqs.map((seq) => [seq, true]));
    const again = reader(room);
    await waitFor(() => again.texts().length >= 50, STEP_MS, 'the stored notes');
    expect(again.texts()).toEqual(Array.from({ length: 50 }, (_, i) => `pending ${i}`));
    closeAll();
  }, 120_000);
});
