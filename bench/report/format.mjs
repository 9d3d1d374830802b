/** Number formatting shared by the console table and BENCHMARKS.md. */
import { spread } from '../lib/stats.mjs';

export function int(/** @type {number} */ n) {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—';
}

export function ms(/** @type {number} */ n) {
  if (!Number.isFinite(n)) return '—';
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/**
 * "median (min–max)" over the rounds that succeeded.
 * @param {number[]} values
 * @param {(n: number) => string} format
 */
export function medianRange(values, format) {
  const { median, min, max, n } = spread(values);
  if (n === 0) return '—';
  if (n === 1 || min === max) return format(median);
  return `${format(median)} (${format(min)}–${format(max)})`;
}
