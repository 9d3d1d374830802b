import { describe, expect, it } from 'vitest';
import { RoomError, type Publish, type PushFrame, type SubjectEvent } from '../../client/index.ts';
import { PushIn, type ClientMessageInput } from '../../protocol/messages.ts';
import { latest, openRoom, redial, useFakeSockets } from './fake-socket.ts';

const settled = async (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );

describe('publishes and the offline queue', () => {
  useFakeSockets();

  it('queues publishes made offline and sends them in order, each with its own client message ID', async () => {
    const room = openRoom();
    const published = [room.publish('p', 1), room.set('k', 2), room.append('s', 3), room.compact('s', 7, 'snap')];
    expect(latest().sent).toEqual([]);
    latest().accept();
    const pushes = latest().frames('push');
    expect(pushes.map(({ id, ...rest }) => rest)).toEqual([
      { type: 'push', key: 'p', value: 1, action: { type: 'relay' } },
      { type: 'push', key: 'k', value: 2, action: { type: 'replace' } },
      { type: 'push', key: 's', value: 3, action: { type: 'append' } },
      { type: 'push', key: 's', value: 'snap', action: { type: 'compact', seq: 7 } },
    ]);
    const ids = pushes.map((frame) => frame.id as string);
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(64);
    ids.forEach((id, i) => latest().receive({ type: 'ack', id, seq: 10 + i }));
    expect(await Promise.all(published)).toEqual([10, 11, 12, 13]);
  });

  it('resends an unacknowledged publish with the same ID after a drop, and takes a duplicate ack as success', async () => {
    const room = openRoom();
    latest().accept();
    const published = room.append('s', 'x');
    const [first] = latest().frames('push');
    latest().drop();
    redial().accept();
    const [again] = latest().frames('push');
    expect(again).toEqual(first);
    latest().receive({ type: 'ack', id: first!.id, seq: 4, duplicate: true });
    expect(await published).toBe(4);
  });

  it('rejects with queue_full beyond the limit, and accepts again once acks free room', async () => {
    const room = openRoom({ queueLimit: 3 });
    const accepted = [room.append('s', 1), room.append('s', 2), room.append('s', 3)];
    for (const promise of accepted) promise.catch(() => {}); // rejected by close() after the test
    const refused = await settled(room.append('s', 4));
    expect(refused).toEqual({ error: new RoomError('queue_full') });
    expect((refused as { error: RoomError }).error.code).toBe('queue_full');
    latest().accept();
    expect(latest().frames('push')).toHaveLength(3);
    const [first] = latest().frames('push');
    latest().receive({ type: 'ack', id: first!.id, seq: 1 });
    expect(await accepted[0]).toBe(1);
    const fourth = room.append('s', 4);
    expect(
      latest()
        .frames('push')
        .map((frame) => frame.value),
    ).toEqual([1, 2, 3, 4]);
    const last = latest().frames('push')[3]!;
    latest().receive({ type: 'ack', id: last.id, seq: 9 });
    expect(await fourth).toBe(9);
  });

  it('rejects with the server error code when the push is refused, and reports id-less errors as events', async () => {
    const room = openRoom();
    const errors: RoomError[] = [];
    room.on('error', (error) => errors.push(error));
    latest().accept();
    const published = room.append('s', 'big');
    const [frame] = latest().frames('push');
    latest().receive({ type: 'error', code: 'too_large', message: 'frame over 262144 bytes', id: frame!.id });
    latest().receive({ type: 'error', code: 'bad_frame', message: 'not JSON' });
    const outcome = await settled(published);
    expect(outcome).toEqual({ error: expect.any(RoomError) });
    const error = (outcome as { error: RoomError }).error;
    expect([error.code, error.message]).toEqual(['too_large', 'frame over 262144 bytes']);
    expect(errors.map((e) => e.code)).toEqual(['bad_frame']);
  });

  it('rejects an oversize publish locally with too_large (the server could not name it), using the welcome limit', async () => {
    const room = openRoom();
    const queued = settled(room.set('k', 'x'.repeat(2000)));
    latest().accept(0, { limits: { maxMessageBytes: 1000 } });
    expect(latest().frames('push')).toEqual([]);
    expect(((await queued) as { error: RoomError }).error.code).toBe('too_large');
    expect(room.get('k')).toBeUndefined();
    const fits = room.append('s', 'é'.repeat(400)); // 800 bytes of UTF-8 plus the envelope
    const [frame] = latest().frames('push');
    latest().receive({ type: 'ack', id: frame!.id, seq: 1 });
    expect(await fits).toBe(1);
    expect(((await settled(room.append('s', 'é'.repeat(480)))) as { error: RoomError }).error.code).toBe('too_large');
  });

  it('rejects every pending publish with "closed" on close(), and refuses new ones', async () => {
    const room = openRoom();
    const pending = room.append('s', 1);
    room.close();
    expect(((await settled(pending)) as { error: RoomError }).error.code).toBe('closed');
    expect(((await settled(room.set('k', 1))) as { error: RoomError }).error.code).toBe('closed');
  });

  it('types its push frames as the server reads them (PushFrame, written out without zod)', () => {
    const frame: PushFrame = {
      type: 'push',
      key: 's',
      value: 1,
      action: { type: 'compact', seq: 2 },
      id: 'a',
      n: 1,
      origin: 'o'.repeat(16),
    };
    const wire: ClientMessageInput = frame; // fails to compile if PushFrame drifts from the schema
    expect(PushIn.parse(wire)).toEqual(frame);
  });

  it('uses the outbox it is given: entries put in before connect go first, as they are; settled ones leave it', async () => {
    const outbox = new Map<string, Publish>();
    const earlier: unknown[] = [];
    const frame: PushFrame = {
      type: 'push',
      key: 's',
      value: 'earlier',
      action: { type: 'append' },
      id: 'old-1',
      n: 7,
    };
    outbox.set('old-1', { frame, resolve: (seq) => earlier.push(seq), reject: (error) => earlier.push(error) });
    const room = openRoom({ outbox });
    const now = room.append('s', 'now');
    expect([...outbox.keys()]).toHaveLength(2);
    latest().accept();
    const [first, second] = latest().frames('push');
    expect(first).toEqual(frame);
    expect(second).toMatchObject({ value: 'now' });
    latest().receive({ type: 'ack', id: 'old-1', seq: 3, duplicate: true });
    expect(earlier).toEqual([3]);
    expect([...outbox.keys()]).toEqual([second!.id]);
    const queued = room.append('s', 'full');
    room.close();
    // close() rejects what waits and deletes nothing: an outbox on disk keeps it for later.
    expect(((await settled(now)) as { error: RoomError }).error.code).toBe('closed');
    expect(((await settled(queued)) as { error: RoomError }).error.code).toBe('closed');
    expect(outbox.size).toBe(2);
  });
});

