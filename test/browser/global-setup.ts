// Builds the demo module (worker/demo/files.generated.ts) once, before any
// browser test starts a server: each server's own build then finds it current
// and writes nothing, so no server sees its input change while tests run.
import { buildDemo } from '../../scripts/build-demo.mjs';

export default async function setup(): Promise<void> {
  await buildDemo();
}
