/**
 * Finds the workerd process that holds a server's Durable Objects, among the
 * workerd processes this test process started (Linux, /proc).
 *
 * `startServer` (wrangler's unstable_startWorker) runs two workerd processes,
 * both children of this process: wrangler's proxy, which owns the listening
 * port and forwards to the other, and the user runtime, which runs the worker
 * and its Durable Objects. Only the user runtime opens files in the state
 * directory (the rooms' SQLite databases under `<persist>/v3/do/`); the proxy
 * opens none there. That is how the room's process is told apart.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

function ppidOf(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

/** workerd processes descended from this one. */
export function descendantWorkerds(): number[] {
  const pids = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  const descends = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 50; hops++) {
      if (p === process.pid) return true;
      p = ppidOf(p);
    }
    return false;
  };
  return pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'workerd' && descends(pid) && pid !== process.pid;
    } catch {
      return false;
    }
  });
}

/** Paths of the files a process has open (empty if it is gone). */
function openFiles(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

/**
 * The descendant workerd processes with a file open under `<persist>/v3/do/`:
 * the one running the Durable Objects of the server started on `persist`.
 */
export function roomWorkerds(persist: string): number[] {
  const dir = `${persist}/v3/do/`;
  return descendantWorkerds().filter((pid) => openFiles(pid).some((path) => path.startsWith(dir)));
}

export function alive(pid: number): boolean {
  try {
    // A killed child stays a zombie until wrangler reaps it: count that as dead.
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The descendant workerd listening on `port` on loopback: wrangler's proxy, in front of the room's process. */
export function listeningWorkerds(port: number): number[] {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; field 9 is the inode.
      if (f.length > 9 && parseInt(f[1]!.split(':')[1]!, 16) === port && f[3] === '0A') inodes.add(f[9]!);
    }
  }
  return descendantWorkerds().filter((pid) =>
    openFiles(pid).some((path) => inodes.has(path.slice('socket:['.length, -1)) && path.startsWith('socket:[')),
  );
}