describe('optimistic set', () => {
  useFakeSockets();

  function subscribed() {
    const room = openRoom();
    const events: SubjectEvent[] = [];
    room.subscribe('title', (event) => events.push(event));
    latest().accept(1);
    latest().receive({ type: 'init', key: 'title', data: [{ value: 'old', seq: 1 }] });
    return { room, events };
  }

  it('shows the new value at once and keeps it when acknowledged', async () => {
    const { room } = subscribed();
    const written = room.set('title', 'new');
    expect(room.get('title')).toBe('new');
    const [frame] = latest().frames('push');
    latest().receive({ type: 'push', key: 'title', value: 'new', seq: 2, client: 'me' });
    latest().receive({ type: 'ack', id: frame!.id, seq: 2 });
    await written;
    expect(room.get('title')).toBe('new');
  });

  it('rolls back to the last confirmed value and tells the listener when the server rejects', async () => {
    const { room, events } = subscribed();
    const written = settled(room.set('title', 'x'.repeat(10)));
    expect(room.get('title')).toBe('xxxxxxxxxx');
    const [frame] = latest().frames('push');
    latest().receive({ type: 'error', code: 'too_large', message: 'too large', id: frame!.id });
    expect(room.get('title')).toBe('old');
    expect(events.at(-1)).toEqual({ type: 'rollback', subject: 'title', value: 'old', error: expect.any(RoomError) });
    expect(((await written) as { error: RoomError }).error.code).toBe('too_large');
  });

  it('rolls back to a newer value from someone else that arrived meanwhile', () => {
    const { room, events } = subscribed();
    void room.set('title', 'mine').catch(() => {});
    const [frame] = latest().frames('push');
    latest().receive({ type: 'push', key: 'title', value: 'theirs', seq: 3, client: 'other' });
    expect(room.get('title')).toBe('mine');
    latest().receive({ type: 'error', code: 'bad_message', message: 'no', id: frame!.id });
    expect(room.get('title')).toBe('theirs');
    expect(events.at(-1)).toMatchObject({ type: 'rollback', value: 'theirs' });
  });

  it('a rejected older set does not undo a newer pending one', () => {
    const { room, events } = subscribed();
    void room.set('title', 'first').catch(() => {});
    void room.set('title', 'second').catch(() => {});
    const [first] = latest().frames('push');
    latest().receive({ type: 'error', code: 'bad_message', message: 'no', id: first!.id });
    expect(room.get('title')).toBe('second');
    expect(events.some((event) => event.type === 'rollback')).toBe(false);
  });

  it('an acknowledged set stays readable without a subscription, and loses to a later seq', async () => {
    const room = openRoom();
    latest().accept();
    const written = room.set('free', 1);
    const [frame] = latest().frames('push');
    latest().receive({ type: 'ack', id: frame!.id, seq: 5 });
    await written;
    expect(room.get('free')).toBe(1);
  });
});
