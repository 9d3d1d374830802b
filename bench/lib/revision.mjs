/**
 * Which source the run measured. Several engineers edit this working tree at
 * once and wrangler bundles what is on disk, so uncommitted changes are named.
 */
import { execFileSync } from 'node:child_process';

const SOURCES = ['worker', 'protocol', 'wrangler.toml', 'bench/partyserver'];

export function sourceRevision() {
  try {
    const git = (/** @type {string[]} */ args) =>
      execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git(['rev-parse', '--short', 'HEAD']);
    // Not trimmed: a porcelain line starts with a space when only the work tree changed (" M path").
    const dirty = execFileSync('git', ['status', '--porcelain', '--', ...SOURCES], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(3));
    return { commit, dirty };
  } catch {
    return undefined;
  }
}
