/**
 * Settings given in code, for edgeroom mounted in another Worker
 * (worker/server.ts). Each one, when given, wins over the wrangler var of the
 * same meaning; what is not given falls back to the var, then to the default.
 *
 * Every part of edgeroom already reads its settings from `env` (limits,
 * tokens, origins, the address limits), in the Worker and in the room alike.
 * So code settings become an overlay on `env`: the same names, the same
 * parsing and checks, and nothing that reads them needed to change. The
 * overlay is made by the Worker and by the room class from the factory, both
 * from the options in the code: never from anything a request carries.
 */
import { DEFAULT_LIMITS, type Limits } from '../protocol/limits.ts';
import { limitsFrom, varName } from './config.ts';
import { SubjectRules, type SubjectSchemas } from './subjects.ts';

/** An `AUTH_KEYS` entry (see worker/auth/keys.ts): an HS256 secret, or an ES256/EdDSA public JWK. */
export type AuthKey =
  | { kid: string; alg: 'HS256'; secret: string }
  | { kid: string; alg: 'ES256' | 'EdDSA'; jwk: JsonWebKey };

export interface EdgeroomOptions<S extends SubjectSchemas = SubjectSchemas> {
  /** The Durable Object namespace binding of the room class, in your wrangler config. Default `ROOMS`. */
  binding?: string;
  /**
   * The binding of the leaf class (`edgeroom.RoomLeaf`), for fanned-out rooms
   * (docs/hot-rooms.md). Default `LEAVES`; without such a binding, rooms are never fanned out.
   */
  leavesBinding?: string;
  /**
   * Where the routes live when you call `fetch` with whole URLs (`/rt` serves
   * `/rt/new`, `/rt/room/:id/connect`, …). Leave it out when mounting with
   * `app.route('/rt', edgeroom.app)`, which adds the prefix itself.
   */
  basePath?: string;
  /** Any limit of protocol/limits.ts (`retentionSeconds`, `maxMessageBytes`, …). */
  limits?: Partial<Limits>;
  /** Access control (README, Access control); each falls back to its wrangler var. */
  auth?: {
    /** Token verification keys (`AUTH_KEYS`): a list, its JSON, or a function of env (for a secret). */
    keys?: AuthKey[] | string | ((env: never) => AuthKey[] | string | undefined);
    /** Longest token lifetime accepted, in seconds (`MAX_TOKEN_SECONDS`). */
    maxTokenSeconds?: number;
    /** `false`: every room needs a token (`OPEN_ROOMS = "off"`). */
    openRooms?: boolean;
    /** Browser origins allowed (`ALLOWED_ORIGINS`); any when unset. */
    allowedOrigins?: string[];
  };
  /** `false` turns off the per-address limits (`ADDRESS_LIMITS = "off"`), e.g. behind your own. */
  addressLimits?: boolean;
  /** Typed subjects: subject name or `prefix*` → schema (worker/subjects.ts). */
  subjects?: S;
  /** Serve the demo pages (`/`, `/r/:id`, `/demo/*`). Off unless asked for; `/lib/*` (the client) is always served. */
  demo?: boolean;
}

const LIMIT_NAMES = new Set(Object.keys(DEFAULT_LIMITS));

