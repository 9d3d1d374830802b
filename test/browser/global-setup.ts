// Builds the demo bundle (public/lib/) once, before any browser test starts a
// server: wrangler reloads when the assets change, which would drop every socket.
import { buildDemo } from '../../scripts/build-demo.mjs';

export default async function setup(): Promise<void> {
  await buildDemo();
}
