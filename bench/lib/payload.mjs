/**
 * The benchmark message: an edgeroom push frame of exactly FRAME_BYTES bytes,
 * sent unchanged to every contender (partyserver and raw just forward it).
 * Its value carries the message index `i`, which receivers read straight
 * from the frame bytes instead of parsing JSON, so the load generator stays
 * cheap and costs every contender the same.
 */
export const FRAME_BYTES = 100;

/**
 * @param {'relay' | 'append'} action
 * @param {string} key
 * @param {number} index
 */
export function pushFrame(action, key, index) {
  const head = `{"type":"push","key":"${key}","value":{"i":${index},"p":"`;
  const tail = `"},"action":{"type":"${action}"}}`;
  const pad = Math.max(0, FRAME_BYTES - head.length - tail.length);
  return head + 'x'.repeat(pad) + tail;
}

const MARK = Buffer.from('"i":');

/**
 * The index of the first message in a received frame, or -1 when it carries none.
 * @param {Buffer} frame
 */
export function messageIndex(frame) {
  return indexAt(frame, frame.indexOf(MARK));
}

/**
 * Calls `each` with the index of every message in a frame: one for a plain
 * push, several for the JSON array frame edgeroom batches for hello'd sockets.
 * @param {Buffer} frame
 * @param {(index: number) => void} each
 */
export function forEachMessage(frame, each) {
  for (let at = frame.indexOf(MARK); at >= 0; at = frame.indexOf(MARK, at + MARK.length)) each(indexAt(frame, at));
}

/** @param {Buffer} frame @param {number} at where MARK starts, or -1 */
function indexAt(frame, at) {
  if (at < 0) return -1;
  let n = 0;
  for (let k = at + MARK.length; k < frame.length; k++) {
    const c = /** @type {number} */ (frame[k]);
    if (c < 48 || c > 57) break;
    n = n * 10 + c - 48;
  }
  return n;
}
