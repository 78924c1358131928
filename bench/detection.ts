/**
 * Detection latency with and without Tencent's state-change callbacks: the time from a change in the simulator
 * (its ground-truth log) to the transition's append in Kafka (LogAppendTime), for changes that produce a callback
 * (Login, Logout, Disconnect) and for those that cannot (PushOnline and its lapse), with the sweeps at the full cap.
 *
 * Four runs, each on a fresh keyspace and topics with the same seed: callbacks delivered, 30 % of callbacks lost,
 * no callbacks (pure polling), and callbacks delivered to an app that trusts them (trustCallbacks). Each also checks the published stream against the ground truth (lost / invented) and
 * the simulator's count of calls over the cap.
 *
 *   npx tsx bench/detection.ts [--users 200000] [--churn 200] [--seconds 60]
 *
 * Prints a table and writes .bench/detection-<time>.json. The simulator runs in a process of its own at a raised
 * scheduling priority (bench/sim-child.ts), as Tencent's servers do not share the service's event loop: in the same
 * process, every stall of the service's loop stamped call arrivals late and in bursts, and the simulator's sliding
 * window counted calls over the cap that the service never sent. The service and the bench's Kafka consumer run in
 * this process; on a small machine they still share cores with the simulator, Redis and Kafka.
 */
import { DEFAULT_KAFKA_LINGER_MS, pollerSchema, webhookSchema } from '../src/config/schema.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { PresenceEvent } from '@presence-poller/events';
import type { LoadedConfig } from '../src/config/index.js';
import { startService } from '../src/main.js';
import { createSilentLogger } from '../src/ops/logger.js';
import { createMetrics } from '../src/ops/metrics.js';
import { DEFAULT_SIMULATOR_APP, type GroundTruthEntry } from '../src/simulator/index.js';
import { BENCH_DIR, buildChildren } from './build.js';
import { benchApp, KAFKA_PARTITIONS } from './deployment.js';
import {
  cleanupAll,
  installSignalHandlers,
  startInfra,
  startSimulatorProcess,
  type Infra,
  type SimStats,
} from './infra.js';
import { matchChanges, type Appended, type LostChange, type Percentiles } from './detection-judge.js';
import { createTimedTopics } from './latency.js';
import { startLoopMonitor, type LoopReport } from './loop-monitor.js';
import { machineInfo } from './proc.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '200000' },
    churn: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '60' },
    /** Runs only these modes (keys of MODES, comma-separated), e.g. `--modes hints,trusted`. */
    modes: { type: 'string' },
  },
});
const USERS = Number(values.users);
const CHURN = Number(values.churn);
const SECONDS = Number(values.seconds);
const SEED = 42;
/** Churn before the measured window: see where it is used. */
const WARMUP_MS = 5_000;

type Mode = 'callbacks' | 'callbacks, 30 % lost' | 'no callbacks' | 'trusted callbacks';
/** `lossShare` undefined: no webhook role, no callbacks. `trust`: the app's trustCallbacks. */
const MODES: Array<{ key: string; mode: Mode; lossShare: number | undefined; trust: boolean }> = [
  { key: 'hints', mode: 'callbacks', lossShare: 0, trust: false },
  { key: 'hints-lost', mode: 'callbacks, 30 % lost', lossShare: 0.3, trust: false },
  { key: 'polling', mode: 'no callbacks', lossShare: undefined, trust: false },
  { key: 'trusted', mode: 'trusted callbacks', lossShare: 0, trust: true },
];
const CHOSEN = values.modes?.split(',') ?? MODES.map((m) => m.key);
const unknownModes = CHOSEN.filter((key) => !MODES.some((m) => m.key === key));
if (unknownModes.length > 0) throw new Error(`unknown --modes ${unknownModes.join(', ')}`);

