/**
 * The measuring part of `npm run bench`: starts the contenders, runs every
 * workload in alternating rounds, prints progress, and returns raw results.
 */
import { loadavg } from 'node:os';
import { plan } from './lib/args.mjs';
import { machineFacts } from './lib/machine.mjs';
import { sourceRevision } from './lib/revision.mjs';
import { FRAME_BYTES } from './lib/payload.mjs';
import { Progress } from './lib/progress.mjs';
import { EDGEROOM_CONFIG, startEdgeroom, probeEdgeroom } from './contenders/edgeroom.mjs';
import { PARTYSERVER_CONFIG, startPartyserver } from './contenders/partyserver.mjs';
import { startRawContender } from './contenders/raw.mjs';
import { compatibilityDate, setLocalObservability } from './contenders/workerd.mjs';
import { fanout, openFanout } from './workloads/fanout.mjs';
import { lowRateLatency, lowRateLatencyTogether } from './workloads/latency.mjs';
import { connectStorm } from './workloads/connect.mjs';
import { prepareReplayRoom, replayOnce } from './workloads/replay.mjs';
import { resumeOnce } from './workloads/resume.mjs';
import { clientSizes } from './workloads/client-size.mjs';
import { describeHotRoom, hotRoomTrial } from './workloads/hot-room.mjs';

/**
 * @param {ReturnType<typeof import('./lib/args.mjs').parseArgs>} options
 * @param {string[]} argv as given, for the record
 * @param {Progress} progress
 */
