/**
 * Benchmarks with the API cap as the yardstick. Starts a private Redis, a private Kafka broker and the simulator
 * (latency 30-80 ms, seeded churn), runs the worker in child processes and prints/writes every figure.
 *
 *   npx tsx bench/run.ts [--quick] [--duration 60] [--users 1000000] [--repeat 1] [--churn 0.001]
 *                        [--only cap,sweep,workers,apps,baseline,burst] [--cpu-prof]
 *                        [--burst-users 1000000] [--burst-share 0.5] [--fencing off|on|both]
 *                        [--relay-processes 0] [--outbox-shards 1] [--raw-events 100000]
 *                        [--snapshot-priority normal|low]
 *
 * See BENCHMARKS.md for what each figure means and how it is measured.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { LoadedApp } from '../src/config/index.js';
import type { SnapshotPriority } from '../src/redis/keys.js';
import { runNaiveBaseline } from './baseline.js';
import { BENCH_DIR, buildChildren } from './build.js';
import { benchApp } from './deployment.js';
import {
  cleanupAll,
  FIRST_APP,
  installSignalHandlers,
  SECOND_APP,
  startInfra,
  startSimulatorProcess,
  type SimulatorProcess,
} from './infra.js';
import { kafkaSchema } from '../src/config/schema.js';
import { machineInfo } from './proc.js';
import { buildRows, formatTable, type RunResult } from './report.js';
import { runBurstScenario, runCapScenario, runSweepScenario, type BenchContext } from './scenarios.js';

const SCENARIOS = ['cap', 'sweep', 'workers', 'apps', 'baseline', 'burst'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    users: { type: 'string' },
    repeat: { type: 'string', default: '1' },
    churn: { type: 'string', default: '0.001' },
    only: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'reuse-build': { type: 'boolean', default: false },
    'burst-users': { type: 'string' },
    'burst-share': { type: 'string', default: '0.5' },
    fencing: { type: 'string' },
    'relay-processes': { type: 'string', default: '0' },
    'outbox-shards': { type: 'string', default: '1' },
    'snapshot-priority': { type: 'string', default: 'normal' },
    'raw-events': { type: 'string', default: '100000' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(
    'npx tsx bench/run.ts [--quick] [--duration s] [--users n] [--repeat n] [--churn share/s] [--only list] [--cpu-prof]\n' +
      '  burst: [--burst-users n] [--burst-share 0.5] [--fencing off|on|both] [--relay-processes n] [--outbox-shards n]\n' +
      '         [--raw-events n] [--snapshot-priority normal|low]',
  );
  process.exit(0);
}

const quick = values.quick;
const parameters = {
  quick,
  /** Steady window of the 1-worker cap scenario, s. */
  capWindowSeconds: Number(values.duration ?? (quick ? 15 : 60)),
  /** Users of the sweep scenario (one watchlist), and the simulator population. */
  sweepUsers: Number(values.users ?? (quick ? 200_000 : 1_000_000)),
  repeat: Number(values.repeat),
  /** Share of the population changed per second by the simulator's churn. */
  churnShare: Number(values.churn),
  // The first sweep is reported apart (cold); an odd number after it gives a true median.
  sweeps: quick ? 2 : 4,
  warmupSeconds: quick ? 6 : 10,
  latency: { minMs: 30, maxMs: 80 },
  seed: 42,
  capPerApp: 200,
  baselineSeconds: quick ? 5 : 15,
  scenarios: (values.only?.split(',') ?? [...SCENARIOS]) as Scenario[],
  cpuProfile: values['cpu-prof'],
  /** Members of the burst scenario's watchlist: its first sweep publishes one snapshot each. */
  burstUsers: Number(values['burst-users'] ?? (quick ? 100_000 : 1_000_000)),
  /** Share of those members changed at once in the burst scenario's second burst. */
  burstShare: Number(values['burst-share']),
  /** `kafka.fencing` of the burst deployments: 'both' runs the scenario once with each. */
  burstFencing: fencingRuns(values.fencing ?? (kafkaSchema.shape.fencing.parse(undefined) ? 'on' : 'off')),
  relayProcesses: Number(values['relay-processes']),
  /** `redis.outboxShards` of the burst deployments: several relay processes publish in parallel only with shards. */
  outboxShards: Number(values['outbox-shards']),
  /** `redis.snapshotPriority` of the burst deployments: low keeps the first sweep's snapshots behind transitions. */
  snapshotPriority: snapshotPriorityOf(values['snapshot-priority']),
  /** Outbox entries of the first burst that the raw client sends again, for the relay/raw ratio. */
  rawEvents: Number(values['raw-events']),
};

function snapshotPriorityOf(value: string): SnapshotPriority {
  if (value === 'normal' || value === 'low') return value;
  throw new Error(`--snapshot-priority takes normal or low, not ${value}`);
}

