/**
 * edgeroom inside your own Worker. `createEdgeroom(options)` gives the router
 * (mount it with `app.route('/rt', edgeroom.app)`, or call `edgeroom.fetch`)
 * and the room's Durable Object class built with the same options, which your
 * Worker exports under the class name in its wrangler config.
 *
 * The options reach the room through that class, in code: a Durable Object
 * gets only `env` from the runtime, and anything sent along with a request
 * could be forged by a client. See worker/options.ts for what they cover.
 */
import type { Hono } from 'hono';
import { checkOptions, envWith, roomFingerprint, type EdgeroomOptions } from './options.ts';
import { RoomLeaf } from './leaf.ts';
import { Room } from './room.ts';
import { buildRouter } from './router.ts';
import { SubjectRules, type SubjectSchemas } from './subjects.ts';

export { Room } from './room.ts';
export { RoomLeaf } from './leaf.ts';
export type { AuthKey, EdgeroomOptions } from './options.ts';
export type { SubjectSchema, SubjectSchemas } from './subjects.ts';

export interface Edgeroom {
  /** The routes, to mount in your Hono app: `app.route('/rt', edgeroom.app)`. */
  app: Hono<{ Bindings: Env }>;
  /** The same routes as a fetch handler (under `basePath`, if given). */
  fetch: (request: Request, env: object, ctx?: Parameters<Hono['fetch']>[2]) => Response | Promise<Response>;
  /** The room class with these options: `export class ChatRoom extends edgeroom.Room {}`. */
  Room: typeof Room;
  /**
   * The leaf class of fanned-out rooms with these options (docs/hot-rooms.md), for the
   * binding `leavesBinding` names: `export class ChatLeaf extends edgeroom.RoomLeaf {}`.
   */
  RoomLeaf: typeof RoomLeaf;
}

export function createEdgeroom<S extends SubjectSchemas>(options: EdgeroomOptions<S> = {}): Edgeroom {
  checkOptions(options);
  const app = buildRouter(options);
  const subjects = options.subjects ? new SubjectRules(options.subjects) : undefined;
  const envs = new WeakMap<object, Env>();
  const fingerprint = roomFingerprint(options);
  class ConfiguredRoom extends Room {
    constructor(ctx: DurableObjectState, env: Env) {
      super(ctx, envWith(env, options, envs), { subjects, fingerprint });
    }
  }
  // The leaves read the same overlay: limits, keys, and the room's binding (their root) under ROOMS.
  class ConfiguredLeaf extends RoomLeaf {
    constructor(ctx: DurableObjectState, env: Env) {
      super(ctx, envWith(env, options, envs), { fingerprint });
    }
  }
  return {
    app,
    fetch: (request, env, ctx) => app.fetch(request, env as Env, ctx),
    Room: ConfiguredRoom,
    RoomLeaf: ConfiguredLeaf,
  };
}
