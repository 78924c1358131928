/**
 * One deployment of the service under test: a fresh Redis keyspace, its own Kafka topics (created with broker
 * timestamps for the latency figure), one or more worker processes running every role, and a consumer that
 * records transition latency.
 */
import { DEFAULT_KAFKA_LINGER_MS, pollerSchema, webhookSchema } from '../src/config/schema.js';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedApp } from '../src/config/index.js';
import { BENCH_DIR } from './build.js';
import type { Infra } from './infra.js';
import { onCleanup } from './infra.js';
import { forkChild, type IpcChild } from './ipc.js';
import { collectLatency, createTimedTopics, type LatencyCollector } from './latency.js';
import { memoryOf } from './proc.js';
import type { SnapshotPriority } from '../src/redis/keys.js';
import type { WatchlistRange, WorkerSpec } from './worker-child.js';
import { WORKER_NODE_FLAGS } from './worker-flags.js';

export const KAFKA_PARTITIONS = 12;

export interface AppSecret {
  sdkAppId: number;
  secretKey: string;
  callsPerSecond: number;
}

/** A LoadedApp pointing at the simulator, with the schema's production defaults. */
export function benchApp(simulatorUrl: string, app: AppSecret): LoadedApp {
  return {
    name: String(app.sdkAppId),
    sdkAppId: app.sdkAppId,
    region: undefined,
    endpoint: simulatorUrl,
    backupEndpoint: undefined,
    identifier: 'administrator',
    secretKey: app.secretKey,
    secretKeySource: 'bench',
    userSigTtlSeconds: 7 * 86_400,
    callsPerSecond: app.callsPerSecond,
    callMargin: 0.02,
    requestTimeoutMs: 5_000,
    connections: 64,
    callbackToken: undefined,
    hintShare: 0.2,
    trustCallbacks: false,
    maxAnswerBytes: 4_194_304,
  };
}

export interface BenchWatchlist {
  name: string;
  app: LoadedApp;
  intervalMs: number;
  range: WatchlistRange;
}

export interface WorkerMetrics {
  usersObserved: number;
  eventsRecorded: number;
  eventsPublished: number;
  rateLimitPenalties: number;
  pacerLateSlots: number;
  callErrors: number;
  sweepsSkipped: number;
  relayLeader: boolean;
  eventLoopDelayMs?: { p50: number; p99: number; max: number };
  /** Histogram totals since start: time waiting for a pacer slot, and the Tencent call itself. */
  pacerWait?: { sumSeconds: number; count: number };
  callDuration?: { sumSeconds: number; count: number };
  /** How late calls started after their slot since start: cumulative counts by upper bound (seconds). */
  pacerStartLateness?: Record<string, number>;
  /** GC pauses since the last loop-delay reset, by kind. */
  gcPauses?: Record<string, { count: number; totalMs: number; maxMs: number }>;
  memory?: NodeJS.MemoryUsage;
}

export interface Deployment {
  prefix: string;
  topics: { transitions: string; state: string };
  /** The workers, then the relay-only processes. */
  workers: IpcChild[];
  /** Time from fork to `ready` per worker (config expansion, Redis sync of the watchlists, connections). */
  startMs: number[];
  latency: LatencyCollector;
  metrics(): Promise<WorkerMetrics[]>;
  /** Starts a new event-loop delay histogram in every worker (at the start of a measured window). */
  resetLoopDelay(): Promise<void>;
  /** Peak RSS (VmHWM) of each worker so far, bytes. */
  peakRss(): number[];
  stop(): Promise<void>;
}

