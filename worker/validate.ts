/**
 * Inbound checks: zod for shape, then the room's configurable limits.
 * Returns an error frame to send, or the message to act on.
 */
import * as z from '../protocol/zod.ts';
import type { ErrorCode, Limits } from '../protocol/limits.ts';
import { ClientMessage, HttpMessage, type ErrorOut } from '../protocol/messages.ts';
import { decodeFrame, utf8Length } from './codec.ts';

export type Inbound<M = ClientMessage> = { ok: true; message: M; binary: boolean } | { ok: false; error: ErrorOut };

export const errorFrame = (
  code: ErrorCode,
  message: string,
  extra: { id?: string; key?: string; retryAfter?: number } = {},
): ErrorOut => ({ type: 'error', message, code, ...extra });

export function parseFrame(frame: string | ArrayBuffer, limits: Limits): Inbound {
  // UTF-8 is at most 3 bytes per UTF-16 unit, so most text frames need no count.
  const size =
    typeof frame !== 'string' ? frame.byteLength : frame.length * 3 <= limits.maxMessageBytes ? 0 : utf8Length(frame);
  if (size > limits.maxMessageBytes) {
    return {
      ok: false,
      error: errorFrame('too_large', `Frame of ${size} bytes exceeds maxMessageBytes (${limits.maxMessageBytes})`),
    };
  }
  const decoded = decodeFrame(frame);
  if (!decoded.ok) return { ok: false, error: errorFrame('bad_frame', decoded.message) };
  return checkMessage(decoded.value, decoded.binary, limits);
}

/** A decoded socket frame: any client message. */
export function checkMessage(raw: unknown, binary: boolean, limits: Limits): Inbound {
  return check(ClientMessage, raw, binary, limits);
}

/**
 * The body of `POST /room/:id/send`. Checked against HTTP's own union, so a
 * bad `type` is told the three types HTTP takes, not every socket frame's.
 */
export function checkHttpMessage(raw: unknown, limits: Limits): Inbound<HttpMessage> {
  return check(HttpMessage, raw, false, limits);
}

function check<M extends ClientMessage>(
  schema: z.core.$ZodType<M, unknown>,
  raw: unknown,
  binary: boolean,
  limits: Limits,
): Inbound<M> {
  const parsed = z.safeParse(schema, raw);
  if (!parsed.success)
    return { ok: false, error: errorFrame('bad_message', describe(raw, parsed.error.issues[0]), idOf(raw)) };
  const message = parsed.data;
  if ('key' in message && message.key.length > limits.maxSubjectLength) {
    return {
      ok: false,
      error: errorFrame(
        'subject_too_long',
        `Subject of ${message.key.length} characters exceeds maxSubjectLength (${limits.maxSubjectLength})`,
        { ...idOf(message), key: message.key.slice(0, 64) },
      ),
    };
  }
  return { ok: true, message, binary };
}

/**
 * The first problem, in the protocol's words: the frame, the field, what it
 * must be, and what came ('Invalid push: action.type must be one of relay,
 * append, replace or compact, not "explode"'). zod's own wording names its
 * internals ("expected nonoptional", "Invalid discriminator value"), and only
 * the first problem is needed to fix a frame.
 */
export function describe(raw: unknown, issue: z.core.$ZodIssue | undefined): string {
  const type = isObject(raw) && typeof raw.type === 'string' ? raw.type : undefined;
  const path = issue?.path ?? [];
  // A frame whose type is wrong is not yet a push or a get: call it a message.
  const frame = type !== undefined && !(path.length === 1 && path[0] === 'type') ? type : 'message';
  if (!issue) return `Invalid ${frame}`;
  if (path.length === 0 && issue.code === 'invalid_type') {
    return `Invalid ${frame}: a message is an object with a "type" (a JSON object, or a CBOR map), not ${shown(raw)}`;
  }
  const field = path.map(String).join('.');
  const got = at(raw, path);
  // A length is told by its count, never its text: the field may be a secret or a token.
  if (
    typeof got === 'string' &&
    (issue.code === 'too_small' || issue.code === 'too_big') &&
    issue.origin === 'string'
  ) {
    const n = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
    if (got === '') return `Invalid ${frame}: ${field} must not be empty`;
    return `Invalid ${frame}: ${field} must be ${issue.code === 'too_small' ? 'at least' : 'at most'} ${n} characters long, not ${got.length}`;
  }
  // Our own refinements (a push's n, origin and id come together) word their whole problem.
  if (issue.code === 'custom') return `Invalid ${frame}: ${field} ${issue.message}`;
  const must = expectation(issue);
  if (must === undefined) return `Invalid ${frame}: ${field}: ${issue.message}`;
  // zod's "nonoptional": a field that takes any value, null included, but must be there.
  if (got === undefined)
    return `Invalid ${frame}: ${field} is missing${must ? `: it must be ${must}` : ' (null for no value)'}`;
  return `Invalid ${frame}: ${field} must be ${must}, not ${shown(got)}`;
}

/** What the field must be, as a phrase; '' when it takes any value; undefined when we have no words for it. */
function expectation(issue: z.core.$ZodIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return TYPES[issue.expected] ?? (issue.expected === 'nonoptional' ? '' : undefined);
    case 'invalid_union':
      return 'options' in issue && issue.options ? `one of ${oneOf(issue.options.map(String))}` : undefined;
    case 'invalid_value':
      return oneOf(issue.values.map((v) => JSON.stringify(v) ?? String(v)));
    case 'too_small':
      return bound(issue.origin, issue.inclusive ? 'at least' : 'more than', Number(issue.minimum));
    case 'too_big':
      return bound(issue.origin, issue.inclusive ? 'at most' : 'less than', Number(issue.maximum));
    default:
      return undefined;
  }
}

const TYPES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
};

function bound(origin: string, relation: string, n: number): string | undefined {
  if (origin === 'number' || origin === 'int') return `${relation} ${n}`;
  if (origin === 'array') return `a list of ${relation} ${n} items`;
  return undefined;
}

const oneOf = (words: string[]): string =>
  words.length < 2 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;

function shown(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 32 ? `${v.slice(0, 32)}…` : v);
  return String(v);
}

function at(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const p of path) v = isObject(v) ? v[p as string] : undefined;
  return v;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';

function idOf(raw: unknown): { id?: string } {
  const id = isObject(raw) ? raw.id : undefined;
  return typeof id === 'string' && id.length <= 64 ? { id } : {};
}
