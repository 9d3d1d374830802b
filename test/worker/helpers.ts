/**
 * Test sockets for worker tests: real WebSockets into the real worker, with
 * every wait bounded by a timeout.
 */
import { env, exports } from 'cloudflare:workers';
import { decode } from 'cborg';
import { afterEach } from 'vitest';
import { ServerMessage } from '../../protocol/messages.ts';
import { clientIdOf } from '../../worker/identity.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Msg = any;

export const WAIT_MS = 3000;

let counter = 0;
/** A fresh room ID per test, so tests never share state. */
export const freshRoom = (label = 'room'): string => `${label}-${Date.now().toString(36)}-${++counter}`;

export const roomStub = (room: string) => env.ROOMS.get(env.ROOMS.idFromName(room));

export function http(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`http://edgeroom.test${path}`, init));
}

/**
 * Why a message the server sent is not a ServerMessage, or undefined when it is.
 * Strict: a field the schema does not name is drift too, though zod's objects
 * would strip it and pass.
 */
export function schemaProblem(message: unknown): string | undefined {
  const parsed = ServerMessage.safeParse(message);
  if (!parsed.success)
    return parsed.error.issues.map((i) => `${i.path.join('.') || '(frame)'}: ${i.message}`).join('; ');
  const extra = extraFields(message, parsed.data, '');
  return extra.length ? `fields the schema does not name: ${extra.join(', ')}` : undefined;
}

/** Fields of `raw` that zod left out of `parsed`. A z.unknown() value comes back as the same reference, so it is not searched. */
function extraFields(raw: unknown, parsed: unknown, path: string): string[] {
  if (raw === parsed || raw === null || typeof raw !== 'object' || parsed === null || typeof parsed !== 'object')
    return [];
  const at = (k: string) => (path ? `${path}.${k}` : k);
  const out = parsed as Record<string, unknown>;
  return Object.entries(raw).flatMap(([k, v]) => (k in out ? extraFields(v, out[k], at(k)) : [at(k)]));
}

/** What the sockets of the running test received that is not a ServerMessage. */
const offSchema: string[] = [];
// Messages a test reads through next(), until() or drain() fail it at once; this
// catches the rest (read from `received`, or never read) when the test ends.
afterEach(() => {
  const found = offSchema.splice(0);
  if (found.length) throw new Error(`The server sent ${found.length} message(s) off its schema:\n${found.join('\n')}`);
});

export class TestSocket {
  readonly ws: WebSocket;
  readonly received: Msg[] = [];
  /** The size of every array frame received. */
  readonly batches: number[] = [];
  #read = 0;
  #waiters: (() => void)[] = [];
  #nonce = 1_000_000;
  closed: Promise<{ code: number; reason: string }>;

