/**
 * Which source the run measured. Several engineers edit this working tree at
 * once and wrangler bundles what is on disk, so uncommitted changes are named.
 */
import { execFileSync } from 'node:child_process';

const SOURCES = ['worker', 'protocol', 'wrangler.toml', 'bench/partyserver'];

export function sourceRevision() {
  try {
    const git = (/** @type {string[]} */ args) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git(['rev-parse', '--short', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--', ...SOURCES]).split('\n').filter(Boolean).map((line) => line.slice(3));
    return { commit, dirty };
  } catch {
    return undefined;
  }
}
