/**
 * A witness: an ordinary client that publishes 10 relays a second to a subject
 * it subscribes to, and times each one from send to its own echo. Its latency
 * is what any other user of the room (or of the process) would feel.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

export interface Witness {
  /** This socket's connection ID, from its welcome. */
  conn: string;
  /** Direct messages received so far (a dm flood's target counts what got through). */
  readonly dms: number;
  /** Publishes for `ms` at 10/s; resolves with each round trip in ms. Rejects on any error frame or close. */
  measure(ms: number): Promise<number[]>;
  close(): void;
}

export async function openWitness(socketUrl: string, name: string): Promise<Witness> {
  const ws = new WebSocket(socketUrl);
  const pending = new Map<string, number>();
  const rtts: number[] = [];
  let dms = 0;
  let failure: Error | undefined;
  let welcomed: (conn: string) => void;
  const welcome = new Promise<string>((resolve) => (welcomed = resolve));
  ws.on('message', (data) => {
    for (const m of [JSON.parse(data.toString())].flat()) {
      if (m.type === 'welcome') welcomed(m.conn);
      if (m.type === 'dm') dms++;
      if (m.type === 'error') failure ??= new Error(`witness ${name} got an error: ${JSON.stringify(m)}`);
      if (m.type === 'push' && m.key === 'w') {
        const sentAt = pending.get(String(m.value));
        if (sentAt !== undefined) {
          pending.delete(String(m.value));
          rtts.push(performance.now() - sentAt);
        }
      }
    }
  });
  ws.on('close', (code) => (failure ??= new Error(`witness ${name} was closed with ${code}`)));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'hello', protocol: 1, secret: `witness-${name}-0123456789` }));
  const conn = await Promise.race([
    welcome,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no welcome')), 10_000)),
  ]);
  ws.send(JSON.stringify({ type: 'sub', key: 'w', replay: false }));
  let n = 0;

  return {
    conn,
    get dms() {
      return dms;
    },
    async measure(ms) {
      rtts.length = 0;
      const end = performance.now() + ms;
      while (performance.now() < end) {
        const value = `${name}-${++n}`;
        pending.set(value, performance.now());
        ws.send(JSON.stringify({ type: 'push', key: 'w', value, action: { type: 'relay' } }));
        await new Promise((resolve) => setTimeout(resolve, 100));
        if (failure) throw failure;
      }
      // The last echoes, bounded: anything still missing after 30 s counts as lost.
      const deadline = performance.now() + 30_000;
      while (pending.size > 0 && performance.now() < deadline && !failure)
        await new Promise((resolve) => setTimeout(resolve, 10));
      if (failure) throw failure;
      if (pending.size > 0) throw new Error(`witness ${name}: ${pending.size} publishes never came back`);
      return [...rtts];
    },
    close: () => ws.close(),
  };
}

/** The p-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