interface ModeResult {
  mode: Mode;
  /** Changes that produce a callback (to or from Online), detection latency in ms. */
  withCallback: { count: number; p50: number | undefined; p99: number | undefined };
  /**
   * The same changes split in two: from the change to the observation that saw it (callback delivery, hint queue,
   * send slot, the call), and from that observation to the Kafka append (diff, outbox, relay).
   */
  withCallbackSplit: { toObservation: Percentiles; observationToKafka: Percentiles };
  /**
   * Seconds of the window (from its start) in which a change with a callback took over 500 ms from its observation
   * to Kafka, with the longest such time: a tail made of a few stalls shows as a few seconds here.
   */
  slowToKafkaSeconds: Array<{ second: number; count: number; maxMs: number }>;
  /** Changes Tencent sends no callback for (PushOnline, its lapse). */
  withoutCallback: { count: number; p50: number | undefined; p99: number | undefined };
  /** Changes in the window that lasted at least two sweeps and never reached Kafka. */
  lost: number;
  /** The first lost changes, each with its user's changes and published transitions, for diagnosis. */
  lostChanges: LostChange[];
  /** Shortest change counted: two sweep times of this run, at least 2 s. */
  minLastingMs: number;
  rejectedOverCap: number;
  maxCallsInAnyWindow: number;
  callbacks: { emitted: number; lost: number; delivered: number };
  /** The simulator's event loop and GC pauses over the window (a pause delays answers, not arrival stamps). */
  simulatorLoop: SimStats['loop'];
  /** The bench process's event loop and GC pauses over the window: it runs the service (and the consumer). */
  serviceLoop: LoopReport;
}

/** This process's event loop: the service under test runs in it. */
const serviceLoop = startLoopMonitor();

