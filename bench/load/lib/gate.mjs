// @ts-check
/**
 * A `ws` constructor for our client (its `WebSocket` option) that records
 * every dial, when it was made and how it ended, and can take every client
 * off the network at once: `cut()` drops the open sockets without a closing
 * handshake and sends the dials that follow to a port nobody listens on,
 * where they fail at once, as they do while a server restarts. `restore()`
 * lets the dials through again.
 */
import WebSocket from 'ws';

/**
 * `open`: the handshake succeeded; `refused`: it did, then the connect limiter closed it with
 * 4290; `failed`: the dial never opened (refused by the port, or dropped).
 * @typedef {{ at: number, away: boolean, tag: number, outcome?: 'open' | 'refused' | 'failed', code?: number }} Dial
 */

export function gate() {
  /** @type {Dial[]} */
  const dials = [];
  /** @type {Set<WebSocket>} */
  const live = new Set();
  let away = false;
  class Gated extends WebSocket {
    /** Whose dials these are (one subclass per client, see `forClient`). */
    static tag = -1;
    /**
     * @param {string} url
     * @param {string[]} [protocols] the client's: `edgeroom.v1` and its early frames (its hello and subs)
     */
    constructor(url, protocols = []) {
      super(away ? 'ws://127.0.0.1:9/' : url, protocols, { perMessageDeflate: false });
      /** @type {Dial} */
      const dial = { at: performance.now(), away, tag: /** @type {typeof Gated} */ (this.constructor).tag };
      dials.push(dial);
      live.add(this);
      this.once('open', () => (dial.outcome = 'open'));
      this.once('close', (code) => {
        live.delete(this);
        dial.outcome = code === 4290 ? 'refused' : (dial.outcome ?? 'failed');
        dial.code = code;
      });
    }
  }
  return {
    /** A constructor whose dials are tagged `tag`: pass one to each client. @param {number} tag */
    forClient(tag) {
      return class extends Gated {
        static tag = tag;
      };
    },
    dials,
    cut() {
      away = true;
      for (const socket of live) socket.terminate();
    },
    restore() {
      away = false;
    },
  };
}

/**
 * A text bar chart of dials over time, in `bucketMs` buckets from `from`:
 * `#` a dial that opened, `x` one the connect limiter refused (4290), `.` one that failed.
 * @param {Dial[]} dials
 * @param {number} from
 * @param {number} bucketMs
 * @param {{ at: number, label: string }[]} [marks] lines drawn across the chart at these times
 * @param {number} [width] the longest bar, in characters
 */
export function dialChart(dials, from, bucketMs, marks = [], width = 60) {
  /** @type {{ open: number, refused: number, failed: number }[]} */
  const buckets = [];
  for (const d of dials) {
    const i = Math.max(0, Math.floor((d.at - from) / bucketMs));
    for (let k = buckets.length; k <= i; k++) buckets.push({ open: 0, refused: 0, failed: 0 });
    const bucket = /** @type {{ open: number, refused: number, failed: number }} */ (buckets[i]);
    bucket[d.outcome ?? 'failed']++;
  }
  const most = Math.max(1, ...buckets.map((b) => b.open + b.refused + b.failed));
  const scale = Math.min(1, width / most);
  // At least one character for a bucket that has any: a lone dial stays visible.
  const bar = (/** @type {string} */ c, /** @type {number} */ n) =>
    c.repeat(n ? Math.max(1, Math.round(n * scale)) : 0);
  const lines = buckets.map((b, i) => {
    const t = `${((i * bucketMs) / 1000).toFixed(2)} s`.padStart(8);
    const n = `${b.open + b.refused + b.failed}`.padStart(5);
    const drawn = marks
      .filter((m) => Math.floor((m.at - from) / bucketMs) === i)
      .map((m) => `   <- ${m.label}`)
      .join('');
    return `${t} ${n} ${bar('#', b.open)}${bar('x', b.refused)}${bar('.', b.failed)}${drawn}`;
  });
  // A run of empty buckets is one line: a long tail stays readable.
  return lines
    .filter((line, i) => !(/^ *\S+ s +0 $/.test(line) && /^ *\S+ s +0 $/.test(lines[i - 1] ?? '')))
    .join('\n');
}