function fencingRuns(value: string): boolean[] {
  if (value === 'both') return [false, true];
  if (value === 'on' || value === 'off') return [value === 'on'];
  throw new Error(`--fencing takes off, on or both, not ${value}`);
}
const scaleWindowSeconds = Math.min(parameters.capWindowSeconds, quick ? 10 : 30);
/** Cap scenarios track 8 watchlists x 50k = 400k users per app (demand 800 calls/s = 4x the cap). */
const capUsers = Math.min(400_000, parameters.sweepUsers);
// Only as large as the chosen scenarios need: building a population costs seconds per million users.
const populationSize = Math.max(
  parameters.scenarios.some((s) => s !== 'burst') ? Math.max(parameters.sweepUsers, capUsers) : 0,
  parameters.scenarios.includes('burst') ? parameters.burstUsers : 0,
);
for (const s of parameters.scenarios) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}`);

const fmtMs = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(2)} s`);
const log = (message: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${message}`);

async function main(): Promise<void> {
  installSignalHandlers();
  const began = new Date();
  log(
    values['reuse-build']
      ? 'reusing .bench/build'
      : 'building the service and the bench children (tsc -> .bench/build)',
  );
  const build = buildChildren({ reuse: values['reuse-build'] });
  log('starting a private redis-server and Kafka broker');
  const infra = await startInfra();
  log(
    `redis ${infra.redisVersion} on ${infra.redis.url}, kafka ${infra.kafkaVersion} on ${infra.broker.brokers[0]}`,
  );
  const churnPerSecond = Math.round(parameters.churnShare * populationSize);
  let simulator: SimulatorProcess | undefined;
  const populationBuildsMs: number[] = [];
  /**
   * Every scenario gets a simulator of its own, as it gets a fresh Redis and fresh workers: one that has served the
   * cap scenario carried its garbage (then: cached answer fragments of 400k users) into the next, and its major
   * GCs there (pauses up to 220 ms, at nice -10 on the shared cores) stamped arrivals late and starved the worker.
   */
  async function freshSimulator(): Promise<{ ctx: BenchContext; appA: LoadedApp; appB: LoadedApp }> {
    await simulator?.stop();
    log(`starting the simulator: ${populationSize.toLocaleString('en-US')} users, churn ${churnPerSecond}/s`);
    simulator = await startSimulatorProcess(build.simulatorEntry, {
      apps: [FIRST_APP, SECOND_APP],
      seed: parameters.seed,
      population: { size: populationSize },
      churnPerSecond,
      latency: parameters.latency,
      maxChangeLogEntries: 10_000,
    });
    populationBuildsMs.push(simulator.populationMs);
    log(
      `simulator ready: population built in ${(simulator.populationMs / 1000).toFixed(1)} s, scheduling priority ${simulator.nice}`,
    );
    const ctx: BenchContext = {
      infra,
      simulator,
      workerEntry: build.workerEntry,
      populationSize,
      cpuProfile: parameters.cpuProfile,
      log,
    };
    return { ctx, appA: benchApp(simulator.url, FIRST_APP), appB: benchApp(simulator.url, SECOND_APP) };
  }
  const has = (s: Scenario) => parameters.scenarios.includes(s);

  const runs: RunResult[] = [];
  for (let r = 0; r < parameters.repeat; r++) {
    log(`--- run ${r + 1} of ${parameters.repeat}`);
    const run: RunResult = {};
    runs.push(run);
    if (has('cap')) {
      const { ctx, appA } = await freshSimulator();
      run.cap = await runCapScenario(ctx, {
        label: 'cap',
        apps: [appA],
        workers: 1,
        usersPerApp: capUsers,
        warmupSeconds: parameters.warmupSeconds,
        windowSeconds: parameters.capWindowSeconds,
      });
      log(
        `cap: utilization ${run.cap.utilization.toFixed(3)}, ${run.cap.rejectedOverCap} over cap, max ${run.cap.maxCallsInAnyWindow}/s`,
      );
      log(
        `cap: worker ${run.cap.cost.workerCpuSecondsPer100kStates.toFixed(3)} / Redis ${run.cap.cost.redisCpuSecondsPer100kStates.toFixed(3)} CPU s per 100k states, load ${run.cap.cost.loadAverage.join(' ')}; ` +
          `Redis time by command, ms per 100k states (total ${run.cap.redisCommands.totalMsPer100kStates}):\n` +
          run.cap.redisCommands.top
            .map(
              (c) =>
                `    ${c.name.padEnd(40)} ${String(c.msPer100kStates).padStart(8)} ms  ${c.calls} calls  ${c.usecPerCall} µs/call`,
            )
            .join('\n'),
      );
    }
    if (has('sweep')) {
      const { ctx, appA } = await freshSimulator();
      run.sweep = await runSweepScenario(ctx, {
        app: appA,
        users: parameters.sweepUsers,
        sweeps: parameters.sweeps,
      });
      log(
        `sweep: steady ${(run.sweep.steadySweepMs / 1000).toFixed(2)} s, ${run.sweep.redis.bytesPerUser.toFixed(1)} B/user`,
      );
    }
    if (has('workers')) {
      const { ctx, appA } = await freshSimulator();
      run.scaleWorkers = await runCapScenario(ctx, {
        label: 'workers',
        apps: [appA],
        workers: 2,
        usersPerApp: capUsers,
        warmupSeconds: parameters.warmupSeconds,
        windowSeconds: scaleWindowSeconds,
      });
      log(
        `2 workers: utilization ${run.scaleWorkers.utilization.toFixed(3)}, ${run.scaleWorkers.rejectedOverCap} over cap`,
      );
    }
    if (has('apps')) {
      const { ctx, appA, appB } = await freshSimulator();
      run.scaleApps = await runCapScenario(ctx, {
        label: 'apps',
        apps: [appA, appB],
        workers: 1,
        usersPerApp: capUsers,
        warmupSeconds: parameters.warmupSeconds,
        windowSeconds: scaleWindowSeconds,
      });
      log(
        `2 apps: ${run.scaleApps.statesPerSecond.toFixed(0)} states/s, lowest utilization ${run.scaleApps.utilization.toFixed(3)}`,
      );
    }
    if (has('baseline')) {
      const { appA } = await freshSimulator();
      await infra.redisClient.flushall();
      run.baseline = await runNaiveBaseline({
        app: appA,
        redisUrl: infra.redis.url,
        users: capUsers,
        populationSize,
        seconds: parameters.baselineSeconds,
      });
      log(`naive baseline: ${run.baseline.statesPerSecond.toFixed(0)} states/s`);
    }
    if (has('burst')) {
      run.burst = [];
      for (const fencing of parameters.burstFencing) {
        const { ctx, appA } = await freshSimulator();
        const result = await runBurstScenario(ctx, {
          app: appA,
          users: parameters.burstUsers,
          changedShare: parameters.burstShare,
          fencing,
          relayProcesses: parameters.relayProcesses,
          outboxShards: parameters.outboxShards,
          snapshotPriority: parameters.snapshotPriority,
          rawEvents: parameters.rawEvents,
        });
        run.burst.push(result);
        log(
          `burst (fencing ${fencing ? 'on' : 'off'}): relay ${result.firstSweep.eventsPerSecond.toFixed(0)} events/s ÷ raw ` +
            `under the same load ${result.rawUnderLoad.eventsPerSecond.toFixed(0)} = ${result.relayToRaw.toFixed(2)} ` +
            `(÷ raw idle ${result.rawIdle.eventsPerSecond.toFixed(0)} = ${result.relayToIdleRaw.toFixed(2)}; ` +
            `after the first sweep ended ${result.afterFirstSweep.eventsPerSecond.toFixed(0)} ÷ raw under load = ` +
            `${result.relayToRawAfterFirstSweep.toFixed(2)}); ` +
            `${result.users.toLocaleString('en-US')} snapshots drained in ${result.firstSweep.drainSeconds.toFixed(1)} s; ` +
            `transition p99 ${fmtMs(result.firstSweep.transitions.ackP99Ms)} during it, ` +
            `${fmtMs(result.massChange.transitions.ackP99Ms)} in the mass change ` +
            `(${result.massChange.usersChanged.toLocaleString('en-US')} users, ${result.massChange.eventsPerSecond.toFixed(0)} events/s)`,
        );
      }
    }
  }

  const rows = buildRows(runs);
  const machine = machineInfo();
  const table = formatTable(rows);
  console.log(
    `\npresence-poller benchmarks — ${began.toISOString()} — ${machine.cpus} x ${machine.cpuModel}, node ${machine.node}, ` +
      `kafka ${infra.kafkaVersion}, redis ${infra.redisVersion}${parameters.repeat > 1 ? `, medians of ${parameters.repeat} runs` : ''}\n`,
  );
  console.log(table);
  console.log(
    `\ncaveat: the simulator, Redis, Kafka, the bench and the worker(s) share these ${machine.cpus} cores; ` +
      'per-process CPU is in the JSON (cpu.coresUsed).',
  );

  mkdirSync(BENCH_DIR, { recursive: true });
  const result = {
    startedAt: began.toISOString(),
    finishedAt: new Date().toISOString(),
    command: `npx tsx bench/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { ...machine, kafka: infra.kafkaVersion, redis: infra.redisVersion },
    parameters: { ...parameters, scaleWindowSeconds, capUsers, populationSize, churnPerSecond },
    simulator: simulator && { populationBuildsMs, nice: simulator.nice },
    rows,
    runs,
  };
  const file = join(BENCH_DIR, `results-${began.toISOString().replaceAll(':', '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(BENCH_DIR, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote ${file} and .bench/latest.json`);
}

let exitCode = 0;
try {
  await main();
} catch (error) {
  console.error('benchmark failed:', error);
  exitCode = 1;
} finally {
  await cleanupAll();
}
process.exit(exitCode);
