// One socket per browser (edgeroom/tabs) on the demo's tabs page: three tabs
// of one browser profile (one context: one origin's storage, Web Locks and
// BroadcastChannel) share one socket; another profile watches the room's
// roster and publishes. Unit tests of the routing: test/client/tabs.test.ts.
import { describe, expect, it } from 'vitest';
import { connected, newRoomUrl, screenshot, STEP_MS, useWatchedDemo } from './harness.ts';

type Page = import('playwright-core').Page;

const watched = useWatchedDemo();
const POLL = { timeout: STEP_MS };

/** A room made by an observer (another profile), who stays on its presence page. */
async function roomWithObserver(): Promise<{ observer: Page; id: string }> {
  const observer = await watched.visitor();
  const url = await newRoomUrl(observer, watched.demo.url);
  await connected(observer);
  return { observer, id: url.split('/r/')[1]! };
}

/** `count` tabs of one new profile on the tabs page; `page.on('websocket')` counts the sockets they open. */
async function openTabs(id: string, count: number, init?: () => void): Promise<{ tabs: Page[]; sockets: string[] }> {
  const first = await watched.visitor();
  const context = first.context();
  if (init) await context.addInitScript(init);
  const sockets: string[] = [];
  const tabs = [first];
  for (let i = 1; i < count; i++) tabs.push(await context.newPage());
  for (const tab of tabs) {
    tab.on('websocket', (ws) => sockets.push(ws.url()));
    await tab.goto(`${watched.demo.url}/demo/tabs?room=${id}`);
  }
  for (const tab of tabs) await connected(tab);
  return { tabs, sockets };
}

/** The connections the observer's roster shows (the server's view), itself left out. */
const roster = (observer: Page) => observer.evaluate(() => [...globalThis.demo.room.peers.keys()]);
const conn = (tab: Page) => tab.evaluate(() => globalThis.demo.room.conn);
const isLeader = (tab: Page) => tab.evaluate(() => (globalThis.demo.room as { leader?: boolean }).leader === true);

/** Records the seqs of `subject` this tab's listener receives, under `globalThis.got[subject]`. */
async function record(tab: Page, subject: string): Promise<void> {
  await tab.evaluate((subject) => {
    const got = ((globalThis as { got?: Record<string, number[]> }).got ??= {});
    got[subject] = [];
    globalThis.demo.room.subscribe(subject, (event) => event.type === 'message' && got[subject]!.push(event.seq));
  }, subject);
}
const received = (tab: Page, subject: string) =>
  tab.evaluate((subject) => (globalThis as { got?: Record<string, number[]> }).got?.[subject] ?? [], subject);

/** Publishes from the page's room: the seqs it was stored at, in order. */
const append = (page: Page, subject: string, values: unknown[]) =>
  page.evaluate(
    async ([subject, values]) => {
      const seqs: number[] = [];
      for (const value of values as unknown[]) seqs.push(await globalThis.demo.room.append(subject as string, value));
      return seqs;
    },
    [subject, values] as const,
  );

/** Waits until every tab's room has subscribed (its `sub` went out): a publish after that is live for it. */
const settled = (tabs: Page[]) =>
  Promise.all(tabs.map((tab) => tab.evaluate(() => globalThis.demo.room.append('settle', 0))));

declare global {
  var demo: { room: import('../../client/index.ts').Room };
}

