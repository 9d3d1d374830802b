// @ts-check
/**
 * Resident memory of a server's user runtime: the workerd process that runs
 * the worker and its Durable Objects (not wrangler's proxy in front of it).
 * It is told apart as test/e2e/crash/processes.ts does: the one with the
 * rooms' SQLite files open under the server's state directory, so at least
 * one room must have been touched. Linux only (/proc); elsewhere NaN.
 */
import { readFileSync } from 'node:fs';
import { roomWorkerds } from '../../../test/e2e/crash/processes.ts';

/** @param {string} persist the server's state directory */
export function runtimePid(persist) {
  try {
    const pids = roomWorkerds(persist);
    return pids.length === 1 ? pids[0] : undefined;
  } catch {
    return undefined;
  }
}

/** @param {number | undefined} pid */
export function rssMiB(pid) {
  if (pid === undefined) return NaN;
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? NaN : Number(kb) / 1024;
  } catch {
    return NaN;
  }
}

/**
 * The resident size split by kind, in MiB: anonymous memory (heaps: V8's, the
 * allocator's, SQLite's page cache), file-backed pages (mapped files) and shared
 * memory (SQLite's WAL index). NaN each when unknown.
 * @param {number | undefined} pid
 */
export function rssParts(pid) {
  /** @type {{ anon: number, file: number, shmem: number }} */
  const parts = { anon: NaN, file: NaN, shmem: NaN };
  if (pid === undefined) return parts;
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    for (const [key, name] of /** @type {const} */ ([
      ['anon', 'RssAnon'],
      ['file', 'RssFile'],
      ['shmem', 'RssShmem'],
    ])) {
      const kb = new RegExp(`${name}:\\s+(\\d+) kB`).exec(text)?.[1];
      if (kb !== undefined) parts[key] = Number(kb) / 1024;
    }
  } catch {
    // Gone.
  }
  return parts;
}

/** @param {number} mib */
export const mib = (mib) => (Number.isFinite(mib) ? `${mib.toFixed(0)} MiB` : '? MiB');
