const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 24 base-62 characters: about 143 bits, the length DriftDB used. */
export const ROOM_ID_LENGTH = 24;
/** Room IDs we accept: our own, DriftDB's, UUIDs, and readable names like `team-standup`. */
export const ROOM_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Uniform random base-62 string. Bytes ≥ 248 are rejected rather than
 * folded with `%`, which would make the first 8 characters more likely.
 */
export function randomId(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

export const newRoomId = (): string => randomId(ROOM_ID_LENGTH);
/** Connection IDs only need to be unique within a room and unguessable to other members. */
export const newConnId = (): string => randomId(12);
export const isRoomId = (id: string): boolean => ROOM_ID_PATTERN.test(id);
