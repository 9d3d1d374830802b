/**
 * bench/fanout.svg: fan-out deliveries/s by N, one bar per contender (the
 * median of the rounds) with a whisker from the slowest to the fastest round.
 */
import { spread } from '../lib/stats.mjs';
import { fanoutContenders } from './summary.mjs';

/** edgeroom in warm colours, partyserver blue, raw grey; others fall back to the palette. */
const COLORS_BY_ID = /** @type {Record<string, string>} */ ({
  'edgeroom-relay': '#d9480f',
  'edgeroom-relay-hello': '#f59f00',
  'edgeroom-append': '#a61e4d',
  partyserver: '#1971c2',
  raw: '#868e96',
});
const PALETTE = ['#2f9e44', '#7048e8', '#0c8599'];
const colorOf = (/** @type {string} */ id, /** @type {number} */ k) => COLORS_BY_ID[id] ?? PALETTE[k % PALETTE.length];

/** @param {string} text */
const esc = (text) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** Round numbers for the y axis. @param {number} top */
function ticks(top) {
  const rough = top / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough || 1));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? rough;
  const out = [0];
  while (/** @type {number} */ (out[out.length - 1]) < top) out.push(out.length * step);
  return out;
}

/** @param {any} results */
export function fanoutSvg(results) {
  // Only contenders measured in fan-out get a bar and a legend entry.
  const contenders = fanoutContenders(results);
  const sizes = Object.keys(results.fanout)
    .map(Number)
    .sort((a, b) => a - b);
  const stats = sizes.map((n) =>
    contenders.map((c) =>
      spread(
        /** @type {any[]} */ (results.fanout[n]?.[c.id] ?? [])
          .filter((r) => !r.error)
          .map((r) => r.deliveriesPerSecond),
      ),
    ),
  );
  const highest = Math.max(1, ...stats.flat().map((s) => (Number.isFinite(s.max) ? s.max : 0)));
  const axis = ticks(highest);
  const top = /** @type {number} */ (axis[axis.length - 1]);

  const width = 720;
  const height = 440;
  const left = 80;
  const right = 20;
  const plotTop = 60;
  const plotBottom = height - 110;
  const y = (/** @type {number} */ v) => plotBottom - (v / top) * (plotBottom - plotTop);
  const groupWidth = (width - left - right) / sizes.length;
  const barWidth = Math.min(36, (groupWidth * 0.8) / contenders.length);

  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="600">Fan-out deliveries/s by subscribers per room (N)</text>`,
    `<text x="${width / 2}" y="40" text-anchor="middle" fill="#495057">bars: median of ${results.meta.rounds} rounds · whiskers: slowest–fastest round</text>`,
  ];
  for (const v of axis) {
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#e9ecef"/>`);
    parts.push(
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#495057">${Math.round(v).toLocaleString('en-US')}</text>`,
    );
  }
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${plotBottom}" y2="${plotBottom}" stroke="#495057"/>`);
  sizes.forEach((n, g) => {
    const groupLeft = left + g * groupWidth + (groupWidth - barWidth * contenders.length) / 2;
    contenders.forEach((c, k) => {
      const s = /** @type {ReturnType<typeof spread>} */ (stats[g]?.[k]);
      if (!Number.isFinite(s.median)) return;
      const x = groupLeft + k * barWidth;
      const color = colorOf(c.id, k);
      parts.push(
        `<rect x="${x + 2}" y="${y(s.median)}" width="${barWidth - 4}" height="${plotBottom - y(s.median)}" fill="${color}"><title>${esc(c.label)}, N = ${n}: ${Math.round(s.median).toLocaleString('en-US')} deliveries/s</title></rect>`,
      );
      const mid = x + barWidth / 2;
      parts.push(
        `<path d="M${mid} ${y(s.min)}V${y(s.max)}M${mid - 5} ${y(s.min)}h10M${mid - 5} ${y(s.max)}h10" stroke="#212529" fill="none"/>`,
      );
    });
    parts.push(
      `<text x="${left + g * groupWidth + groupWidth / 2}" y="${plotBottom + 18}" text-anchor="middle">N = ${n}</text>`,
    );
  });
  // Legend entries flow left to right, wrapping; 7 px per character is a safe guess for 12 px text.
  let legendX = left;
  let legendY = plotBottom + 34;
  contenders.forEach((c, k) => {
    const itemWidth = 18 + c.label.length * 7 + 22;
    if (legendX + itemWidth > width - right) {
      legendX = left;
      legendY += 18;
    }
    parts.push(`<rect x="${legendX}" y="${legendY}" width="12" height="12" fill="${colorOf(c.id, k)}"/>`);
    parts.push(`<text x="${legendX + 18}" y="${legendY + 10}">${esc(c.label)}</text>`);
    legendX += itemWidth;
  });
  const m = results.meta;
  parts.push(
    `<text x="${width / 2}" y="${height - 10}" text-anchor="middle" fill="#868e96">${esc(`${m.date} · ${m.machine.nproc} × ${m.machine.cpu} · workerd ${m.machine.workerd} · local observability ${m.observability ? 'on' : 'off'}`)}</text>`,
  );
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
