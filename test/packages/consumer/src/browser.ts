// Browser code using every client entry point, typed by the server's subjects.
import { connect, createRoom, type RoomError, type Room, type SubjectEvent, type TypedRoom } from 'edgeroom';
import { withToken } from 'edgeroom/auth';
import * as hooks from 'edgeroom/react';
import { RoomProvider, usePresence, useSharedState, useStatus, useStream, type TypedHooks } from 'edgeroom/react';
import { withCache } from 'edgeroom/cache';
import { connectOffline, type OfflineRoom } from 'edgeroom/offline';
import { rpc, type Rpc } from 'edgeroom/rpc';
import { signaling } from 'edgeroom/signaling';
import { connectShared, type SharedRoom } from 'edgeroom/tabs';
import { createElement, useEffect, type ReactNode } from 'react';
import type { subjects } from './subjects.ts';

/** Publishes made offline survive a reload. */
export async function openOffline(socketUrl: string): Promise<OfflineRoom> {
  const room = await withCache(await connectOffline(socketUrl), socketUrl, { limit: 50 });
  room.subscribe('chat', (event) => event.type === 'message' && console.log(event.value), { last: 50 });
  room.on('pending', (count: number) => console.log(`${count} unsent`));
  room.on('expired', (publish) => void publish.resend());
  await room.append('chat', { text: 'written offline' });
  return room;
}

export async function open(base: string): Promise<Room> {
  const { socket_url } = await createRoom(base);
  const room = connect(socket_url, { WebSocket: withToken(() => fetch('/token').then((r) => r.text())) });
  const typed = room as TypedRoom<typeof subjects>;
  typed.subscribe(
    'chat',
    (event) => {
      if (event.type === 'message') console.log(event.value.text.toUpperCase());
    },
    { last: 20 },
  );
  await typed.append('chat', { text: 'hi' });
  await typed.set('cursor:ada', { x: 1, y: 2 });
  // @ts-expect-error: `chat` takes { text: string }; the types must not be `any`
  await typed.append('chat', { body: 'hi' });
  room.on('error', (error: RoomError) => console.error(error.code));
  const calls = signaling(room, { onCall: (call) => call.pc.createDataChannel('chat') });
  console.log(calls.calls.size);
  // Calls between peers, on the same room as the signaling helper: call each peer it has a call with.
  const peers: Rpc = rpc(room, { methods: { ping: (_params, { from }) => `pong to ${from}` } });
  for (const conn of calls.calls.keys()) console.log(await peers.call<string>(conn, 'ping'));
  return room;
}

/** One socket for all of this browser's tabs, with tokens: a SharedRoom is a Room. */
export function shared(socketUrl: string): Room {
  const room: SharedRoom = connectShared(socketUrl, {
    WebSocket: withToken(() => 'a token'),
    stepDownWhenHidden: true,
  });
  console.log(room.leader ? 'this tab holds the socket' : 'another tab does');
  // @ts-expect-error: `leader` is read-only
  room.leader = true;
  return room;
}

/** Both: one socket for all tabs, and each tab's publishes on disk. The room keeps `leader`. */
export async function sharedOffline(socketUrl: string): Promise<OfflineRoom<SharedRoom>> {
  const room = await connectOffline(socketUrl, { connect: connectShared, retentionSeconds: 3600 });
  room.on('pending', (count: number) => console.log(`${count} unsent`, room.leader ? 'here' : 'in another tab'));
  const hidden = await connectOffline(socketUrl, {
    connect: (address, options) => connectShared(address, { ...options, stepDownWhenHidden: true }),
  });
  console.log(hidden.leader);
  return room;
}

/** Calls from a component: the provider's room, as `useRoom` gives it. */
export function Pinger({ to }: { to: string }): ReactNode {
  const room = hooks.useRoom();
  useEffect(() => {
    if (!room) return;
    const peers = rpc(room);
    void peers.call<string>(to, 'ping').then(console.log, console.error);
    return () => peers.close();
  }, [room, to]);
  return null;
}

export function Chat(): ReactNode {
  const [messages, append] = useStream<{ text: string }>('chat', 50);
  const [count, setCount] = useSharedState('count', 0);
  const [, setMine, others] = usePresence({ name: 'ada' });
  const status = useStatus();
  const last: SubjectEvent<{ text: string }> | undefined = messages.at(-1);
  void append({ text: 'hello' });
  void setCount((n) => n + 1);
  setMine({ name: 'grace' });
  return createElement('p', null, `${status} ${count} ${others.length} ${last?.type ?? ''}`);
}

export const App = (): ReactNode =>
  createElement(RoomProvider, { base: 'https://rooms.example.com/rt' }, createElement(Chat));

// The hooks typed by the same subjects, through a type-only view of the module.
export function TypedChat(): ReactNode {
  const typed = hooks as TypedHooks<typeof subjects>;
  const [entries, append] = typed.useStream('chat');
  const [cursor, setCursor] = typed.useSharedState('cursor:ada', { x: 0, y: 0 });
  void setCursor((c) => ({ x: c.x + 1, y: c.y }));
  // @ts-expect-error: `chat` takes { text: string }
  void append({ text: 1 });
  // @ts-expect-error: `cursor*` takes { x: number, y: number }
  void typed.usePublish('cursor:bob')({ x: 'left' });
  return createElement('p', null, `${entries[0]?.value.text.length} ${cursor.x}`);
}
