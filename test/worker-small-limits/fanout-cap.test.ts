import { describe, expect, it } from 'vitest';
import { connect, idOf } from '../worker/helpers.ts';
import { nameOnLeaf, newFanoutRoom } from '../worker-fanout/helpers.ts';

describe('connection cap in a fanned-out room', () => {
  it('is per leaf: a leaf at MAX_CONNECTIONS (3 here) closes the next socket with 4002 while another leaf admits it', async () => {
    const room = await newFanoutRoom(2);
    const onLeaf = (leaf: number) => connect(room, `?client=${idOf(nameOnLeaf(2, leaf))}`);
    const full = [await onLeaf(0), await onLeaf(0), await onLeaf(0)];
    const fourth = await onLeaf(0);
    expect(await fourth.closed).toEqual({ code: 4002, reason: 'room is full (3 connections)' });
    const elsewhere = await onLeaf(1);
    elsewhere.send({ type: 'ping', nonce: 1 });
    expect(await elsewhere.next()).toEqual({ type: 'pong', nonce: 1 });
    for (const s of full) {
      s.send({ type: 'ping', nonce: 2 });
      expect(await s.next()).toEqual({ type: 'pong', nonce: 2 });
    }
  });
});
