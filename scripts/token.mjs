// `npm run token -- --room p_demo --sub alice`: a token signed with the
// development key in .dev.vars (made by `npm run dev`), and the demo page that
// opens the room with it. Development only: it reads a local file, and a
// deployment's backend mints its own tokens (worker/auth/mint.ts).
// Imports mint.ts as TypeScript, which the Node that `npm run` brings (24) runs as it is.
import { parseArgs } from 'node:util';
import { mintToken } from '../worker/auth/mint.ts';
import { DEV_KID, DEV_VARS, readDevVars } from './dev-key.mjs';

const USAGE = `usage: npm run token -- --room <room ID or prefix*> --sub <user> [options]

  --ttl <seconds>      lifetime (default 3600, the most the Worker takes by default)
  --read <pattern>     subjects it may read (repeat for more; '!pattern' denies)
  --write <pattern>    subjects it may write (repeatable)
  --compact <pattern>  subjects it may compact (repeatable)
  --presence, --dm, --admin
                       rights to presence, direct messages, admin
                       (any right given makes the grant exactly those; none given:
                       read and write everything, presence and direct messages)
  --jti <id>           a token ID
  --page <page>        the demo page to link: room (default), slider, chat or call
  --base <url>         where the service runs (default http://127.0.0.1:$PORT or 8787)
  --kid <kid>          the key in AUTH_KEYS to sign with (default "${DEV_KID}")
  --dev-vars <file>    where AUTH_KEYS is (default .dev.vars)`;

const fail = (message) => {
  console.error(`token: ${message}`);
  process.exit(1);
};

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      room: { type: 'string' },
      sub: { type: 'string' },
      ttl: { type: 'string' },
      jti: { type: 'string' },
      read: { type: 'string', multiple: true },
      write: { type: 'string', multiple: true },
      compact: { type: 'string', multiple: true },
      presence: { type: 'boolean' },
      dm: { type: 'boolean' },
      admin: { type: 'boolean' },
      page: { type: 'string', default: 'room' },
      base: { type: 'string', default: `http://127.0.0.1:${process.env.PORT ?? '8787'}` },
      kid: { type: 'string', default: DEV_KID },
      'dev-vars': { type: 'string', default: DEV_VARS },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (error) {
  fail(`${error.message}\n${USAGE}`);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!args.room || !args.sub) fail(`--room and --sub are required\n${USAGE}`);
if (!['room', 'slider', 'chat', 'call'].includes(args.page)) fail('--page is one of room, slider, chat, call');

const config = readDevVars(args['dev-vars']).AUTH_KEYS;
if (!config)
  fail(`no AUTH_KEYS in ${args['dev-vars']}: run \`npm run dev\` once, and it makes a development key there`);
let key;
try {
  key = JSON.parse(config).find((k) => k.kid === args.kid);
} catch {
  fail(`AUTH_KEYS in ${args['dev-vars']} is not JSON`);
}
if (!key) fail(`AUTH_KEYS in ${args['dev-vars']} has no key with kid "${args.kid}" (--kid to choose another)`);
if (key.alg !== 'HS256') {
  fail(
    `key "${args.kid}" is ${key.alg}: AUTH_KEYS holds only its public half, which cannot sign. Sign with its private JWK (worker/auth/mint.ts)`,
  );
}

const given = ['read', 'write', 'compact', 'presence', 'dm', 'admin'].filter((name) => args[name] !== undefined);
const rights = given.length ? Object.fromEntries(given.map((name) => [name, args[name]])) : undefined;
const ttlSeconds = args.ttl === undefined ? undefined : Number(args.ttl);

let token;
try {
  token = await mintToken({ room: args.room, sub: args.sub, rights, ttlSeconds, jti: args.jti }, key);
} catch (error) {
  fail(error.message);
}
const { exp } = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
console.log(
  `A token for ${args.sub} in ${args.room}, until ${new Date(exp * 1000).toISOString()}, rights: ${
    rights ? `${JSON.stringify(rights)} (nothing else)` : 'read and write every subject, presence, direct messages'
  }`,
);
console.log(token);
if (args.room.endsWith('*')) {
  console.log(
    `Open a room whose ID starts with ${args.room.slice(0, -1)} with #token=<the token> after its address, e.g. ${args.base}/r/${args.room.slice(0, -1)}demo#token=${token}`,
  );
} else {
  const page = args.page === 'room' ? `/r/${args.room}` : `/demo/${args.page}?room=${args.room}`;
  console.log(`Open ${args.base.replace(/\/+$/, '')}${page}#token=${token}`);
}
if (!args.room.startsWith('p_'))
  console.log(`(${args.room} is an open room: the token is not needed there, but names its holder)`);
