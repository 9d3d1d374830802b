/** The partyserver contender: bench/partyserver in workerd, same runtime as edgeroom. */
import { fileURLToPath } from 'node:url';
import { forwardingRoom, randomRoomName } from './contender.mjs';
import { startWorkerd } from './workerd.mjs';

export const PARTYSERVER_CONFIG = fileURLToPath(new URL('../partyserver/wrangler.toml', import.meta.url));

export async function startPartyserver() {
  const server = await startWorkerd(PARTYSERVER_CONFIG);
  const base = server.origin.replace(/^http/, 'ws');
  /** @type {import('./contender.mjs').Contender} */
  const contender = {
    id: 'partyserver',
    label: 'partyserver',
    action: 'relay',
    openRoom: async () => forwardingRoom(`${base}/parties/bench-room/${randomRoomName()}`),
  };
  return { server, contender };
}
