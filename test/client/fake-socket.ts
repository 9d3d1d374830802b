/**
 * A WebSocket stand-in for unit tests: records what the client sends and lets
 * the test play the server (open, frames, close codes) synchronously.
 */
import { afterEach, beforeEach, vi } from 'vitest';
import { DEFAULT_LIMITS } from '../../protocol/limits.ts';
import { connect } from '../../client/index.ts';
import type { Room, RoomAddress, RoomOptions } from '../../client/index.ts';

export class FakeSocket {
  static all: FakeSocket[] = [];
  url: string;
  /** The subprotocols offered, as `withToken` passes them. */
  protocols?: string[];
  readyState = 0;
  sent: string[] = [];
  closedByClient = false;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  /** The early frames the upgrade offered (docs/protocol.md), as the room would take them: before any sent. */
  early: string[] = [];

  constructor(url: string, protocols?: string[]) {
    this.url = url;
    this.protocols = protocols;
    const entry = protocols?.find((p) => p.startsWith('early.'));
    if (entry) {
      // A real browser refuses anything but a header token here; so do we.
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(entry)) throw new SyntaxError(`not a token: ${entry}`);
      this.early = (JSON.parse(decodeURIComponent(entry.slice(6))) as unknown[]).map((f) => JSON.stringify(f));
    }
    FakeSocket.all.push(this);
  }
  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(data);
  }
  close(): void {
    this.closedByClient = true;
    this.readyState = 3;
  }

  // ---- the test plays the server ----
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(message: object): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason } as { code: number });
  }
  /**
   * What the room receives, parsed, optionally of one type: the early frames, then the sent
   * ones; the latency pings only when asked for (`frames('ping')`).
   */
  frames(type?: string): Record<string, unknown>[] {
    return [...this.early, ...this.sent]
      .map((text) => JSON.parse(text) as Record<string, unknown>)
      .filter((frame) => (type === undefined ? frame.type !== 'ping' : frame.type === type));
  }
  /** Open, then answer the hello with a welcome carrying the default limits, as the server does. */
  accept(seq = 0, extra: object = {}): void {
    this.open();
    this.receive({
      type: 'welcome',
      protocol: 1,
      conn: 'c1',
      client: 'me',
      seq,
      limits: DEFAULT_LIMITS,
      peers: [],
      ...extra,
    });
  }
}

export const latest = (): FakeSocket => {
  const socket = FakeSocket.all.at(-1);
  if (!socket) throw new Error('no socket was made');
  return socket;
};

const rooms: Room[] = [];

export const SECRET = 'secret-of-me-0123';

/** A room on a fake socket with a fixed secret and jitter 0.5. Closed after each test. */
export function openRoom(options: RoomOptions = {}, url: RoomAddress = 'ws://test.invalid/room/r/connect'): Room {
  const room = connect(url, {
    WebSocket: FakeSocket,
    secret: SECRET,
    random: () => 0.5,
    ...options,
  });
  rooms.push(room);
  return room;
}

/** Run timers one at a time until the client dials again; return the new socket. */
export function redial(): FakeSocket {
  const before = FakeSocket.all.length;
  for (let i = 0; i < 10 && FakeSocket.all.length === before; i++) vi.advanceTimersToNextTimer();
  if (FakeSocket.all.length === before) throw new Error('no reconnect happened');
  return latest();
}

export function useFakeSockets(): void {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
  });
  afterEach(() => {
    for (const room of rooms.splice(0)) room.close();
    vi.useRealTimers();
  });
}
