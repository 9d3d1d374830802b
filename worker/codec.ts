/**
 * Frame encoding. Inbound: JSON text or CBOR binary on any socket. Outbound:
 * JSON text, or CBOR for sockets that connected with `?cbor`.
 *
 * cborg is used because it never generates code at run time (Workers forbid
 * eval) and decodes leniently by default: non-shortest lengths such as the
 * `b9 00 NN` map headers of cbor-x are accepted.
 */
import { decode as cborDecode, encode as cborEncode, type TagDecoder } from 'cborg';

export type DecodeResult = { ok: true; value: unknown; binary: boolean } | { ok: false; message: string };

// Any tag decodes to its content. Tag 64 (RFC 8746, what cbor-web emits for
// a Uint8Array) wraps a byte string, so it arrives as a Uint8Array; other
// typed-array tags arrive as their raw bytes, and a date tag as its number.
const passThrough: TagDecoder = (inner) => inner();
const anyTag = new Proxy({} as Record<number, TagDecoder>, {
  get: (_target, tag) => (typeof tag === 'string' ? passThrough : undefined),
});
const CBOR_IN = { tags: anyTag, coerceUndefinedToNull: true, allowBigInt: false } as const;
// Keys in insertion order (cborg sorts them by default), so frames read in the
// same field order as DriftDB's: type, key, value, seq.
const CBOR_OUT = { ignoreUndefinedProperties: true, mapSorter: () => 0 } as const;

export function decodeFrame(frame: string | ArrayBuffer): DecodeResult {
  try {
    if (typeof frame === 'string') return { ok: true, value: JSON.parse(frame), binary: false };
    return { ok: true, value: cborDecode(new Uint8Array(frame), CBOR_IN), binary: true };
  } catch (err) {
    const kind = typeof frame === 'string' ? 'JSON' : 'CBOR';
    return { ok: false, message: `Could not decode ${kind} frame: ${(err as Error).message}` };
  }
}

/** Byte strings reach JSON clients as arrays of numbers, as DriftDB sent them. */
const bytesAsArrays = (_key: string, v: unknown): unknown => (v instanceof Uint8Array ? Array.from(v) : v);

/** `hasBytes` asks for the slower replacer; only CBOR-originated values can need it. */
export function toJson(message: unknown, hasBytes = false): string {
  return hasBytes ? JSON.stringify(message, bytesAsArrays) : JSON.stringify(message);
}

/** Decodes a value this room stored as CBOR. */
export function fromCbor(bytes: ArrayBuffer | Uint8Array): unknown {
  return cborDecode(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), CBOR_IN);
}

export function toCbor(message: unknown): Uint8Array {
  return cborEncode(message, CBOR_OUT);
}

/** True when a decoded CBOR value holds a byte string anywhere. */
export function containsBytes(value: unknown): boolean {
  if (value instanceof Uint8Array) return true;
  if (Array.isArray(value)) return value.some(containsBytes);
  if (value !== null && typeof value === 'object') return Object.values(value).some(containsBytes);
  return false;
}

/** UTF-8 length without allocating, for frame-size checks and replay batching. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x800) {
      // A surrogate pair is 2 UTF-16 units and 4 bytes: count 1 more per unit.
      n += c >= 0xd800 && c <= 0xdfff ? 1 : 2;
    } else if (c >= 0x80) n += 1;
  }
  return n;
}
