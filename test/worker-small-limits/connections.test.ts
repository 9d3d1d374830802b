import { describe, expect, it } from 'vitest';
import { connect, freshRoom } from '../worker/helpers.ts';

describe('connection cap', () => {
  it('closes a socket over MAX_CONNECTIONS (3 here) with 4002, and admits one again after a leave', async () => {
    const room = freshRoom();
    const socks = [await connect(room), await connect(room), await connect(room)];
    const fourth = await connect(room);
    expect(await fourth.closed).toEqual({ code: 4002, reason: 'room is full (3 connections)' });
    socks[0]!.close();
    await socks[0]!.closed;
    await socks[1]!.drain(); // the room has processed the close by the time it answers
    const again = await connect(room);
    again.send({ type: 'ping', nonce: 1 });
    expect(await again.next()).toEqual({ type: 'pong', nonce: 1 });
  });
});
