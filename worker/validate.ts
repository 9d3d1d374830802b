/**
 * Inbound checks: zod for shape, then the room's configurable limits.
 * Returns an error frame to send, or the message to act on.
 */
import { z } from 'zod';
import type { ErrorCode, Limits } from '../protocol/limits.ts';
import { ClientMessage, type ErrorOut } from '../protocol/messages.ts';
import { decodeFrame, utf8Length } from './codec.ts';

export type Inbound =
  | { ok: true; message: ClientMessage; binary: boolean }
  | { ok: false; error: ErrorOut };

export const errorFrame = (code: ErrorCode, message: string, extra: { id?: string; key?: string; retryAfter?: number } = {}): ErrorOut =>
  ({ type: 'error', message, code, ...extra });

export function parseFrame(frame: string | ArrayBuffer, limits: Limits): Inbound {
  // UTF-8 is at most 3 bytes per UTF-16 unit, so most text frames need no count.
  const size = typeof frame !== 'string' ? frame.byteLength
    : frame.length * 3 <= limits.maxMessageBytes ? 0 : utf8Length(frame);
  if (size > limits.maxMessageBytes) {
    return { ok: false, error: errorFrame('too_large', `Frame of ${size} bytes exceeds maxMessageBytes (${limits.maxMessageBytes})`) };
  }
  const decoded = decodeFrame(frame);
  if (!decoded.ok) return { ok: false, error: errorFrame('bad_frame', decoded.message) };
  return checkMessage(decoded.value, decoded.binary, limits);
}

export function checkMessage(raw: unknown, binary: boolean, limits: Limits): Inbound {
  const parsed = ClientMessage.safeParse(raw);
  if (!parsed.success) return { ok: false, error: errorFrame('bad_message', describe(raw, parsed.error), idOf(raw)) };
  const message = parsed.data;
  if ('key' in message && message.key.length > limits.maxSubjectLength) {
    return {
      ok: false,
      error: errorFrame('subject_too_long',
        `Subject of ${message.key.length} characters exceeds maxSubjectLength (${limits.maxSubjectLength})`,
        { ...idOf(message), key: message.key.slice(0, 64) }),
    };
  }
  return { ok: true, message, binary };
}

/** "Invalid push: action.type: …" — the first problem, with its path, is what a developer needs. */
function describe(raw: unknown, error: z.ZodError): string {
  const type = raw !== null && typeof raw === 'object' && typeof (raw as { type?: unknown }).type === 'string'
    ? (raw as { type: string }).type : 'message';
  const issue = error.issues[0];
  const path = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `Invalid ${type}: ${path}${issue?.message ?? 'invalid input'}`;
}

function idOf(raw: unknown): { id?: string } {
  const id = raw !== null && typeof raw === 'object' ? (raw as { id?: unknown }).id : undefined;
  return typeof id === 'string' && id.length <= 64 ? { id } : {};
}
