// `npm run dev` (scripts/dev.mjs) stopped by its PID, as a process manager or
// `kill` would stop it, takes wrangler and its workerd processes with it and
// frees the port. It used to forward the signal to npx alone, which left
// wrangler and workerd running on the port.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { waitFor } from './wait.ts';

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

/** Every live process below `root` (Linux /proc). */
function descendants(root: number): number[] {
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  return all.filter((pid) => {
    for (let p = parentOf(pid), hops = 0; p > 1 && hops < 50; p = parentOf(p), hops++) if (p === root) return true;
    return false;
  });
}

const alive = (pid: number): boolean => {
  try {
    // A zombie has exited; only its entry is left until its parent reaps it.
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('npm run dev', () => {
  it('stops wrangler and workerd, and frees the port, when its own PID gets SIGTERM', async () => {
    const port = await freePort();
    const dev = spawn(process.execPath, ['scripts/dev.mjs'], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let exited = false;
    dev.on('exit', () => (exited = true));
    let children: number[] = [];
    let output = '';
    dev.stdout.on('data', (d) => (output += d));
    dev.stderr.on('data', (d) => (output += d));
    try {
      const demo = await waitFor(
        async () => {
          try {
            return await fetch(`http://127.0.0.1:${port}/`, { redirect: 'manual', signal: AbortSignal.timeout(2000) });
          } catch {
            return undefined;
          }
        },
        60_000,
        `npm run dev to answer on port ${port}`,
      ).catch((error) => {
        throw new Error(`${error.message}; its output:\n${output}`);
      });
      expect(demo.status).toBe(302);
      children = descendants(dev.pid!);
      expect(children.map((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim())).toContain('workerd');

      dev.kill('SIGTERM');
      await waitFor(() => exited, 15_000, 'the dev script to exit');
      await waitFor(
        () => children.every((pid) => !alive(pid)),
        10_000,
        `wrangler and workerd to exit (still alive: ${children.filter(alive).join(', ')})`,
      );
      await expect(fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    } finally {
      // If the test failed half-way, leave nothing running.
      for (const pid of [dev.pid!, ...children, ...descendants(dev.pid!)]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone.
        }
      }
    }
  }, 90_000);
});