describe('one socket per browser', () => {
  it('three tabs open one socket, and the room sees one connection', async () => {
    const { observer, id } = await roomWithObserver();
    const { tabs, sockets } = await openTabs(id, 3);
    expect(sockets).toHaveLength(1);
    const conns = await Promise.all(tabs.map(conn));
    expect(new Set(conns).size).toBe(1);
    await expect.poll(() => roster(observer), POLL).toEqual([conns[0]]);
    expect((await Promise.all(tabs.map(isLeader))).filter(Boolean)).toHaveLength(1);
    // The page says which tab holds the socket, and a tap in any tab shows in every tab.
    const roles = await Promise.all(tabs.map((tab) => tab.locator('#role').textContent()));
    expect(roles.filter((role) => role?.startsWith('This tab'))).toHaveLength(1);
    expect(roles.filter((role) => role?.startsWith('Another tab holds the socket'))).toHaveLength(2);
    const follower = tabs[(await Promise.all(tabs.map(isLeader))).indexOf(false)]!;
    await follower.getByRole('button', { name: 'tap' }).click();
    const label = await follower.evaluate(() => sessionStorage.getItem('demo.tab'));
    for (const tab of tabs)
      await expect.poll(() => tab.locator('#taps li').allTextContents(), POLL).toEqual([`#1 from ${label}`]);
    await screenshot(tabs[0]!, 'tabs');
  });

  it('every tab gets every value of the subjects it subscribed to, exactly once', async () => {
    const { observer, id } = await roomWithObserver();
    const { tabs } = await openTabs(id, 3);
    const [a, b, c] = tabs as [Page, Page, Page];
    await record(a, 'x');
    await record(b, 'x');
    await record(b, 'y');
    await record(c, 'y');
    await settled(tabs);
    // Interleaved, from the other profile and from the tabs themselves.
    const fromObserver = await Promise.all([append(observer, 'x', [1, 2, 3, 4, 5]), append(observer, 'y', [1, 2, 3])]);
    const fromTabs = await Promise.all([append(a, 'y', ['a']), append(c, 'x', ['c'])]);
    const x = [...fromObserver[0], ...fromTabs[1]].sort((m, n) => m - n);
    const y = [...fromObserver[1], ...fromTabs[0]].sort((m, n) => m - n);
    await expect.poll(() => received(a, 'x'), POLL).toEqual(x);
    await expect.poll(() => received(b, 'x'), POLL).toEqual(x);
    await expect.poll(() => received(b, 'y'), POLL).toEqual(y);
    await expect.poll(() => received(c, 'y'), POLL).toEqual(y);
    // And nothing of the subjects they did not subscribe to.
    expect([await received(a, 'y'), await received(c, 'x')]).toEqual([[], []]);
  });

  it('closing the leader elects another; what is published meanwhile reaches every other tab once', async () => {
    const { observer, id } = await roomWithObserver();
    const { tabs } = await openTabs(id, 3);
    for (const tab of tabs) await record(tab, 'log');
    await settled(tabs);
    const before = await append(observer, 'log', ['before']);
    const clientId = await tabs[0]!.evaluate(() => globalThis.demo.room.clientId);
    const leaders = await Promise.all(tabs.map(isLeader));
    const leader = tabs[leaders.indexOf(true)]!;
    const rest = tabs.filter((tab) => tab !== leader);
    const oldConn = await conn(leader);

    await leader.close();
    // During the handover: one from the other profile, one from a tab that has no socket now.
    const [during, fromTab] = await Promise.all([
      append(observer, 'log', ['during']),
      append(rest[0]!, 'log', ['from a tab during the handover']),
    ]);
    const after = await append(observer, 'log', ['after']);
    const all = [...before, ...during, ...fromTab, ...after].sort((m, n) => m - n);

    for (const tab of rest) {
      await connected(tab);
      await expect.poll(() => received(tab, 'log'), POLL).toEqual(all);
    }
    expect((await Promise.all(rest.map(isLeader))).filter(Boolean)).toHaveLength(1);
    // The same client on a new connection: the room sees this browser once, and never the old socket.
    expect(await Promise.all(rest.map((tab) => tab.evaluate(() => globalThis.demo.room.clientId)))).toEqual([
      clientId,
      clientId,
    ]);
    const newConn = await conn(rest[0]!);
    expect(newConn).not.toBe(oldConn);
    await expect.poll(() => roster(observer), POLL).toEqual([newConn]);
  });

  it('a leader whose tab crashes is replaced: its lock goes with it, and nothing published meanwhile is lost', async () => {
    const { observer, id } = await roomWithObserver();
    const { tabs } = await openTabs(id, 3);
    for (const tab of tabs) await record(tab, 'log');
    await settled(tabs);
    const leader = tabs[(await Promise.all(tabs.map(isLeader))).indexOf(true)]!;
    const rest = tabs.filter((tab) => tab !== leader);
    // No pagehide, no last word on the bus: the renderer is gone.
    const cdp = await leader.context().newCDPSession(leader);
    const crashed = leader.waitForEvent('crash');
    void cdp.send('Page.crash').catch(() => {}); // never answered: the session goes with the page
    await crashed;
    const during = await append(observer, 'log', ['after the crash']);
    for (const tab of rest) await expect.poll(() => received(tab, 'log'), POLL).toEqual(during);
    expect((await Promise.all(rest.map(isLeader))).filter(Boolean)).toHaveLength(1);
    const conns = new Set(await Promise.all(rest.map(conn)));
    expect(conns.size).toBe(1);
    await expect.poll(() => roster(observer), POLL).toEqual([...conns]);
  });

  it('a leader told it is being frozen hands over, and the others carry on', async () => {
    const { observer, id } = await roomWithObserver();
    const { tabs } = await openTabs(id, 3);
    for (const tab of tabs) await record(tab, 'log');
    await settled(tabs);
    const leader = tabs[(await Promise.all(tabs.map(isLeader))).indexOf(true)]!;
    const rest = tabs.filter((tab) => tab !== leader);
    const oldConn = await conn(leader);
    // Chromium fires `freeze` at a background page it is about to freeze (CDP's
    // Page.setWebLifecycleState leaves a visible headless page running, events and all).
    await leader.evaluate(() => dispatchEvent(new Event('freeze')));
    const during = await append(observer, 'log', ['after the freeze']);
    for (const tab of tabs) await expect.poll(() => received(tab, 'log'), POLL).toEqual(during);
    expect(await Promise.all(rest.map(isLeader))).toContain(true);
    expect(await isLeader(leader)).toBe(false);
    const conns = new Set(await Promise.all(tabs.map(conn)));
    expect(conns.size).toBe(1);
    expect(conns.has(oldConn)).toBe(false);
    await expect.poll(() => roster(observer), POLL).toEqual([...conns]);
  });

  it('on a phone, a hidden leader hands over to a visible tab; alone, it keeps the socket', async () => {
    const { observer, id } = await roomWithObserver();
    const { tabs } = await openTabs(id, 2, () => {
      Object.defineProperty(Navigator.prototype, 'userAgent', {
        get: () => 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/140.0 Mobile Safari/537.36',
      });
    });
    for (const tab of tabs) await record(tab, 'log');
    await settled(tabs);
    const leader = tabs[(await Promise.all(tabs.map(isLeader))).indexOf(true)]!;
    const other = tabs.find((tab) => tab !== leader)!;
    // As a phone switching tabs: the page becomes hidden (headless pages never do by themselves).
    const show = (tab: Page, state: 'hidden' | 'visible') =>
      tab.evaluate((state) => {
        Object.defineProperty(document, 'visibilityState', { get: () => state, configurable: true });
        document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
      }, state);

    await show(leader, 'hidden');
    const first = await append(observer, 'log', ['leader hidden']);
    for (const tab of tabs) await expect.poll(() => received(tab, 'log'), POLL).toEqual(first);
    expect([await isLeader(leader), await isLeader(other)]).toEqual([false, true]);

    // The visible leader goes; the hidden tab has left the queue, so it waits to be shown.
    await other.close();
    await expect.poll(() => leader.evaluate(() => globalThis.demo.room.status), POLL).toBe('reconnecting');
    const meanwhile = await append(observer, 'log', ['nobody leads']);
    expect(await isLeader(leader)).toBe(false);
    await show(leader, 'visible');
    await expect.poll(() => received(leader, 'log'), POLL).toEqual([...first, ...meanwhile]);
    expect(await isLeader(leader)).toBe(true);

    // Hidden again, but alone: there is no one to hand over to.
    await show(leader, 'hidden');
    const last = await append(observer, 'log', ['alone and hidden']);
    await expect.poll(() => received(leader, 'log'), POLL).toEqual([...first, ...meanwhile, ...last]);
    expect(await isLeader(leader)).toBe(true);
  });

  it('without Web Locks, each tab opens a socket of its own, as without edgeroom/tabs', async () => {
    const { observer, id } = await roomWithObserver();
    const { tabs, sockets } = await openTabs(id, 3, () => {
      // An older browser, or an insecure origin.
      Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined });
    });
    expect(sockets).toHaveLength(3);
    const conns = await Promise.all(tabs.map(conn));
    expect(new Set(conns).size).toBe(3);
    await expect.poll(async () => (await roster(observer)).sort(), POLL).toEqual([...conns].sort());
  });
});
