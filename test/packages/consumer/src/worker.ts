// A Worker of the app's own, with edgeroom-server mounted under /rt.
import { Hono } from 'hono';
import { createEdgeroom } from 'edgeroom-server';
import { subjects } from './subjects.ts';

interface AppEnv {
  ROOMS: DurableObjectNamespace;
  /** AUTH_KEYS as JSON: the verifying half of what the backend signs with. */
  ROOM_KEYS: string;
}

const edgeroom = createEdgeroom({
  auth: { keys: (env: AppEnv) => env.ROOM_KEYS },
  limits: { maxMessageBytes: 8192 },
  subjects,
});

export class Rooms extends edgeroom.Room {}

export default new Hono<{ Bindings: AppEnv }>().get('/', (c) => c.text('the app')).route('/rt', edgeroom.app);
