// @ts-check
/** Command-line options (`--name=value`) and the run's header for the load scripts. */
import { sourceRevision } from '../../lib/revision.mjs';
import { machineFacts } from '../../lib/machine.mjs';
import { Progress } from '../../lib/progress.mjs';

/**
 * @template {Record<string, number | string>} T
 * @param {T} defaults every option and its default; numbers stay numbers
 * @param {string[]} [argv]
 * @returns {T}
 */
export function options(defaults, argv = process.argv.slice(2)) {
  /** @type {Record<string, number | string>} */
  const out = { ...defaults };
  for (const arg of argv) {
    const match = /^--([a-z-]+)=(.*)$/.exec(arg);
    const name = match?.[1];
    if (!match || name === undefined || !(name in defaults)) {
      throw new Error(
        `unknown argument ${arg}; options: ${Object.entries(defaults)
          .map(([k, v]) => `--${k}=${v}`)
          .join(' ')}`,
      );
    }
    const value = typeof defaults[name] === 'number' ? Number(match[2]) : String(match[2]);
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`--${name} takes a number`);
    out[name] = value;
  }
  return /** @type {T} */ (out);
}

/** A progress printer with elapsed time, and a header naming the source and the machine. @param {string} name */
export function start(name) {
  const progress = new Progress();
  const rev = sourceRevision();
  const m = machineFacts();
  progress.note(`${name}: ${process.argv.slice(1).join(' ')}`);
  progress.note(
    `source ${rev?.commit ?? '?'}${rev?.dirty.length ? ` with uncommitted changes in ${rev.dirty.join(', ')}` : ''}; ` +
      `${m.nproc} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, wrangler ${m.wrangler}, workerd ${m.workerd}`,
  );
  return (/** @type {string} */ text) => progress.note(text);
}

/** The line `npm run soak` collects for its closing summary. @param {string} text */
export function summary(text) {
  console.log(`summary: ${text}`);
}
