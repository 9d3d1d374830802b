/** Renders summary tables as padded console text or as Markdown. */

/** @param {import('./summary.mjs').Table} table */
export function textTable({ title, note, header, rows }) {
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => (r[k] ?? '').length)));
  const line = (/** @type {string[]} */ cells) =>
    cells.map((c, k) => (k === 0 ? c.padEnd(widths[k] ?? 0) : c.padStart(widths[k] ?? 0))).join('  ');
  return [
    `\n${title}`,
    ...(note ? [note] : []),
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
  ].join('\n');
}

/** @param {import('./summary.mjs').Table} table */
export function markdownTable({ title, note, header, rows }) {
  const escapeCell = (/** @type {string} */ cell) => cell.replaceAll('|', '\\|');
  return [
    `### ${title}`,
    '',
    ...(note ? [note, ''] : []),
    `| ${header.map(escapeCell).join(' | ')} |`,
    `|${header.map((_, k) => (k === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
    '',
  ].join('\n');
}
