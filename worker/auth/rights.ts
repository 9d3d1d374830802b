/**
 * What a token lets its holder do in the room: read, write and compact subjects
 * matching its patterns, and announce presence, send direct messages, act as admin.
 *
 * A pattern is a subject (exact) or a prefix ending in `*` (`*` alone is every
 * subject); a `!` in front makes it a deny, which beats every allow of its list.
 * Only a trailing `*` is special, so a subject ending in `*` can only be matched
 * by a prefix, and one starting with `!` only by a pattern that does not start
 * with it: acceptable for names we choose, and it keeps matching unambiguous.
 */
import * as z from '../../protocol/zod.ts';

export const MAX_PATTERNS = 32;
export const MAX_RIGHTS_BYTES = 2048;
/** A subject (maxSubjectLength is 256 by default) with a `!` and a `*`, and some room to raise that limit. */
const MAX_PATTERN_LENGTH = 1024;

const Pattern = z.string().check(
  z.minLength(1, 'empty pattern'),
  z.maxLength(MAX_PATTERN_LENGTH, 'pattern too long'),
  z.refine((p) => p !== '!', 'empty deny pattern'),
);
const Patterns = z.optional(
  z.array(Pattern, 'must be a list of patterns').check(z.maxLength(MAX_PATTERNS, `at most ${MAX_PATTERNS} patterns`)),
);

// Strict: a misspelt right ("wirte") is an issuer's bug that should be refused
// loudly, not a token that quietly grants less than meant.
const Rights = z.strictObject(
  {
    read: Patterns,
    write: Patterns,
    compact: Patterns,
    presence: z.optional(z.boolean()),
    dm: z.optional(z.boolean()),
    admin: z.optional(z.boolean()),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? 'unknown right' : 'must be an object') },
);
export type RightsClaim = z.infer<typeof Rights>;

const jsonBytes = (v: unknown): number => new TextEncoder().encode(JSON.stringify(v) ?? '').length;

/** The `rights` claim: its size is checked first, so a huge one is refused before its entries are. */
export const RightsSchema = z.pipe(
  z.unknown().check(
    z.refine((v) => jsonBytes(v) <= MAX_RIGHTS_BYTES, {
      message: `over ${MAX_RIGHTS_BYTES} bytes of JSON`,
      abort: true,
    }),
  ),
  Rights,
);

/** One list (read, write or compact), split for matching. Up to 32 entries, so a scan is cheap. */
class Matcher {
  readonly #allowExact = new Set<string>();
  readonly #allowPrefixes: string[] = [];
  readonly #denyExact = new Set<string>();
  readonly #denyPrefixes: string[] = [];

  readonly patterns: readonly string[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns;
    for (const p of patterns) {
      const deny = p.startsWith('!');
      const body = deny ? p.slice(1) : p;
      if (body.endsWith('*')) (deny ? this.#denyPrefixes : this.#allowPrefixes).push(body.slice(0, -1));
      else (deny ? this.#denyExact : this.#allowExact).add(body);
    }
  }

  matches(subject: string): boolean {
    const hit = (exact: Set<string>, prefixes: string[]) =>
      exact.has(subject) || prefixes.some((p) => subject.startsWith(p));
    return !hit(this.#denyExact, this.#denyPrefixes) && hit(this.#allowExact, this.#allowPrefixes);
  }
}

const PRESENCE = 1,
  DM = 2,
  ADMIN = 4;

/** The compact form kept in a socket attachment: `[read, write, compact, flags]`, flags = presence 1 | dm 2 | admin 4. */
export type SerializedRights = [string[], string[], string[], number];

export class CompiledRights {
  readonly #read: Matcher;
  readonly #write: Matcher;
  readonly #compact: Matcher;
  readonly flags: number;

  private constructor(read: readonly string[], write: readonly string[], compact: readonly string[], flags: number) {
    this.flags = flags;
    this.#read = new Matcher(read);
    this.#write = new Matcher(write);
    this.#compact = new Matcher(compact);
  }

  /**
   * From a verified token's claim. No `rights` at all keeps a token-holder as
   * capable as anyone in an open room today (read and write every subject,
   * presence and direct messages), minus what an open room should not let
   * everyone do: compact and admin. A `rights` object, by contrast, is a
   * complete grant: whatever it leaves out (a list, a boolean) is denied.
   */
  static fromClaim(rights: RightsClaim | undefined): CompiledRights {
    if (rights === undefined) return new CompiledRights(['*'], ['*'], [], PRESENCE | DM);
    const flags = (rights.presence ? PRESENCE : 0) | (rights.dm ? DM : 0) | (rights.admin ? ADMIN : 0);
    return new CompiledRights(rights.read ?? [], rights.write ?? [], rights.compact ?? [], flags);
  }

  /** Back from `serialize()`, e.g. after a hibernated room wakes. Trusts its input: only we write attachments. */
  static deserialize([read, write, compact, flags]: SerializedRights): CompiledRights {
    return new CompiledRights(read, write, compact, flags);
  }

  serialize(): SerializedRights {
    return [[...this.#read.patterns], [...this.#write.patterns], [...this.#compact.patterns], this.flags];
  }

  canRead(subject: string): boolean {
    return this.#read.matches(subject);
  }
  canWrite(subject: string): boolean {
    return this.#write.matches(subject);
  }
  /** Separate from write: compaction drops history that other readers may still want. */
  canCompact(subject: string): boolean {
    return this.#compact.matches(subject);
  }
  get presence(): boolean {
    return (this.flags & PRESENCE) !== 0;
  }
  get dm(): boolean {
    return (this.flags & DM) !== 0;
  }
  get admin(): boolean {
    return (this.flags & ADMIN) !== 0;
  }
}
