/**
 * The client in a room with more members than its roster shows (maxRosterPeers,
 * 2 here): `peers` holds the room's first members by arrival, and `members`
 * events say how many more there are, so `peers.size + 1 + hidden` is the room.
 */
import { expect, it } from 'vitest';
import { createRoom, type Room } from '../../client/index.ts';
import { open, useServer } from './client-harness.ts';
import { waitFor } from './wait.ts';

const server = useServer({ MAX_ROSTER_PEERS: '2' });

/** A client and the last `members` count it heard (0 until one comes). */
function member(url: string, name: string): { room: Room; hidden: () => number } {
  const room = open(url, { presence: { name } });
  let hidden = 0;
  room.on('members', (frame) => {
    hidden = frame.hidden;
  });
  return { room, hidden: () => hidden };
}

it('shows the first members by arrival and counts the rest, and promotes the next one when a shown member leaves', async () => {
  const { socket_url: url } = await createRoom(server.url);
  const clients: ReturnType<typeof member>[] = [];
  for (const name of ['ann', 'bob', 'cat', 'dan']) {
    const c = member(url, name);
    clients.push(c);
    await waitFor(() => c.room.status === 'open', 10_000, `${name} open`);
  }
  const [ann, bob, cat, dan] = clients as [
    (typeof clients)[0],
    (typeof clients)[0],
    (typeof clients)[0],
    (typeof clients)[0],
  ];
  const names = (room: Room): string[] =>
    [...room.peers.values()].map((p) => (p.state as { name: string }).name).sort();
  const total = (c: typeof ann): number => c.room.peers.size + 1 + c.hidden();

  await waitFor(
    () => clients.every((c) => total(c) === 4) && names(dan.room).join() === 'ann,bob',
    10_000,
    'everyone counts 4',
  );
  expect(names(ann.room)).toEqual(['bob']);
  expect([ann.hidden(), bob.hidden(), cat.hidden(), dan.hidden()]).toEqual([2, 2, 1, 1]);

  ann.room.close();
  await waitFor(
    () => [bob, cat, dan].every((c) => total(c) === 3 && !names(c.room).includes('ann')),
    10_000,
    'ann gone',
  );
  // cat waited longest: it takes ann's place, and dan is the one left out.
  expect(names(dan.room)).toEqual(['bob', 'cat']);
  expect(names(bob.room)).toEqual(['cat']);
  expect([bob.hidden(), cat.hidden(), dan.hidden()]).toEqual([1, 1, 0]);
});
