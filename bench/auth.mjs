/**
 * What a token costs a connect: opening SOCKETS sockets to one room without a
 * token (an open room) and with an HS256, ES256 or EdDSA token (a private
 * room, `?token=`), side by side, alternating for ROUNDS rounds. Each token is
 * verified in the Worker before the room is touched.
 *
 *   npx node bench/auth.mjs [--sockets=200] [--rounds=5]
 */
import { sign } from 'hono/jwt';
import { BENCH_VARS, EDGEROOM_CONFIG, roundTrip } from './contenders/edgeroom.mjs';
import { setLocalObservability, startWorkerd } from './contenders/workerd.mjs';
import { closeAll, openMany, openSocket } from './lib/sockets.mjs';

const arg = (/** @type {string} */ name, /** @type {number} */ fallback) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const SOCKETS = arg('sockets', 200);
const ROUNDS = arg('rounds', 5);
const PARALLEL = 50;

/**
 * A signing key pair: the public half as the Worker's AUTH_KEYS entry, the private one as a JWK to sign with.
 * @param {EcKeyGenParams | { name: 'Ed25519' }} algorithm an asymmetric algorithm, so generateKey makes a pair
 * @param {string} alg
 * @param {string} kid
 */
async function pair(algorithm, alg, kid) {
  const keys = /** @type {CryptoKeyPair} */ (await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']));
  return {
    config: { kid, alg, jwk: await crypto.subtle.exportKey('jwk', keys.publicKey) },
    signer: { ...(await crypto.subtle.exportKey('jwk', keys.privateKey)), alg, kid },
  };
}

const secret = `bench-${crypto.randomUUID()}-${crypto.randomUUID()}`;
const es = await pair({ name: 'ECDSA', namedCurve: 'P-256' }, 'ES256', 'es');
const ed = await pair({ name: 'Ed25519' }, 'EdDSA', 'ed');
const hs = { kid: 'hs', alg: 'HS256', secret };
const hsSigner = { kty: 'oct', k: Buffer.from(secret).toString('base64url'), alg: 'HS256', kid: 'hs' };

setLocalObservability(false);
const server = await startWorkerd(EDGEROOM_CONFIG, {
  ...BENCH_VARS,
  AUTH_KEYS: JSON.stringify([hs, es.config, ed.config]),
});
const origin = server.origin.replace(/^http/, 'ws');

/** @type {Record<string, (room: string) => Promise<string>>} */
const modes = {
  'no token (open room)': async (room) => `${origin}/room/${room}/connect`,
  HS256: (room) => tokenUrl(room, hsSigner),
  ES256: (room) => tokenUrl(room, es.signer),
  EdDSA: (room) => tokenUrl(room, ed.signer),
};

/**
 * @param {string} room
 * @param {Parameters<typeof sign>[1]} signer
 */
async function tokenUrl(room, signer) {
  const now = Math.floor(Date.now() / 1000);
  const token = await sign({ sub: 'bench', room: 'p_*', iat: now, exp: now + 600 }, signer);
  return `${origin}/room/${room}/connect?token=${token}`;
}

/** @type {Record<string, number[]>} */
const times = Object.fromEntries(Object.keys(modes).map((m) => [m, []]));
let n = 0;
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [mode, urlFor] of Object.entries(modes)) {
      const room = mode.startsWith('no token') ? `bench-auth-${++n}` : `p_bench-auth-${++n}`;
      const url = await urlFor(room);
      const start = performance.now();
      const sockets = await openMany(SOCKETS, PARALLEL, () => openSocket(url, () => {}, 30_000));
      /** @type {number[]} */ (times[mode]).push(performance.now() - start);
      const first = sockets[0];
      const last = sockets[SOCKETS - 1];
      if (!first || !last) throw new Error(`expected ${SOCKETS} sockets, opened ${sockets.length}`);
      // Let in, not refused: a refused socket opens, then is closed without a pong.
      await roundTrip(first, 10_000);
      await roundTrip(last, 10_000);
      await closeAll(sockets);
    }
    process.stdout.write(`\rround ${round}/${ROUNDS}`);
  }
} finally {
  await server.stop();
}

/** @param {number[]} xs */
const median = (xs) => {
  const m = [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  if (m === undefined) throw new Error('no rounds to take a median of (--rounds must be at least 1)');
  return m;
};
const base = /** @type {number[]} */ (times['no token (open room)']);
console.log(`\n\nOpening ${SOCKETS} sockets to one room, ${PARALLEL} handshakes at a time; median of ${ROUNDS} rounds`);
console.log('connect                    ms     per socket   × no token (per round, median)');
for (const [mode, xs] of Object.entries(times)) {
  const ratios = xs.map((x, i) => x / /** @type {number} */ (base[i]));
  console.log(
    `${mode.padEnd(24)} ${median(xs).toFixed(0).padStart(6)}   ${(median(xs) / SOCKETS).toFixed(2).padStart(7)} ms   ${median(ratios).toFixed(2)}×`,
  );
}