/** Checks options once, when the factory is called, so a typo fails at deploy time rather than at the first request. */
export function checkOptions(options: EdgeroomOptions): void {
  for (const name of Object.keys(options.limits ?? {})) {
    if (!LIMIT_NAMES.has(name)) throw new TypeError(`edgeroom: unknown limit "${name}"`);
  }
  if (options.basePath !== undefined && !/^\/[^?#]*[^/?#]$/.test(options.basePath)) {
    throw new TypeError('edgeroom: basePath starts with / and does not end with one (e.g. "/rt")');
  }
  if (options.subjects) new SubjectRules(options.subjects);
  try {
    limitsFrom(overrides({}, { limits: options.limits ?? {} }));
  } catch (err) {
    throw new TypeError(`edgeroom: bad limits option: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The var overrides the options stand for, in `env`'s own terms. */
function overrides(env: Record<string, unknown>, options: EdgeroomOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options.limits ?? {}))
    if (value !== undefined) out[varName(name)] = String(value);
  const auth = options.auth ?? {};
  const keys = typeof auth.keys === 'function' ? auth.keys(env as never) : auth.keys;
  if (keys !== undefined) out.AUTH_KEYS = typeof keys === 'string' ? keys : JSON.stringify(keys);
  if (auth.maxTokenSeconds !== undefined) out.MAX_TOKEN_SECONDS = String(auth.maxTokenSeconds);
  if (auth.openRooms !== undefined) out.OPEN_ROOMS = auth.openRooms ? 'on' : 'off';
  if (auth.allowedOrigins !== undefined) out.ALLOWED_ORIGINS = auth.allowedOrigins.join(',');
  if (options.addressLimits !== undefined) out.ADDRESS_LIMITS = options.addressLimits ? 'on' : 'off';
  if (options.binding !== undefined && options.binding !== 'ROOMS') {
    const ns = env[options.binding];
    if (!ns)
      throw new Error(
        `edgeroom: no binding "${options.binding}" in env: declare the room's Durable Object under that name`,
      );
    out.ROOMS = ns;
  }
  if (options.leavesBinding !== undefined && options.leavesBinding !== 'LEAVES') {
    const ns = env[options.leavesBinding];
    if (!ns)
      throw new Error(
        `edgeroom: no binding "${options.leavesBinding}" in env: declare the leaf's Durable Object under that name`,
      );
    out.LEAVES = ns;
  }
  return out;
}

/**
 * `env` seen through the options. One overlay per env object and options,
 * so the caches keyed by env (limits, origins) hold across requests.
 */
export function envWith(env: Env, options: EdgeroomOptions, cache: WeakMap<object, Env>): Env {
  let seen = cache.get(env);
  if (!seen) {
    const extra = overrides(env as unknown as Record<string, unknown>, options);
    // A prototype, not a copy: bindings stay as the runtime made them, and the overrides shadow vars.
    // Defined, not assigned: an assignment would go through env's own setter where it has one (the
    // test pool's env is a proxy that takes it), writing the options into the env that everything shares.
    seen =
      Object.keys(extra).length === 0
        ? env
        : (Object.create(
            env,
            Object.fromEntries(Object.entries(extra).map(([name, value]) => [name, { value, enumerable: true }])),
          ) as Env);
    cache.set(env, seen);
  }
  return seen;
}

/**
 * How the router makes sure the room class behind its binding was built with
 * the same options (a host that exports the plain `Room`, or another factory's,
 * would otherwise run rooms without its schemas and limits, silently). Only
 * what the room itself applies counts; key material is never part of it.
 */
export const CONFIG_HEADER = 'x-edgeroom-config';

export function roomFingerprint(options: EdgeroomOptions): string {
  const auth = options.auth ?? {};
  const text = JSON.stringify([
    Object.entries(options.limits ?? {}).sort(),
    typeof auth.keys,
    auth.maxTokenSeconds,
    auth.openRooms,
    auth.allowedOrigins,
    Object.keys(options.subjects ?? {}).sort(),
  ]);
  // FNV-1a: a mismatch check, not a secret.
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16);
}

/**
 * Why an object of class `cls` built with options `fingerprint` must not serve
 * a router that names `config` (none when the caller names none): a room, or a
 * leaf of a fanned-out room.
 */
export function misbuilt(config: string | null, fingerprint: string, cls: 'Room' | 'RoomLeaf'): string | undefined {
  if (config === null || config === fingerprint) return undefined;
  console.error(`${cls}: the class and the router were built with different options`);
  return `Misconfigured: export the Durable Object class from the same createEdgeroom as the router (edgeroom.${cls})`;
}