export async function deploy(
  infra: Infra,
  options: {
    label: string;
    workerEntry: string;
    apps: LoadedApp[];
    watchlists: BenchWatchlist[];
    workers: number;
    cpuProfile?: boolean;
    /** What a newly tracked user's first observation publishes. Default 'silent' (see the watchlists below). */
    firstObservation?: 'silent' | 'snapshot';
    /** `kafka.fencing`. Default false. */
    fencing?: boolean;
    /**
     * Processes that run only the relay role (`--roles relay`); with any, the workers above run the scheduler and
     * the poller only. Default 0: every worker runs every role.
     */
    relayProcesses?: number;
    /** `redis.outboxShards`: relay processes beyond it have no shard to publish. Default 1. */
    outboxShards?: number;
    /** `redis.snapshotPriority`. Default 'normal'. */
    snapshotPriority?: SnapshotPriority;
  },
): Promise<Deployment> {
  const firstObservation = options.firstObservation ?? 'silent';
  const relayProcesses = options.relayProcesses ?? 0;
  const id = `${options.label}-${randomBytes(3).toString('hex')}`;
  const prefix = `bench-${id}`;
  const topics = { transitions: `${id}.transitions`, state: `${id}.state` };
  await createTimedTopics(infra.kafka, topics, KAFKA_PARTITIONS);
  const latency = await collectLatency(infra.kafka, topics.transitions);
  const stopLatency = onCleanup(`latency consumer ${id}`, () => latency.stop());

  const spec: WorkerSpec = {
    roles: ['scheduler', 'poller', 'relay'],
    config: {
      configPath: '/dev/null',
      apps: options.apps,
      redis: {
        url: infra.redis.url,
        prefix,
        skipDurabilityCheck: false,
        outboxWarnEntries: 1_000_000,
        outboxMaxEntries: 2_000_000,
        outboxShards: options.outboxShards ?? 1,
        waitForReplicas: 0,
        snapshotPriority: options.snapshotPriority ?? 'normal',
      },
      kafka: {
        brokers: infra.broker.brokers,
        clientId: `presence-${id}`,
        tls: undefined,
        sasl: undefined,
        topics: { ...topics, heartbeat: `${id}.heartbeat` },
        partitions: KAFKA_PARTITIONS,
        replicationFactor: 1,
        createTopics: true,
        compression: 'none',
        fencing: options.fencing ?? false,
        lingerMs: DEFAULT_KAFKA_LINGER_MS,
      } as WorkerSpec['config']['kafka'],
      defaults: { intervalMs: 60_000, detail: false, deviceEvents: false, firstObservation },
      http: { host: '127.0.0.1', port: 0 },
      heartbeat: { intervalMs: 0 },
      // The schema's defaults, on a free loopback port.
      webhook: { ...webhookSchema.parse({}), host: '127.0.0.1', port: 0 },
      poller: pollerSchema.parse({}),
      watchlistsDir: '/dev/null',
      maxRemovedShare: 0.5,
      logLevel: 'warn',
      watchlists: options.watchlists.map((w) => ({
        name: w.name,
        app: w.app.name,
        sdkAppId: w.app.sdkAppId,
        intervalMs: w.intervalMs,
        detail: false,
        deviceEvents: false,
        // 'silent' unless asked: the first sweep records state without a snapshot per user, so steady-state
        // transition latency is not measured behind a one-off backlog of millions of snapshot events.
        firstObservation,
        topic: undefined,
        priority: 5,
        sources: [],
        range: w.range,
      })),
    },
  };
  mkdirSync(join(BENCH_DIR, 'tmp'), { recursive: true });
  const specPath = join(BENCH_DIR, 'tmp', `${id}.json`);
  writeFileSync(specPath, JSON.stringify(spec));
  const profileDir = join(BENCH_DIR, 'profiles');
  const execArgv = [
    ...(process.env.BENCH_WORKER_NODE_OPTIONS ?? WORKER_NODE_FLAGS).split(' ').filter(Boolean),
    ...(options.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
  ];

  const workers: IpcChild[] = [];
  const startMs: number[] = [];
  const stopWorkers = onCleanup(`workers ${id}`, async () => {
    await Promise.all(workers.map((w) => w.stop()));
  });
  try {
    // One after the other: the first syncs the watchlists into Redis, the others find them there.
    const pollerRoles = relayProcesses > 0 ? 'scheduler,poller' : spec.roles.join(',');
    for (let i = 0; i < options.workers + relayProcesses; i++) {
      const started = performance.now();
      const roles = i < options.workers ? pollerRoles : 'relay';
      const worker = forkChild(options.workerEntry, [specPath, roles], execArgv);
      workers.push(worker);
      await worker.waitFor('ready', 900_000);
      startMs.push(performance.now() - started);
    }
  } catch (error) {
    await stopWorkers();
    await stopLatency();
    throw error;
  }

  return {
    prefix,
    topics,
    workers,
    startMs,
    latency,
    async metrics() {
      return Promise.all(workers.map((w) => w.request<WorkerMetrics & { type: string }>('metrics')));
    },
    async resetLoopDelay() {
      await Promise.all(workers.map((w) => w.request('reset-loop-delay')));
    },
    peakRss: () => workers.map((w) => memoryOf(w.pid)?.peakRssBytes ?? Number.NaN),
    async stop() {
      await stopWorkers();
      await stopLatency();
      rmSync(specPath, { force: true });
    },
  };
}

/** Population IDs are `u` + index padded like the simulator pads them. */
export function idWidthFor(populationSize: number): number {
  return Math.max(6, String(Math.max(0, populationSize - 1)).length);
}
