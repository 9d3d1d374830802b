/**
 * This project's own Worker: edgeroom at the root, with the demo pages, and
 * every setting from wrangler vars (wrangler.toml, .dev.vars, --var).
 * Another Worker embeds it the same way (README, Mount it in your own Worker).
 */
import { createEdgeroom, Room, RoomLeaf } from './server.ts';

const edgeroom = createEdgeroom({ demo: true });

// The plain class: with no options in code, the room reads them all from env.
export { Room, RoomLeaf };
export const app = edgeroom.app;
export default app satisfies ExportedHandler<Env>;
