// Compiled by tsc only (typed.test.ts runs it): the client typed by the fixture's
// subject schemas. Every `@ts-expect-error` must be an error, or tsc fails on it.
import { connect } from '../../../client/index.ts';
import type { TypedRoom } from '../../../client/index.ts';
import type { subjects } from '../fixture/subjects.ts';

const room = connect('ws://example.test/rt/room/abc/connect') as TypedRoom<typeof subjects>;

// Exact names.
void room.append('chat', { text: 'hi' });
// @ts-expect-error text is a string
void room.append('chat', { text: 1 });
// @ts-expect-error chat values are objects
void room.set('chat', 'hi');
void room.set('score', 3);
// @ts-expect-error score is a number
void room.set('score', '3');
// A zod/mini schema types its subject the same way.
void room.set('level', 2);
// @ts-expect-error level is a number
void room.set('level', 'high');

// Prefixes, the longest winning.
void room.publish('cursor/7', { x: 1, y: 2 });
// @ts-expect-error y is missing
void room.publish('cursor/7', { x: 1 });
void room.publish('cursor/admin-1', { x: 1, y: 2, admin: true });
// @ts-expect-error cursor/admin* wants admin: true
void room.publish('cursor/admin-1', { x: 1, y: 2 });

// Subjects no pattern matches take anything.
void room.append('free', Symbol.iterator);

// Listeners and get() see the subject's type.
room.subscribe('chat', (event) => {
  if (event.type === 'message') {
    const text: string = event.value.text;
    // @ts-expect-error no such field
    void event.value.nope;
    void text;
  }
});
const score: number | undefined = room.get('score');
// @ts-expect-error a score is not a string
const wrong: string | undefined = room.get('score');
void score;
void wrong;
void room.compact('score', 1, 4);

// The rest of the room is untouched.
room.setPresence({ name: 'a' });
room.close();