export async function runSuite(options, argv, progress) {
  const sizes = plan(options.quick);
  const compat = compatibilityDate(EDGEROOM_CONFIG);
  if (compatibilityDate(PARTYSERVER_CONFIG) !== compat) {
    throw new Error(
      `compatibility_date differs: wrangler.toml ${compat}, bench/partyserver/wrangler.toml ${compatibilityDate(PARTYSERVER_CONFIG)}`,
    );
  }
  setLocalObservability(options.observability);

  /** @type {any} */
  const results = {
    meta: {
      date: new Date().toISOString(),
      command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
      machine: machineFacts(),
      source: sourceRevision(),
      observability: options.observability,
      compatibilityDate: compat,
      rounds: options.rounds,
      quick: options.quick,
      frameBytes: FRAME_BYTES,
      plan: sizes,
      /** The 1-minute load average at the start of every trial. */
      loadAverages: /** @type {number[]} */ ([]),
    },
    contenders: [],
    unavailable: {},
    errors: [],
  };

  /** @type {{ stop(): Promise<void> }[]} */
  const servers = [];
  async function stopAll() {
    await Promise.allSettled(servers.splice(0).map((s) => s.stop()));
  }
  process.once('SIGINT', () => {
    console.log('\ninterrupted; stopping servers');
    void stopAll().finally(() => process.exit(130));
  });

  progress.note(
    `bench: ${options.quick ? 'quick' : 'full'} run, ${options.rounds} round(s), local observability ${options.observability ? 'on' : 'off'}, compatibility_date ${compat}`,
  );

  try {
    /** @type {import('./contenders/contender.mjs').Contender[]} */
    const contenders = [];
    /** @type {import('./contenders/contender.mjs').Contender | undefined} */
    let edgeroomRelay;
    /** Hello sockets that decline the roster: measured in the connect workload only. */
    /** @type {import('./contenders/contender.mjs').Contender | undefined} */
    let edgeroomNoRoster;
    try {
      const edgeroom = await startEdgeroom();
      servers.push(edgeroom.server);
      await probeEdgeroom(edgeroom.relay);
      contenders.push(edgeroom.relay, edgeroom.relayHello, edgeroom.append);
      edgeroomRelay = edgeroom.relay;
      edgeroomNoRoster = edgeroom.relayHelloNoRoster;
      progress.note(`edgeroom up at ${edgeroom.server.origin}`);
    } catch (error) {
      results.unavailable.edgeroom = message(error);
      progress.note(`edgeroom unavailable: ${message(error)}`);
    }
    const party = await startPartyserver();
    servers.push(party.server);
    contenders.push(party.contender);
    progress.note(`partyserver up at ${party.server.origin}`);
    const raw = await startRawContender();
    servers.push(raw.server);
    contenders.push(raw.contender);
    progress.note(`raw ws up at ${raw.server.origin}`);
    // Listed (for the reports' tables) right after the plain hello contender, when it runs.
    const listed = contenders.flatMap((c) =>
      c.id === 'edgeroom-relay-hello' && edgeroomNoRoster && options.only.has('connect') ? [c, edgeroomNoRoster] : [c],
    );
    results.contenders = listed.map(({ id, label }) => ({ id, label }));
    // The edgeroom contenders share one workerd process; where contenders run
    // at the same time, or the action does not matter, one of them is enough.
    const onePerServer = contenders.filter((c) => !c.id.startsWith('edgeroom-') || c === edgeroomRelay);
    const { rounds, only } = options;

    progress.total =
      (only.has('fanout') ? sizes.fanout.subscribers.length * contenders.length * rounds : 0) +
      (only.has('latency') ? (contenders.length + 1) * rounds : 0) +
      (only.has('connect') ? (onePerServer.length + (edgeroomNoRoster ? 2 : 1)) * rounds : 0) +
      (only.has('replay') && edgeroomRelay ? rounds + 1 : 0) +
      (only.has('resume') && edgeroomRelay ? rounds : 0) +
      (only.has('hot-room') ? sizes.hotRoom.leaves.length * Math.min(rounds, sizes.hotRoom.maxRounds) : 0);

    if (only.has('fanout') || only.has('latency')) {
      progress.note('warming up every contender (not recorded)');
      for (const c of contenders)
        await attempt(`warm-up ${c.label}`, () =>
          fanout(c, { subscribers: 10, window: 100, warmupMs: 0, measureMs: 1000 }),
        );
    }

    if (only.has('fanout')) {
      const p = sizes.fanout;
      results.fanout = {};
      for (const n of p.subscribers) {
        results.fanout[n] = Object.fromEntries(contenders.map((c) => [c.id, []]));
        /** @type {Map<string, Awaited<ReturnType<typeof openFanout>>>} */
        const sessions = new Map();
        progress.note(`fan-out N=${n}: opening ${n} subscribers per contender`);
        for (const c of contenders) {
          try {
            sessions.set(c.id, await openFanout(c, { subscribers: n }));
          } catch (error) {
            progress.note(`fan-out N=${n} ${c.label}: could not open the room: ${message(error)}`);
            results.errors.push(`fan-out N=${n} ${c.label} setup: ${message(error)}`);
          }
        }
        try {
          const window = Math.max(1, Math.ceil(p.inFlightDeliveries / n));
          for (let round = 1; round <= rounds; round++) {
            for (const c of contenders) {
              const session = sessions.get(c.id);
              const r = await trial(
                `fan-out N=${n} round ${round}/${rounds} ${c.label}`,
                async () => {
                  if (!session) throw new Error('no room (setup failed)');
                  return session.measure({ window, warmupMs: p.warmupMs, measureMs: p.measureMs });
                },
                (r) =>
                  `${int(r.deliveriesPerSecond)} deliveries/s, p50 ${r.latency.p50.toFixed(1)} ms, p99 ${r.latency.p99.toFixed(1)} ms${r.lost || r.duplicates ? `, ${r.lost} LOST, ${r.duplicates} DUPLICATED` : ''}`,
              );
              results.fanout[n][c.id].push(r);
            }
          }
        } finally {
          await Promise.all([...sessions.values()].map((s) => s.close()));
        }
      }
    }

    if (only.has('latency')) {
      results.latency = Object.fromEntries(contenders.map((c) => [c.id, []]));
      results.latencyTogether = Object.fromEntries(onePerServer.map((c) => [c.id, []]));
      const describe = (/** @type {any} */ r) =>
        `p50 ${r.latency.p50.toFixed(2)} ms, p99 ${r.latency.p99.toFixed(2)} ms, max ${r.latency.max.toFixed(2)} ms`;
      for (let round = 1; round <= rounds; round++) {
        for (const c of contenders) {
          results.latency[c.id].push(
            await trial(
              `low-rate latency round ${round}/${rounds} ${c.label}`,
              () => lowRateLatency(c, sizes.latency),
              describe,
            ),
          );
        }
        const together = await trial(
          `low-rate latency round ${round}/${rounds}, all at once`,
          () => lowRateLatencyTogether(onePerServer, sizes.latency),
          (r) => onePerServer.map((c) => `${c.label} p99 ${r[c.id]?.latency.p99.toFixed(2)} ms`).join(', '),
        );
        for (const c of onePerServer)
          results.latencyTogether[c.id].push('error' in together ? together : together[c.id]);
      }
    }

    // Connect: DriftDB-style sockets, sockets that say hello and sub as our client does,
    // and the same declining the roster (`roster: false`), side by side.
    const connecting = listed.filter((c) => onePerServer.includes(c) || c.id.startsWith('edgeroom-relay-hello'));
    if (only.has('connect')) {
      results.connect = Object.fromEntries(connecting.map((c) => [c.id, []]));
      for (let round = 1; round <= rounds; round++) {
        // Each round starts with the next contender, so none always runs right after the same
        // one (whose closing sockets and garbage its run would otherwise always inherit).
        const order = connecting.map((_, k) => connecting[(round - 1 + k) % connecting.length]);
        for (const c of /** @type {typeof connecting} */ (order)) {
          const r = await trial(
            `connect ${sizes.connect.sockets} round ${round}/${rounds} ${c.label}`,
            () => connectStorm(c, sizes.connect),
            (r) =>
              `all open in ${r.connectMs.toFixed(0)} ms, first broadcast to all in ${r.firstBroadcastMs.toFixed(1)} ms`,
          );
          results.connect[c.id].push(r);
        }
      }
    }

    if (only.has('replay') && edgeroomRelay) {
      const relay = edgeroomRelay;
      const prepared = await trial(
        `replay: filling a ${sizes.replay.entries}-entry stream`,
        () => prepareReplayRoom(relay, sizes.replay),
        (r) => `stored in ${r.fillMs.toFixed(0)} ms`,
      );
      if ('error' in prepared) results.replay = { error: prepared.error };
      else {
        results.replay = { fillMs: prepared.fillMs, rounds: [] };
        for (let round = 1; round <= rounds; round++) {
          results.replay.rounds.push(
            await trial(
              `replay round ${round}/${rounds}`,
              () => replayOnce(prepared, sizes.replay),
              (r) =>
                `last entry after ${r.replayMs.toFixed(1)} ms in ${r.frames} init frames; live max ${r.liveBefore.max.toFixed(1)} ms before, ${r.liveDuring.max.toFixed(1)} ms during`,
            ),
          );
        }
      }
    }

    if (only.has('resume') && edgeroomRelay) {
      const relay = edgeroomRelay;
      results.resume = [];
      for (let round = 1; round <= rounds; round++) {
        results.resume.push(
          await trial(
            `resume round ${round}/${rounds}`,
            () => resumeOnce(relay, sizes.resume),
            (r) => `caught up ${r.caughtUpMs.toFixed(1)} ms after reconnecting (open ${r.connectMs.toFixed(1)} ms)`,
          ),
        );
      }
    }

    // Hot room: K = 1 and K = 4 alternate within each round, each on a server of its own.
    if (only.has('hot-room')) {
      const p = sizes.hotRoom;
      results.hotRoom = Object.fromEntries(p.leaves.map((k) => [k, []]));
      for (let round = 1, of = Math.min(rounds, p.maxRounds); round <= of; round++) {
        for (const leaves of p.leaves) {
          results.hotRoom[leaves].push(
            await trial(
              `hot room ${p.subscribers} subscribers, K=${leaves}, round ${round}/${of}`,
              () => hotRoomTrial(p, leaves),
              describeHotRoom,
            ),
          );
        }
      }
    }

    if (only.has('size')) {
      progress.note('client size: building with esbuild');
      results.sizes = await clientSizes();
    }
  } finally {
    progress.note('stopping servers');
    await stopAll();
  }
  return results;

  /** @param {unknown} error */
  function message(error) {
    return error instanceof Error ? error.message : String(error);
  }

  /** @param {number} n */
  function int(n) {
    return Math.round(n).toLocaleString('en-US');
  }

  /**
   * Runs one recorded trial; a failure is recorded and printed, never fatal.
   * @template T
   * @param {string} name
   * @param {() => Promise<T>} run
   * @param {(result: T) => string} describe
   * @returns {Promise<T | { error: string }>}
   */
  async function trial(name, run, describe) {
    // Other work on this shared machine shows up here; BENCHMARKS.md reports the range.
    results.meta.loadAverages.push(Number(loadavg()[0]?.toFixed(2)));
    progress.start(name);
    try {
      const result = await run();
      progress.done(describe(result));
      return result;
    } catch (error) {
      progress.done(`FAILED: ${message(error)}`);
      results.errors.push(`${name}: ${message(error)}`);
      return { error: message(error) };
    }
  }

  /** An unrecorded run, e.g. a warm-up; a failure is printed only. @param {string} name @param {() => Promise<unknown>} run */
  async function attempt(name, run) {
    try {
      await run();
    } catch (error) {
      progress.note(`${name} failed: ${message(error)}`);
    }
  }
}
