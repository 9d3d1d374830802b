import { runDurableObjectAlarm } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { push } from '../worker/helpers.ts';
import { clientOn, leafStats, leafStub, newFanoutRoom, pushesOf } from './helpers.ts';

describe('a leaf with no socket left', () => {
  it('unlinks at its alarm: it is sent nothing more, and its next socket links afresh and misses nothing', async () => {
    const room = await newFanoutRoom(2);
    const pub = await clientOn(room, 2, 0);
    const gone = await clientOn(room, 2, 1);
    gone.s.send({ type: 'sub', key: 'log' });
    await gone.s.until((m) => m.type === 'init');
    pub.s.send(push('log', 'one', 'append', 'one'));
    const [one] = await pushesOf(gone.s, 'log', 1);
    gone.s.close();
    await gone.s.closed;
    await pub.s.drain();
    expect(await runDurableObjectAlarm(leafStub(room, 1))).toBe(true);
    const before = (await leafStats(room, 1)).received;
    pub.s.send(push('log', 'two', 'append', 'two'));
    await pub.s.until((m) => m.type === 'ack' && m.id === 'two');
    pub.s.send(push('log', 'three', 'append', 'three'));
    await pub.s.until((m) => m.type === 'ack' && m.id === 'three');
    expect((await leafStats(room, 1)).received).toBe(before);
    const back = await clientOn(room, 2, 1);
    back.s.send({ type: 'sub', key: 'log', seq: one.seq });
    const init = await back.s.until((m) => m.type === 'init');
    expect(init.data.map((e: { value: string }) => e.value)).toEqual(['two', 'three']);
    pub.s.send(push('log', 'four'));
    expect((await pushesOf(back.s, 'log', 1))[0].value).toBe('four');
    expect((await back.s.drain()).filter((m) => m.type === 'push')).toEqual([]);
  });

  it('stays linked while it holds a socket', async () => {
    const room = await newFanoutRoom(2);
    const pub = await clientOn(room, 2, 0);
    const here = await clientOn(room, 2, 1);
    here.s.send({ type: 'sub', key: 'log' });
    await here.s.until((m) => m.type === 'init');
    await runDurableObjectAlarm(leafStub(room, 1));
    pub.s.send(push('log', 'still'));
    expect((await pushesOf(here.s, 'log', 1))[0].value).toBe('still');
  });
});
