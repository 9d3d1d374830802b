// @ts-check
/**
 * Is edgeroom's hello slow, or is it the work? The connect target compares
 * opening 500 hello + sub sockets on edgeroom with opening 500 silent sockets on
 * partyserver. This gives partyserver the same work per socket: two frames into
 * its room (one it keeps to itself, one it answers to that socket alone), against edgeroom's
 * hello (`roster: false`) + sub + ping, all in one run, rounds alternating.
 *
 *   npx node bench/connect-work.mjs [--rounds=6] [--sockets=500]
 *
 * Not part of `npm run bench`: a diagnostic for RELIABILITY.md, Connect path.
 */
import { startEdgeroom } from './contenders/edgeroom.mjs';
import { startPartyserver } from './contenders/partyserver.mjs';
import { connectStorm } from './workloads/connect.mjs';
import { spread } from './lib/stats.mjs';
import { setLocalObservability } from './contenders/workerd.mjs';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const rounds = Number(args.rounds ?? 6);
const sockets = Number(args.sockets ?? 500);

setLocalObservability(false); // as npm run bench runs them
const edgeroom = await startEdgeroom();
const party = await startPartyserver();
/** @type {import('./contenders/contender.mjs').Contender} */
const partyWithWork = {
  // `-hello` in the id: connectStorm then calls `subscribe` on each socket before it counts as open.
  id: 'partyserver-hello-like',
  label: 'partyserver, 2 frames + an echo per socket',
  action: 'relay',
  openRoom: async () => {
    const room = await party.contender.openRoom();
    return {
      ...room,
      async subscribe(socket) {
        socket.send('{"type":"quiet","kind":"first frame, like a hello"}');
        const echoed = new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no echo within 15 s')), 15_000);
          socket.on('message', function onFrame(/** @type {Buffer} */ data) {
            if (data.indexOf('"echo"') < 0) return;
            clearTimeout(timer);
            socket.off('message', onFrame);
            resolve(undefined);
          });
        });
        socket.send('{"type":"echo","kind":"second frame, like a sub, answered alone"}');
        await echoed;
      },
    };
  },
};
const contenders = [edgeroom.relay, edgeroom.relayHelloNoRoster, party.contender, partyWithWork];
/** @type {Record<string, number[]>} */
const times = Object.fromEntries(contenders.map((c) => [c.id, []]));
try {
  for (let round = 1; round <= rounds; round++) {
    for (const c of contenders) {
      const { connectMs } = await connectStorm(c, { sockets });
      times[c.id]?.push(connectMs);
      console.log(`round ${round}/${rounds} ${c.label}: ${connectMs.toFixed(0)} ms`);
    }
  }
  console.log(`\nopen ${sockets} sockets to one room, ms, median (min–max) over ${rounds} rounds`);
  for (const c of contenders) {
    const s = spread(times[c.id] ?? []);
    console.log(`${c.label.padEnd(48)} ${s.median.toFixed(0)} (${s.min.toFixed(0)}–${s.max.toFixed(0)})`);
  }
  const ratio = (/** @type {string} */ a, /** @type {string} */ b) =>
    spread((times[a] ?? []).map((t, i) => t / (times[b]?.[i] ?? NaN))).median.toFixed(2);
  console.log(
    `\nhello (no roster) + sub ÷ partyserver, silent sockets: ${ratio(edgeroom.relayHelloNoRoster.id, 'partyserver')}×`,
  );
  console.log(
    `hello (no roster) + sub ÷ partyserver, same work:      ${ratio(edgeroom.relayHelloNoRoster.id, partyWithWork.id)}×`,
  );
  console.log(`DriftDB-style ÷ partyserver, silent sockets:           ${ratio(edgeroom.relay.id, 'partyserver')}×`);
} finally {
  await edgeroom.server.stop();
  await party.server.stop();
}
