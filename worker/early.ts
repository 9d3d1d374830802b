/**
 * Early frames (docs/protocol.md, "Early frames"): a client may carry its
 * first frames, its hello and subs, in the upgrade request, as the
 * subprotocol entry `early.<frames>` beside `edgeroom.v1`, where `<frames>` is
 * a JSON array of frames, URI-encoded (with `(` and `)` escaped too, so that
 * it is a header token). The room applies them as the socket's first frames,
 * from the accept, so a (re)connect costs the client no round trip and the
 * room no calls; and the Worker can route a fanned-out room's socket by the
 * hello's secret before the room sees it.
 *
 * Not in the URL: the hello's secret must not end up in logs, as tokens
 * moved to the subprotocol header for the same reason.
 */
import * as z from '../protocol/zod.ts';
import { EARLY_PREFIX, MAX_EARLY_CHARS } from '../protocol/limits.ts';
import { HelloIn, type ErrorOut } from '../protocol/messages.ts';
import { clientIdOf } from './identity.ts';
import { errorFrame } from './validate.ts';

/** What an upgrade offered: its early frames (none when it offered none), or why they were all refused. */
export type Early<F = string> = { frames: F[] } | { error: ErrorOut };

/**
 * The early frames in a Sec-WebSocket-Protocol header, each as the text a
 * socket frame would carry, to be handled by the same path. The entry as a
 * whole is refused (and none of its frames applied) when there is more than
 * one, when it is over MAX_EARLY_CHARS, or when it is not an encoded JSON
 * array; each frame is then validated as any frame is.
 */
export function earlyFrames(header: string | null): Early {
  const early = decodeEarly(header);
  return 'frames' in early ? { frames: early.frames.map((f) => JSON.stringify(f)) } : early;
}

/**
 * The client ID an upgrade's early hello claims, for routing a fanned-out
 * room's socket (worker/fanout.ts): derived from its secret, as the leaf will.
 * Undefined without a well-formed hello with a secret; the leaf still checks
 * everything, so this only picks a leaf.
 */
export function earlyClientId(header: string | null): string | undefined {
  const early = decodeEarly(header);
  if (!('frames' in early)) return undefined;
  const hello = z.safeParse(
    HelloIn,
    early.frames.find((f) => (f as { type?: unknown } | null)?.type === 'hello'),
  );
  return hello.success && hello.data.secret !== undefined ? clientIdOf(hello.data.secret) : undefined;
}

function decodeEarly(header: string | null): Early<unknown> {
  // Most upgrades carry none: no split, no decode.
  if (!header?.includes(EARLY_PREFIX)) return { frames: [] };
  const entries = header
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.startsWith(EARLY_PREFIX));
  if (entries.length === 0) return { frames: [] };
  if (entries.length > 1) return refuse('bad_frame', `Offer at most one ${EARLY_PREFIX} subprotocol entry`);
  const encoded = entries[0]!.slice(EARLY_PREFIX.length);
  if (encoded.length > MAX_EARLY_CHARS) {
    return refuse(
      'too_large',
      `Early frames of ${encoded.length} characters exceed MAX_EARLY_CHARS (${MAX_EARLY_CHARS}): send them as frames`,
    );
  }
  let frames: unknown;
  try {
    frames = JSON.parse(decodeURIComponent(encoded));
  } catch {
    frames = undefined;
  }
  return Array.isArray(frames) ? { frames } : refuse('bad_frame', 'Early frames are not a URI-encoded JSON array');
}

const refuse = (code: 'bad_frame' | 'too_large', message: string): { error: ErrorOut } => ({
  error: errorFrame(code, message),
});
