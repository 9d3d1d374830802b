/**
 * Types only: a room typed by the server's subject schemas (createEdgeroom's
 * `subjects`), so that a wrong value fails `tsc`. Import the map with
 * `import type`, and no schema library reaches the browser bundle:
 *
 * @example
 * import type { subjects } from '../worker/subjects-of-my-app.ts';
 * import { connect, type TypedRoom } from 'edgeroom';
 * const room = connect(url) as TypedRoom<typeof subjects>;
 * room.append('chat', { text: 'hi' });   // checked against the schema of `chat` (or `chat*`)
 *
 * A subject takes its schema as the room does: its exact name, else the longest
 * `prefix*` that matches it; a subject no pattern matches takes any value.
 * Values are typed as the schema's input: the room checks values, it does not
 * transform them.
 */
import type { Listener, Room, SubscribeOptions } from './types.ts';

/** Anything with a Standard Schema (zod 4, classic or mini; valibot; arktype). */
type Schema = { readonly '~standard': { readonly types?: { readonly input: unknown } | undefined } };
type InputOf<S> = S extends { readonly '~standard': { readonly types?: infer T } }
  ? NonNullable<T> extends { readonly input: infer I }
    ? I
    : unknown
  : unknown;

type Prefixes<M> = { [P in keyof M & string]: P extends `${infer Pre}*` ? Pre : never }[keyof M & string];
/** The prefixes of the map that `K` starts with. */
type Matching<M, K extends string> = { [Pre in Prefixes<M>]: K extends `${Pre}${string}` ? Pre : never }[Prefixes<M>];
/** Of prefixes that all match one subject (so each starts with the shorter ones), the longest. */
type Longest<P extends string, All extends string = P> = P extends unknown
  ? [Extract<Exclude<All, P>, `${P}${string}`>] extends [never]
    ? P
    : never
  : never;

/** The value type of subject `K` under map `M`: `unknown` where no schema applies. */
export type SubjectValue<M, K extends string> = K extends keyof M
  ? K extends `${string}*`
    ? PrefixValue<M, K>
    : InputOf<M[K]>
  : PrefixValue<M, K>;
type PrefixValue<M, K extends string> = [Longest<Matching<M, K>>] extends [never]
  ? unknown
  : InputOf<M[`${Longest<Matching<M, K>>}*` & keyof M]>;

/** `Room` with `subscribe`, `get`, `set`, `append`, `publish` and `compact` typed by the subject map `M`. */
export interface TypedRoom<M extends Readonly<Record<string, Schema>>>
  extends Omit<Room, 'subscribe' | 'get' | 'set' | 'append' | 'publish' | 'compact'> {
  subscribe<K extends string>(
    subject: K,
    listener: Listener<SubjectValue<M, K>>,
    options?: SubscribeOptions,
  ): () => void;
  get<K extends string>(subject: K): SubjectValue<M, K> | undefined;
  set<K extends string>(subject: K, value: SubjectValue<M, K>): Promise<number>;
  append<K extends string>(subject: K, value: SubjectValue<M, K>): Promise<number>;
  publish<K extends string>(subject: K, value: SubjectValue<M, K>): Promise<number>;
  compact<K extends string>(subject: K, seq: number, value: SubjectValue<M, K>): Promise<number>;
}
