/**
 * Resident memory of the workerd processes this test process started (the
 * room's and wrangler's proxy), read from /proc, so a flood's figures include
 * what it left behind. Linux only; elsewhere it reports nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';

function stat(pid: number): { ppid: number; name: string; rssPages: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The name is in parentheses and may hold spaces; the fields after it are space-separated.
    const name = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), name, rssPages: Number(fields[21]) };
  } catch {
    return undefined;
  }
}

/** MiB resident in workerd processes descended from this one, or undefined off Linux. */
export function workerdMiB(): number | undefined {
  let pids: number[];
  try {
    pids = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return undefined;
  }
  const stats = new Map(pids.map((pid) => [pid, stat(pid)] as const));
  const descends = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 50; hops++) {
      if (p === process.pid) return true;
      p = stats.get(p)?.ppid ?? 0;
    }
    return false;
  };
  let pages = 0;
  for (const [pid, s] of stats) if (s?.name === 'workerd' && descends(pid)) pages += s.rssPages;
  return (pages * 4096) / (1024 * 1024);
}