const log = (message: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${message}`);

async function runMode(
  infra: Infra,
  simulatorEntry: string,
  mode: Mode,
  lossShare: number | undefined,
  trust: boolean,
): Promise<ModeResult> {
  const simulator = await startSimulatorProcess(simulatorEntry, {
    seed: SEED,
    population: { size: USERS, notImportedShare: 0 },
    latency: { minMs: 30, maxMs: 80 },
    ...(lossShare === undefined ? {} : { callbacks: { lossShare, maxQueued: 100_000 } }),
  });
  const id = `detect-${Date.now().toString(36)}`;
  const topics = { transitions: `${id}.transitions`, state: `${id}.state`, heartbeat: `${id}.heartbeat` };
  await createTimedTopics(infra.kafka, topics, KAFKA_PARTITIONS);
  const userIds = Array.from({ length: USERS }, (_, i) => `u${String(i).padStart(6, '0')}`);
  const config: LoadedConfig = {
    configPath: '/dev/null',
    apps: [
      {
        ...benchApp(simulator.url, { ...DEFAULT_SIMULATOR_APP, callsPerSecond: 200 }),
        trustCallbacks: trust,
      },
    ],
    redis: {
      url: infra.redis.url,
      prefix: id,
      skipDurabilityCheck: false,
      outboxWarnEntries: 1_000_000,
      outboxMaxEntries: 2_000_000,
      outboxShards: 1,
      waitForReplicas: 0,
      snapshotPriority: 'normal',
    },
    kafka: {
      brokers: infra.broker.brokers,
      clientId: id,
      tls: undefined,
      sasl: undefined,
      topics,
      partitions: KAFKA_PARTITIONS,
      replicationFactor: 1,
      createTopics: true,
      compression: 'none',
      fencing: true,
      maxBatchBytes: 512 * 1024,
      lingerMs: DEFAULT_KAFKA_LINGER_MS,
    } as LoadedConfig['kafka'],
    defaults: { intervalMs: 1_000, detail: false, deviceEvents: false, firstObservation: 'silent' },
    http: { host: '127.0.0.1', port: 0 },
    // The schema's defaults, on a free loopback port.
    webhook: { ...webhookSchema.parse({}), host: '127.0.0.1', port: 0 },
    poller: pollerSchema.parse({}),
    heartbeat: { intervalMs: 0 },
    watchlistsDir: '/dev/null',
    maxRemovedShare: 0.5,
    logLevel: 'warn',
    watchlists: [
      {
        app: String(DEFAULT_SIMULATOR_APP.sdkAppId),
        sdkAppId: DEFAULT_SIMULATOR_APP.sdkAppId,
        name: 'everyone',
        // Shorter than a sweep at the cap: sweeps run back to back and the cap is always in use.
        intervalMs: 1_000,
        detail: false,
        deviceEvents: false,
        firstObservation: 'silent',
        topic: undefined,
        priority: 5,
        sources: [],
        userIds,
      },
    ],
  };
  const roles =
    lossShare === undefined ? ['scheduler', 'poller', 'relay'] : ['scheduler', 'poller', 'relay', 'webhook'];
  const metrics = createMetrics();
  const service = await startService(config, {
    roles: roles as never,
    logger: createSilentLogger(),
    metrics,
  });
  if (service.webhookUrl)
    await simulator.ipc.request('callbackTarget', {
      sdkAppId: DEFAULT_SIMULATOR_APP.sdkAppId,
      url: service.webhookUrl,
    });

  const appended: Appended[] = [];
  const consumer = infra.kafka.consumer({ groupId: `${id}-bench`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topic: topics.transitions, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (!message.value) return;
      const event = JSON.parse(message.value.toString()) as Pick<
        PresenceEvent,
        'kind' | 'userId' | 'observedAt'
      > & { to: string };
      if (event.kind === 'transition') {
        appended.push({
          userId: event.userId,
          to: event.to,
          observedMs: Date.parse(event.observedAt),
          appendMs: Number(message.timestamp),
        });
      }
    },
  });

  // Every user observed twice first (a change before its first observation publishes nothing: the first
  // observation is silent), then churn for the measured window.
  log(`${mode}: first sweeps`);
  await observedStates(metrics, 2 * USERS);
  await simulator.reset();
  // The simulator changes the users and stamps the changes in its own clock (sim-child.ts `change`).
  const churn = setInterval(() => {
    const chosen = Array.from({ length: CHURN / 10 }, () => userIds[Math.floor(Math.random() * USERS)]!);
    simulator.ipc.request('change', { userIds: chosen }).catch((error: unknown) => log(`churn: ${error}`));
  }, 100);
  // The first transitions are the first records the relay sends to the topics (the first sweeps are silent), and
  // the first callbacks the webhook and the hint loop see: ~1.4 s once, for a few hundred changes. Measuring from
  // the steady flow on, the window starts after a warm-up of churn (its changes are not counted).
  log(`${mode}: churn ${CHURN}/s, ${WARMUP_MS / 1000} s of warm-up then ${SECONDS} s measured`);
  await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
  serviceLoop.reset();
  const windowStart = Date.now();
  const observedAtStart = await observedCount(metrics);
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  clearInterval(churn);
  const windowEnd = Date.now();
  const serviceLoopReport = serviceLoop.report();
  const observedAtEnd = await observedCount(metrics);
  // The sweep time this run reached (a busy machine stays below the cap): a change must last two of them to be
  // certain to be seen by a sweep.
  const sweepMs = (USERS * (windowEnd - windowStart)) / Math.max(1, observedAtEnd - observedAtStart);
  const minLastingMs = Math.max(2_000, Math.ceil(2 * sweepMs));
  // Two more sweeps let the last changes be observed, then the relay drains.
  await observedStates(metrics, observedAtEnd + 2 * USERS);
  await settled(() => appended.length);
  const stats = await simulator.stats();
  const { entries: changes } = await simulator.ipc.request<{ entries: GroundTruthEntry[] }>(
    'changeLog',
    {},
    120_000,
  );
  await consumer.disconnect();
  await service.stop();
  await simulator.stop();

  return {
    mode,
    minLastingMs,
    ...matchChanges(changes, appended, { windowStart, windowEnd, minLastingMs }),
    ...capOf(stats),
    simulatorLoop: stats.loop,
    serviceLoop: serviceLoopReport,
  };
}

function capOf(stats: SimStats) {
  return {
    rejectedOverCap: stats.rejectedOverCap,
    maxCallsInAnyWindow: stats.maxCallsInAnyWindow,
    callbacks: {
      emitted: stats.callbacks.emitted,
      lost: stats.callbacks.lost,
      delivered: stats.callbacks.delivered,
    },
  };
}

/** States this process has received so far (presence_users_observed_total over every label). */
async function observedCount(metrics: ReturnType<typeof createMetrics>): Promise<number> {
  const family = (await metrics.registry.getMetricsAsJSON()).find(
    (m) => m.name === 'presence_users_observed_total',
  );
  return family?.values.reduce((n, v) => n + v.value, 0) ?? 0;
}

/** Waits until this process has received `count` states, however long a busy machine makes the sweeps take. */
async function observedStates(metrics: ReturnType<typeof createMetrics>, count: number): Promise<void> {
  const deadline = Date.now() + 600_000;
  while ((await observedCount(metrics)) < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} states observed in 10 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Waits until `value` stays the same for 2 s (the relay has published what was observed). */
async function settled(value: () => number): Promise<void> {
  let last = value();
  let stableSince = Date.now();
  while (Date.now() - stableSince < 2_000) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    if (value() !== last) [last, stableSince] = [value(), Date.now()];
  }
}

async function main(): Promise<void> {
  installSignalHandlers();
  const { simulatorEntry } = buildChildren();
  const infra = await startInfra();
  const results: ModeResult[] = [];
  try {
    for (const { mode, lossShare, trust } of MODES.filter((m) => CHOSEN.includes(m.key))) {
      results.push(await runMode(infra, simulatorEntry, mode, lossShare, trust));
    }
  } finally {
    await cleanupAll();
  }
  const ms = (v: number | undefined) => (v === undefined ? '-' : `${Math.round(v)} ms`);
  console.log(
    `\ndetection latency, ${USERS} users, churn ${CHURN}/s, ${SECONDS} s window, sweeps at the cap`,
  );
  console.log(
    '| run | changes with a callback: n, p50, p99 | without: n, p50, p99 | lost (of changes lasting ≥) | over cap | max calls in 1 s |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.mode} | ${r.withCallback.count}, ${ms(r.withCallback.p50)}, ${ms(r.withCallback.p99)} | ` +
        `${r.withoutCallback.count}, ${ms(r.withoutCallback.p50)}, ${ms(r.withoutCallback.p99)} | ` +
        `${r.lost} (${(r.minLastingMs / 1000).toFixed(1)} s) | ` +
        `${r.rejectedOverCap} | ${r.maxCallsInAnyWindow} |`,
    );
  }
  console.log(
    '\nchanges with a callback, split: p50 / p99 | loop delay max and longest GC pause: simulator; service',
  );
  for (const r of results) {
    const { toObservation: a, observationToKafka: b } = r.withCallbackSplit;
    const stalls = (loop: LoopReport) =>
      `${ms(loop.eventLoopDelayMs.max)}, ${ms(Math.max(0, ...Object.values(loop.gcPauses).map((p) => p.maxMs)))}`;
    console.log(
      `${r.mode}: change → observation ${ms(a.p50)} / ${ms(a.p99)}, observation → Kafka ${ms(b.p50)} / ` +
        `${ms(b.p99)} | ${stalls(r.simulatorLoop)}; ${stalls(r.serviceLoop)}`,
    );
  }
  for (const r of results) {
    const slow = r.slowToKafkaSeconds.map((s) => `${s.second}s: ${s.count} up to ${ms(s.maxMs)}`).join('; ');
    console.log(`${r.mode}: seconds with observation → Kafka over 500 ms: ${slow || 'none'}`);
  }
  for (const r of results) {
    for (const lost of r.lostChanges) console.log(`lost in ${r.mode}: ${JSON.stringify(lost)}`);
  }
  mkdirSync(BENCH_DIR, { recursive: true });
  const file = join(BENCH_DIR, `detection-${new Date().toISOString().replaceAll(':', '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      { machine: machineInfo(), users: USERS, churn: CHURN, seconds: SECONDS, results },
      null,
      2,
    ),
  );
  console.log(`wrote ${file}`);
}

await main();
