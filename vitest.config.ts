import { defineConfig } from 'vitest/config';
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { buildDemo } from './scripts/build-demo.mjs';

// The Worker imports the demo pages' module (worker/demo/files.generated.ts), which a fresh clone lacks.
await buildDemo();

// For projects that write more in a test than a client may per second.
const UNLIMITED_RATES = {
  FRAMES_PER_SECOND: '1000000',
  FRAME_BURST: '1000000',
  PUBLISHES_PER_SECOND: '1000000',
  PUBLISH_BURST: '1000000',
  ROOM_PUBLISHES_PER_SECOND: '1000000',
  ROOM_DELIVERIES_PER_SECOND: '1000000',
  ADDRESS_LIMITS: 'off',
};

// Worker tests run inside workerd: with the default limits, and in projects of
// their own with tiny ones (small limits, rate limits, storage caps, paging).
// Client unit tests run in Node; end-to-end tests (our client, the published
// DriftDB client, the browser) start the real worker with wrangler and talk to
// it over loopback.
export default defineConfig({
  test: {
    projects: [
      {
        // Every test connects from the same address; the per-address limits have tests of their own.
        // AUTH_KEYS empty: this project tests a deployment without keys, whatever `npm run dev` wrote to .dev.vars.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: { bindings: { ADDRESS_LIMITS: 'off', AUTH_KEYS: '' } },
          }),
        ],
        test: { name: 'worker', include: ['test/worker/**/*.test.ts'] },
      },
      {
        // The same worker with tiny limits, for retention and connection-cap tests.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                RETENTION_SECONDS: '1',
                MAX_CONNECTIONS: '3',
                MAX_SUBSCRIPTIONS: '3',
                MAX_SUBJECTS: '4',
                MAX_ROOM_BYTES: '1000',
              },
            },
          }),
        ],
        test: { name: 'worker-small-limits', include: ['test/worker-small-limits/**/*.test.ts'] },
      },
      {
        // Tiny rates (1 token per second, small bursts), so a test can empty a bucket
        // and know that it stays empty while it looks.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                FRAMES_PER_SECOND: '1',
                FRAME_BURST: '30',
                PUBLISHES_PER_SECOND: '1',
                PUBLISH_BURST: '5',
                PRESENCE_PER_SECOND: '1',
                PRESENCE_BURST: '2',
                REFUSALS_BEFORE_CLOSE: '10',
                ROOM_PUBLISHES_PER_SECOND: '8',
                ROOM_DELIVERIES_PER_SECOND: '20',
                // The key test/worker-access/tokens.ts signs with: connects with tokens are limited per user.
                AUTH_KEYS: '[{"kid":"hs","alg":"HS256","secret":"access-test-secret-0123456789abcdef"}]',
              },
            },
          }),
        ],
        test: { name: 'worker-rate-limits', include: ['test/worker-rate-limits/**/*.test.ts'] },
      },
      {
        // Storage caps small enough to reach in a test, and rates high enough not to get in the way.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                MAX_SUBJECTS: '4',
                MAX_STREAM_ENTRIES: '5',
                MAX_STREAM_BYTES: '1000',
                MAX_ROOM_BYTES: '2500',
                ...UNLIMITED_RATES,
              },
            },
          }),
        ],
        test: { name: 'worker-caps', include: ['test/worker-caps/**/*.test.ts'] },
      },
      {
        // The default storage caps and frame limit, for paging through a stream of megabytes.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: { bindings: UNLIMITED_RATES },
          }),
        ],
        test: { name: 'worker-paging', include: ['test/worker-paging/**/*.test.ts'] },
      },
      {
        // Counted pushes in a busy room: tens of thousands of publishes in one test, so rates out of the way.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: { bindings: { ...UNLIMITED_RATES, AUTH_KEYS: '' } },
          }),
        ],
        test: { name: 'worker-counted', include: ['test/worker-counted/**/*.test.ts'] },
      },
      {
        // The model-based test (test/worker-model): random operations by several clients, checked
        // against a reference model. Rates out of the way; MODEL_RUNS, MODEL_SEED and MODEL_BREAK
        // reach the test as bindings.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                ...UNLIMITED_RATES,
                PRESENCE_PER_SECOND: '1000000',
                PRESENCE_BURST: '1000000',
                AUTH_KEYS: '',
                MODEL_RUNS: process.env.MODEL_RUNS ?? '',
                MODEL_SEED: process.env.MODEL_SEED ?? '',
                MODEL_BREAK: process.env.MODEL_BREAK ?? '',
              },
            },
          }),
        ],
        test: { name: 'worker-model', include: ['test/worker-model/**/*.test.ts'] },
      },
      {
        // Token verification (worker/auth, not wired into the routes yet). Tests make their
        // own keys; these vars are only for reading the settings from the environment.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                AUTH_KEYS: '[{"kid":"env","alg":"HS256","secret":"env-secret-0123456789abcdef0123456789"}]',
                MAX_TOKEN_SECONDS: '600',
              },
            },
          }),
        ],
        test: { name: 'worker-auth', include: ['test/worker-auth/**/*.test.ts'] },
      },
      {
        // The access gate wired in: one HS256 key (kid "hs"), the secret in test/worker-access/tokens.ts.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                ADDRESS_LIMITS: 'off',
                ALLOWED_ORIGINS: 'https://app.example, http://127.0.0.1:8787',
                AUTH_KEYS: '[{"kid":"hs","alg":"HS256","secret":"access-test-secret-0123456789abcdef"}]',
              },
            },
          }),
        ],
        test: { name: 'worker-access', include: ['test/worker-access/**/*.test.ts'] },
      },
      {
        // Silent sockets are presumed gone after 1 s here (halfOpenSeconds), so a test sees the sweep.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: { bindings: { ADDRESS_LIMITS: 'off', HALF_OPEN_SECONDS: '1' } },
          }),
        ],
        test: { name: 'worker-half-open', include: ['test/worker-half-open/**/*.test.ts'] },
      },
      {
        // Slow consumers: a backlog bound small enough to pass in a test (128 KiB, acks every 32 KiB),
        // left behind for at most 1 s; rates out of the way.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                ...UNLIMITED_RATES,
                MAX_SOCKET_BACKLOG_BYTES: '131072',
                SLOW_CONSUMER_SECONDS: '1',
                AUTH_KEYS: '',
              },
            },
          }),
        ],
        test: { name: 'worker-backlog', include: ['test/worker-backlog/**/*.test.ts'] },
      },
      {
        // Presence announcements in a large room wait 2 s here (presenceBatchMs), so a test can
        // act within one window and see what the batch makes of it.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: { bindings: { ADDRESS_LIMITS: 'off', AUTH_KEYS: '', PRESENCE_BATCH_MS: '2000' } },
          }),
        ],
        test: { name: 'worker-presence', include: ['test/worker-presence/**/*.test.ts'] },
      },
      {
        // A roster that shows 3 members (maxRosterPeers), so a test can go past it; counts told
        // every 1 ms at most (membersEveryMs), so a test sees each (the throttle has tests of its own).
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: { ADDRESS_LIMITS: 'off', AUTH_KEYS: '', MAX_ROSTER_PEERS: '3', MEMBERS_EVERY_MS: '1' },
            },
          }),
        ],
        test: { name: 'worker-roster-cap', include: ['test/worker-roster-cap/**/*.test.ts'] },
      },
      {
        // Fanned-out rooms (docs/hot-rooms.md): a room's sockets on 2 to 4 leaves; rates out of the way.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: { bindings: { ...UNLIMITED_RATES, AUTH_KEYS: '' } },
          }),
        ],
        test: { name: 'worker-fanout', include: ['test/worker-fanout/**/*.test.ts'] },
      },
      {
        // Fanned-out rooms whose roster shows 3 members (maxRosterPeers), so a test can go past it;
        // counts every 1 ms at most, as in worker-roster-cap.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: { ...UNLIMITED_RATES, AUTH_KEYS: '', MAX_ROSTER_PEERS: '3', MEMBERS_EVERY_MS: '1' },
            },
          }),
        ],
        test: { name: 'worker-fanout-roster-cap', include: ['test/worker-fanout-roster-cap/**/*.test.ts'] },
      },
      {
        // Rooms that fan out by themselves: the threshold at 3 sockets, so a test can cross it;
        // the access tests' key, so a revocation can reach a leaf.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                ...UNLIMITED_RATES,
                FANOUT_AT_SOCKETS: '3',
                AUTH_KEYS: '[{"kid":"hs","alg":"HS256","secret":"access-test-secret-0123456789abcdef"}]',
              },
            },
          }),
        ],
        test: { name: 'worker-fanout-switch', include: ['test/worker-fanout-switch/**/*.test.ts'] },
      },
      {
        // edgeroom embedded in another Worker (test/embed/fixture): mounted under /rt/ next to the
        // fixture's own routes, with its options given in code (typed subjects, a binding of its own).
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './test/embed/fixture/wrangler.toml' },
            miniflare: { bindings: { ADDRESS_LIMITS: 'off' } },
          }),
        ],
        test: { name: 'embed', include: ['test/embed/worker/**/*.test.ts'] },
      },
      {
        // The same fixture with the per-address limits on: its own [[ratelimits]] bindings.
        plugins: [cloudflareTest({ wrangler: { configPath: './test/embed/fixture/wrangler.toml' } })],
        test: { name: 'embed-limits', include: ['test/embed/limits/**/*.test.ts'] },
      },
      {
        // The embedding fixture run by wrangler for the published clients, and `wrangler deploy --dry-run`
        // of the fixture and of the project, offline.
        test: {
          name: 'embed-e2e',
          include: ['test/embed/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 90_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        // The npm packages, packed and installed into scratch projects outside the repository.
        test: {
          name: 'packages',
          include: ['test/packages/**/*.test.ts'],
          environment: 'node',
          testTimeout: 90_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: { name: 'client', include: ['test/client/**/*.test.ts'], environment: 'node' },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          exclude: ['test/e2e/flood.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        // The flood test compares latencies, so it runs alone: a group of its own (groupOrder 1), with
        // nothing beside it. (vitest runs the projects without file parallelism, e2e and browser, last.)
        test: {
          name: 'flood',
          include: ['test/e2e/flood.test.ts'],
          environment: 'node',
          hookTimeout: 60_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        // Small versions of the load scripts (bench/load): hundreds of sockets and a reconnect
        // storm. After the flood project, alone: they would skew its latencies, and load the
        // 2 cores that every other project's timeouts assume.
        test: {
          name: 'load',
          include: ['test/load/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
      {
        // Real Chromium (Debian's, via playwright-core) on the demo pages, served by the real worker.
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          globalSetup: ['test/browser/global-setup.ts'],
          environment: 'node',
          testTimeout: 90_000,
          hookTimeout: 90_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
