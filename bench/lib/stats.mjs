/** Percentiles and summaries over plain numbers. */

/**
 * @param {ArrayLike<number>} sorted ascending
 * @param {number} p in [0, 1]
 */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return /** @type {number} */ (sorted[rank]);
}

/** @param {Float64Array} samples  @param {number} count */
export function latencySummary(samples, count) {
  const sorted = samples.slice(0, count).sort();
  return {
    samples: count,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: count ? /** @type {number} */ (sorted[count - 1]) : NaN,
  };
}

/**
 * Median and range over rounds; NaN (a failed round) is left out.
 * @param {number[]} values
 */
export function spread(values) {
  const kept = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (kept.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const mid = kept.length >> 1;
  const at = (/** @type {number} */ i) => /** @type {number} */ (kept[i]);
  const median = kept.length % 2 ? at(mid) : (at(mid - 1) + at(mid)) / 2;
  return {
    median,
    min: /** @type {number} */ (kept[0]),
    max: /** @type {number} */ (kept[kept.length - 1]),
    n: kept.length,
  };
}
