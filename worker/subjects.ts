/**
 * Typed subjects: an optional map from subject names, or `prefix*` patterns, to
 * schemas. The room checks every value it would store or relay against the
 * subject's schema and refuses a bad one with `invalid_value`, before anything
 * is applied, counted against the room's budgets, or delivered.
 *
 * Schemas are taken as Standard Schema (https://standardschema.dev), which zod 4
 * (classic and mini) implements, so this file needs no zod of its own. The value
 * is checked, never transformed: what is stored and relayed is what was sent,
 * so a schema's defaults or transforms do not apply.
 */
/** The part of the Standard Schema interface (v1) used here. */
export interface SubjectSchema<Input = unknown> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult | Promise<StandardResult>;
    readonly types?: { readonly input: Input; readonly output: unknown } | undefined;
  };
}
type StandardResult =
  | { readonly value: unknown; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string;
        readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
      }>;
    };

/** Subject name (exact) or `prefix*` → schema. `*` alone matches every subject. */
export type SubjectSchemas = Readonly<Record<string, SubjectSchema>>;

/**
 * Finds a subject's schema: its exact name first, else the longest matching
 * prefix, the way a reader of the map would expect (`chat/*` over `*`).
 */
export class SubjectRules {
  #exact = new Map<string, SubjectSchema>();
  /** Longest first. */
  #prefixes: [string, SubjectSchema][] = [];

  constructor(schemas: SubjectSchemas) {
    for (const [pattern, schema] of Object.entries(schemas)) {
      if (typeof schema?.['~standard']?.validate !== 'function') {
        throw new TypeError(`edgeroom: subjects["${pattern}"] is not a schema (zod 4, or any Standard Schema)`);
      }
      if (pattern.endsWith('*')) this.#prefixes.push([pattern.slice(0, -1), schema]);
      else this.#exact.set(pattern, schema);
    }
    this.#prefixes.sort((a, b) => b[0].length - a[0].length);
  }

  schemaFor(subject: string): SubjectSchema | undefined {
    return this.#exact.get(subject) ?? this.#prefixes.find(([prefix]) => subject.startsWith(prefix))?.[1];
  }

  /** Why `value` may not be sent to `subject` (the first issue, with its path), or undefined when it may. */
  problem(subject: string, value: unknown): string | undefined {
    const schema = this.schemaFor(subject);
    if (!schema) return undefined;
    const result = schema['~standard'].validate(value);
    // A room applies frames in order, within one turn: it cannot wait for an async refinement.
    if (result instanceof Promise) {
      result.catch(() => {});
      return `the schema of ${subject} is asynchronous; edgeroom takes synchronous schemas only`;
    }
    const issue = result.issues?.[0];
    if (!issue) return undefined;
    const path = (issue.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p)).join('.');
    // zod/mini without a locale gives issues no message: the path still says where.
    return `${path ? `${path}: ` : ''}${issue.message || 'invalid'}`;
  }
}