  constructor(ws: WebSocket) {
    this.ws = ws;
    // workerd hands client-side binary frames over as Blobs unless asked otherwise.
    (ws as WebSocket & { binaryType: string }).binaryType = 'arraybuffer';
    ws.accept();
    ws.addEventListener('message', (e) => {
      const message =
        typeof e.data === 'string'
          ? JSON.parse(e.data)
          : decode(new Uint8Array(e.data as ArrayBuffer), { tags: { 64: (d: () => unknown) => d() } as never });
      // Clients that said hello may get a batch: several messages in one array frame.
      const batch = Array.isArray(message) && typeof e.data === 'string';
      if (batch) this.batches.push(message.length);
      for (const m of batch ? message : [message]) {
        const problem = schemaProblem(m);
        if (problem) offSchema.push(`${problem} in ${JSON.stringify(m)?.slice(0, 300)}`);
        this.received.push(m);
      }
      this.#wake();
    });
    this.closed = new Promise((resolve) =>
      ws.addEventListener('close', (e) => {
        resolve({ code: e.code, reason: e.reason });
        this.#wake();
      }),
    );
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  sendRaw(frame: string | ArrayBuffer | Uint8Array): void {
    this.ws.send(frame);
  }

  /** The next message not yet read. */
  async next(timeoutMs = WAIT_MS): Promise<Msg> {
    await this.#waitFor(() => this.received.length > this.#read, timeoutMs, 'a message');
    const m = this.received[this.#read++];
    const problem = schemaProblem(m);
    if (problem)
      throw new Error(`The server sent a message off its schema: ${problem} in ${JSON.stringify(m)?.slice(0, 300)}`);
    return m;
  }

  /** Reads messages until one matches; returns it (skipped ones are consumed). */
  async until(match: (m: Msg) => boolean, timeoutMs = WAIT_MS): Promise<Msg> {
    for (;;) {
      const m = await this.next(timeoutMs);
      if (match(m)) return m;
    }
  }

  /**
   * Everything that arrives before the answer to a ping sent now. The room
   * handles one socket's frames in order, so this proves what was (not) sent.
   */
  async drain(timeoutMs = WAIT_MS): Promise<Msg[]> {
    const nonce = ++this.#nonce;
    this.send({ type: 'ping', nonce });
    const before: Msg[] = [];
    for (;;) {
      const m = await this.next(timeoutMs);
      if (m.type === 'pong' && m.nonce === nonce) return before;
      before.push(m);
    }
  }

  close(code = 1000): void {
    this.ws.close(code, 'test done');
  }

  async #waitFor(ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `Timed out after ${timeoutMs} ms waiting for ${what}; received so far: ${JSON.stringify(this.received.slice(this.#read))}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

export async function connect(room: string, query = ''): Promise<TestSocket> {
  const res = await http(`/room/${room}/connect${query}`, { headers: { Upgrade: 'websocket' } });
  if (res.status !== 101 || !res.webSocket) throw new Error(`Upgrade failed: ${res.status} ${await res.text()}`);
  return new TestSocket(res.webSocket);
}

/**
 * The `early.` subprotocol entry carrying `frames` (docs/protocol.md, Early frames): a URI-encoded
 * JSON array, with `(` and `)` escaped as well, as the client encodes it.
 */
export const earlyEntry = (frames: unknown[]): string =>
  `early.${encodeURIComponent(JSON.stringify(frames)).replace(/[()]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}`;

/** A socket whose upgrade offers `edgeroom.v1` and `extra` entries (`earlyEntry(…)`, `auth.…`). Resolves with the 101 too. */
export async function connectOffering(
  room: string,
  extra: string[],
  query = '',
): Promise<{ s: TestSocket; res: Response }> {
  const res = await http(`/room/${room}/connect${query}`, {
    headers: { Upgrade: 'websocket', 'sec-websocket-protocol': ['edgeroom.v1', ...extra].join(', ') },
  });
  if (res.status !== 101 || !res.webSocket) throw new Error(`Upgrade failed: ${res.status} ${await res.text()}`);
  return { s: new TestSocket(res.webSocket), res };
}

/** The hello secret of a test client called `name`: long enough for the server. */
export const secretOf = (name: string): string => `${name}-secret-0123456789`;
/** The client ID the server derives for that client. */
export const idOf = (name: string): string => clientIdOf(secretOf(name));

/** An edgeroom client socket called `name`: said hello with its secret, and welcomed. */
export async function connectClient(
  room: string,
  name?: string,
  presence?: unknown,
): Promise<{ s: TestSocket; welcome: Msg }> {
  const s = await connect(room);
  s.send({
    type: 'hello',
    protocol: 1,
    ...(name ? { secret: secretOf(name) } : {}),
    ...(presence === undefined ? {} : { presence }),
  });
  const welcome = await s.next();
  if (welcome.type !== 'welcome') throw new Error(`Expected welcome, got ${JSON.stringify(welcome)}`);
  return { s, welcome };
}

export const push = (
  key: string,
  value: unknown,
  action: string | { type: 'compact'; seq: number } = 'append',
  id?: string,
) => ({
  type: 'push',
  key,
  value,
  action: typeof action === 'string' ? { type: action } : action,
  ...(id ? { id } : {}),
});

export const hex = (s: string): Uint8Array =>
  new Uint8Array(
    s
      .replace(/\s+/g, '')
      .match(/../g)!
      .map((b) => parseInt(b, 16)),
  );

/** The origin secret of a test outbox called `name`. */
export const originOf = (name: string): string => `${name}-outbox-0123456789`;

/** A counted push: number `n` of the outbox `origin` (a secret), with the id `n<n>` unless given. */
export const counted = (
  key: string,
  value: unknown,
  n: number,
  origin: string,
  action: string | { type: 'compact'; seq: number } = 'append',
  id = `n${n}`,
) => ({ ...push(key, value, action, id), n, origin });
