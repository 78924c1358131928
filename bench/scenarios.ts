/**
 * The measured scenarios. Each starts from an empty Redis keyspace and fresh worker processes, so peak RSS and
 * Redis memory belong to that scenario alone.
 */
import type { Kafka, Message, TopicMessages } from 'kafkajs';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadedApp } from '../src/config/index.js';
import { kafkaRecordsOf, parseOutboxEntry } from '../src/events/outbox-entry.js';
import { createProducer } from '../src/relay/kafka.js';
import {
  createRecordEncoder,
  DEFAULT_MAX_BATCH_BYTES,
  RELAY_BATCH_ENTRIES,
} from '../src/relay/outbox-relay.js';
import { appKeys, DEFAULT_STATE_BUCKETS, type SnapshotPriority } from '../src/redis/keys.js';
import {
  deploy,
  idWidthFor,
  KAFKA_PARTITIONS,
  type BenchWatchlist,
  type Deployment,
  type WorkerMetrics,
} from './deployment.js';
import type { Infra, SimStats, SimulatorProcess } from './infra.js';
import { createTimedTopics, summarizeLatency, type LatencySummary } from './latency.js';
import { median } from './report.js';
import { redisTimeUs, watchStarts } from './start-window.js';
import { cpuDelta, machineCpu, snapshotCpu, type CpuSnapshot } from './proc.js';
import { commandStatsReport, resetCommandStats, type CommandStatsReport } from './commandstats.js';

/** Worker counters reported as differences over a measurement window. */
const COUNTER_KEYS = [
  'usersObserved',
  'eventsRecorded',
  'eventsPublished',
  'rateLimitPenalties',
  'pacerLateSlots',
  'callErrors',
  'sweepsSkipped',
] as const;

export interface BenchContext {
  infra: Infra;
  simulator: SimulatorProcess;
  workerEntry: string;
  populationSize: number;
  cpuProfile: boolean;
  log(message: string): void;
}

/** CPU seconds per component over a window, plus each as a share of one core. */
export interface CpuReport {
  seconds: CpuSnapshot;
  coresUsed: CpuSnapshot;
}

function processIds(ctx: BenchContext, deployment: Deployment): Record<string, number | undefined> {
  const pids: Record<string, number | undefined> = {
    simulator: ctx.simulator.ipc.pid,
    redis: ctx.infra.redisPid,
    kafka: ctx.infra.kafkaPid,
    bench: process.pid,
  };
  deployment.workers.forEach((w, i) => (pids[`worker${i + 1}`] = w.pid));
  return pids;
}

/** Per-process CPU plus `machine` (every process on the box, including Redis's AOF-rewrite forks). */
function snapshotAll(pids: Record<string, number | undefined>): CpuSnapshot {
  return { ...snapshotCpu(pids), machine: machineCpu().busy };
}

function cpuReport(before: CpuSnapshot, after: CpuSnapshot, seconds: number): CpuReport {
  const used = cpuDelta(before, after);
  const coresUsed: CpuSnapshot = {};
  for (const [name, s] of Object.entries(used)) coresUsed[name] = s / seconds;
  return { seconds: used, coresUsed };
}

/**
 * Cost per 100,000 user states observed, in CPU seconds: the worker(s) and the bench's own redis-server apart, each
 * with the load average at the end of the window (the cores are shared: CPU seconds, not wall time, are comparable).
 */
export interface StateCost {
  workerCpuSecondsPer100kStates: number;
  redisCpuSecondsPer100kStates: number;
  loadAverage: number[];
}

function stateCost(cpu: CpuReport, states: number): StateCost {
  const per100k = states / 100_000;
  return {
    workerCpuSecondsPer100kStates: workerCpu(cpu) / per100k,
    redisCpuSecondsPer100kStates: (cpu.seconds.redis ?? Number.NaN) / per100k,
    loadAverage: loadavg().map((load) => Number(load.toFixed(2))),
  };
}

function workerCpu(cpu: CpuReport): number {
  return Object.entries(cpu.seconds)
    .filter(([name]) => name.startsWith('worker'))
    .reduce((sum, [, s]) => sum + s, 0);
}

function sumMetrics(list: WorkerMetrics[]): WorkerMetrics {
  const total: WorkerMetrics = {
    usersObserved: 0,
    eventsRecorded: 0,
    eventsPublished: 0,
    rateLimitPenalties: 0,
    pacerLateSlots: 0,
    callErrors: 0,
    sweepsSkipped: 0,
    relayLeader: false,
  };
  for (const m of list) {
    total.usersObserved += m.usersObserved;
    total.eventsRecorded += m.eventsRecorded;
    total.eventsPublished += m.eventsPublished;
    total.rateLimitPenalties += m.rateLimitPenalties;
    total.pacerLateSlots += m.pacerLateSlots;
    total.callErrors += m.callErrors;
    total.sweepsSkipped += m.sweepsSkipped;
  }
  return total;
}

async function flushRedis(ctx: BenchContext): Promise<void> {
  await ctx.infra.redisClient.flushall();
}

/** Redis background work that competes for the same cores: AOF rewrites (each a fork) and AOF bytes written. */
async function redisPersistence(
  ctx: BenchContext,
): Promise<{ aofRewrites: number; forks: number; aofSizeBytes: number }> {
  const info = await ctx.infra.redisClient.info();
  const num = (name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1] ?? 0);
  return {
    aofRewrites: num('aof_rewrites'),
    forks: num('total_forks'),
    aofSizeBytes: num('aof_current_size'),
  };
}

async function usedMemory(ctx: BenchContext): Promise<number> {
  const info = await ctx.infra.redisClient.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

// ---------------------------------------------------------------------------------------------------------------
// Cap utilization (and the two scale-out variants): demand well above the cap, so the pacer is the limit.

export interface CapResult {
  label: string;
  workers: number;
  apps: number;
  trackedUsersPerApp: number;
  demandCallsPerSecondPerApp: number;
  windowSeconds: number;
  perApp: Record<
    string,
    {
      cap: number;
      admitted: number;
      callsPerSecond: number;
      utilization: number;
      rejectedOverCap: number;
      maxCallsInAnyWindow: number;
      /** Invariant 1 at the sender: calls started (pacer, all processes, Redis clock) in any 1,000 ms. */
      maxStartsInAnySecond: number;
    }
  >;
  /** Highest over the apps of perApp.maxStartsInAnySecond. */
  maxStartsInAnySecond: number;
  /** Lowest utilization over the apps. */
  utilization: number;
  rejectedOverCap: number;
  maxCallsInAnyWindow: number;
  statesPerSecond: number;
  cost: StateCost;
  workerPeakRssBytes: number[];
  cpu: CpuReport;
  latency: LatencySummary;
  workerCounters: WorkerMetrics;
  /** Worker event-loop delay over the window, per worker. */
  eventLoopDelayMs: Array<WorkerMetrics['eventLoopDelayMs']>;
  /** Mean per chunk job over the window: waiting for a pacer slot, and the call (see `jobTimes`). */
  jobTimeMs: { pacerWaitMs: number; callMs: number };
  gcPauses: Array<WorkerMetrics['gcPauses']>;
  /** How late calls started after their pacer slot over the window: share of starts at or under each bound (s). */
  startLateness: Record<string, number>;
  /** The simulator's event-loop delay and GC pauses over the window (late arrival stamps). */
  simulatorLoop: SimStats['loop'];
  /** process.memoryUsage() of each worker at the end of the window. */
  workerMemory: Array<WorkerMetrics['memory']>;
  /** AOF rewrites / forks during the window and AOF growth (negative after a rewrite shrank it). */
  redisAof: { rewrites: number; forks: number; bytesPerSecond: number };
  /** The redis-server's time per command and per Lua script over the window (bench/commandstats.ts). */
  redisCommands: CommandStatsReport;
}

/** Mean pacer wait and call time per call over a window, from the workers' histogram totals. */
function jobTimes(before: WorkerMetrics[], after: WorkerMetrics[]): { pacerWaitMs: number; callMs: number } {
  const delta = (get: (m: WorkerMetrics) => { sumSeconds: number; count: number } | undefined) => {
    let sum = 0;
    let count = 0;
    after.forEach((m, i) => {
      sum += (get(m)?.sumSeconds ?? 0) - (get(before[i] as WorkerMetrics)?.sumSeconds ?? 0);
      count += (get(m)?.count ?? 0) - (get(before[i] as WorkerMetrics)?.count ?? 0);
    });
    return count > 0 ? (sum / count) * 1000 : Number.NaN;
  };
  return { pacerWaitMs: delta((m) => m.pacerWait), callMs: delta((m) => m.callDuration) };
}

/** Cumulative share of the window's starts at or under each lateness bound, over all workers. */
function latenessShares(before: WorkerMetrics[], after: WorkerMetrics[]): Record<string, number> {
  const counts: Record<string, number> = {};
  after.forEach((m, i) => {
    for (const [le, count] of Object.entries(m.pacerStartLateness ?? {})) {
      counts[le] = (counts[le] ?? 0) + count - (before[i]?.pacerStartLateness?.[le] ?? 0);
    }
  });
  const total = counts['+Inf'] ?? 0;
  return Object.fromEntries(Object.entries(counts).map(([le, count]) => [le, total ? count / total : 0]));
}

export const CAP_WATCHLISTS_PER_APP = 8;
/** Each cap watchlist is swept every second: demand = users / 500 calls/s per app. */
const CAP_INTERVAL_MS = 1_000;

export async function runCapScenario(
  ctx: BenchContext,
  options: {
    label: string;
    apps: LoadedApp[];
    workers: number;
    usersPerApp: number;
    warmupSeconds: number;
    windowSeconds: number;
  },
): Promise<CapResult> {
  const { apps, usersPerApp } = options;
  await flushRedis(ctx);
  const perList = Math.floor(usersPerApp / CAP_WATCHLISTS_PER_APP / 500) * 500;
  const watchlists: BenchWatchlist[] = apps.flatMap((app) =>
    Array.from({ length: CAP_WATCHLISTS_PER_APP }, (_, i) => ({
      name: `cap-${i}`,
      app,
      intervalMs: CAP_INTERVAL_MS,
      range: { start: i * perList, count: perList, idWidth: idWidthFor(ctx.populationSize) },
    })),
  );
  const tracked = perList * CAP_WATCHLISTS_PER_APP;
  const demand = tracked / 500 / (CAP_INTERVAL_MS / 1000);
  ctx.log(
    `${options.label}: ${apps.length} app(s), ${options.workers} worker(s), ${tracked.toLocaleString('en-US')} users/app ` +
      `in ${CAP_WATCHLISTS_PER_APP} watchlists every ${CAP_INTERVAL_MS / 1000}s = demand ${demand} calls/s/app`,
  );
  const deployment = await deploy(ctx.infra, {
    label: options.label,
    workerEntry: ctx.workerEntry,
    apps,
    watchlists,
    workers: options.workers,
    cpuProfile: ctx.cpuProfile,
  });
  try {
    await sleep(options.warmupSeconds * 1000);
    const startWatchers = apps.map((app) =>
      watchStarts(ctx.infra.redisClient, appKeys(deployment.prefix, app.sdkAppId).pacer),
    );
    await ctx.simulator.reset();
    const windowFromUs = await redisTimeUs(ctx.infra.redisClient);
    const pids = processIds(ctx, deployment);
    const perWorker0 = await deployment.metrics();
    const metrics0 = sumMetrics(perWorker0);
    await deployment.resetLoopDelay();
    const persistence0 = await redisPersistence(ctx);
    await resetCommandStats(ctx.infra.redisClient);
    const cpu0 = snapshotAll(pids);
    const t0 = Date.now();
    const started = performance.now();
    await sleep(options.windowSeconds * 1000);
    const stats = await ctx.simulator.stats();
    const windowToUs = await redisTimeUs(ctx.infra.redisClient);
    const seconds = (performance.now() - started) / 1000;
    const t1 = Date.now();
    const cpu1 = snapshotAll(pids);
    const perWorker = await deployment.metrics();
    const metrics1 = sumMetrics(perWorker);
    const persistence1 = await redisPersistence(ctx);
    // Also lets transitions observed near the end of the window reach the bench consumer (its sample takes 3 s).
    const redisCommands = await commandStatsReport(
      ctx.infra.redisClient,
      metrics1.usersObserved - metrics0.usersObserved,
    );

    const startReports = await Promise.all(startWatchers.map((w) => w.stop(windowFromUs, windowToUs)));
    const perApp: CapResult['perApp'] = {};
    for (const [index, app] of apps.entries()) {
      const s = stats.apps[String(app.sdkAppId)] ?? {
        admitted: 0,
        rejectedOverCap: 0,
        maxCallsInAnyWindow: 0,
      };
      perApp[String(app.sdkAppId)] = {
        cap: app.callsPerSecond,
        admitted: s.admitted,
        callsPerSecond: s.admitted / seconds,
        utilization: s.admitted / seconds / app.callsPerSecond,
        rejectedOverCap: s.rejectedOverCap,
        maxCallsInAnyWindow: s.maxCallsInAnyWindow,
        maxStartsInAnySecond: startReports[index]!.maxInAnySecond,
      };
    }
    const cpu = cpuReport(cpu0, cpu1, seconds);
    const states = metrics1.usersObserved - metrics0.usersObserved;
    const counters = sumMetrics([metrics1]);
    for (const key of COUNTER_KEYS) {
      counters[key] = metrics1[key] - metrics0[key];
    }
    const list = Object.values(perApp);
    return {
      label: options.label,
      workers: options.workers,
      apps: apps.length,
      trackedUsersPerApp: tracked,
      demandCallsPerSecondPerApp: demand,
      windowSeconds: seconds,
      perApp,
      utilization: Math.min(...list.map((a) => a.utilization)),
      rejectedOverCap: list.reduce((s, a) => s + a.rejectedOverCap, 0),
      maxCallsInAnyWindow: Math.max(...list.map((a) => a.maxCallsInAnyWindow)),
      maxStartsInAnySecond: Math.max(...list.map((a) => a.maxStartsInAnySecond)),
      statesPerSecond: states / seconds,
      cost: stateCost(cpu, states),
      workerPeakRssBytes: deployment.peakRss(),
      cpu,
      latency: summarizeLatency(deployment.latency.samples, t0, t1),
      workerCounters: counters,
      eventLoopDelayMs: perWorker.map((m) => m.eventLoopDelayMs),
      jobTimeMs: jobTimes(perWorker0, perWorker),
      gcPauses: perWorker.map((m) => m.gcPauses),
      simulatorLoop: stats.loop,
      startLateness: latenessShares(perWorker0, perWorker),
      workerMemory: perWorker.map((m) => m.memory),
      redisAof: aofDelta(persistence0, persistence1, seconds),
      redisCommands,
    };
  } finally {
    await deployment.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// One watchlist of N users (1M by default): sweep time, cost, Redis bytes per user, RSS, latency.

export interface SweepResult {
  users: number;
  chunks: number;
  intervalMs: number;
  idealSweepMs: number;
  /** Worker start: config expansion + sync of N members into Redis + connections. */
  workerStartMs: number;
  sweepDurationsMs: number[];
  firstSweepMs: number;
  /** Median of the sweeps after the first. */
  steadySweepMs: number;
  redis: {
    usedMemoryBeforeBytes: number;
    usedMemoryAfterFirstSweepBytes: number;
    bytesPerUser: number;
    stateBucketsBytesEstimate: number;
    chunkListBytes: number;
    outboxBytes: number;
    otherBytes: number;
  };
  steadyWindowSeconds: number;
  statesPerSecond: number;
  cost: StateCost;
  workerPeakRssBytes: number;
  cpu: CpuReport;
  latency: LatencySummary;
  rejectedOverCap: number;
  maxCallsInAnyWindow: number;
  /** The simulator's event-loop delay and GC pauses over the steady window (its stalls stamp arrivals late). */
  simulatorLoop: SimStats['loop'];
  workerCounters: WorkerMetrics;
  eventLoopDelayMs: WorkerMetrics['eventLoopDelayMs'];
  gcPauses: WorkerMetrics['gcPauses'];
  /** process.memoryUsage() of the worker right after start (sync done) and at the end. */
  workerMemoryAtReady: WorkerMetrics['memory'];
  workerMemory: WorkerMetrics['memory'];
  redisAof: { rewrites: number; forks: number; bytesPerSecond: number };
}

export async function runSweepScenario(
  ctx: BenchContext,
  options: { app: LoadedApp; users: number; sweeps: number },
): Promise<SweepResult> {
  const { app, users } = options;
  await flushRedis(ctx);
  const memBefore = await usedMemory(ctx);
  const chunks = Math.ceil(users / 500);
  const idealSweepMs = (chunks / app.callsPerSecond) * 1000;
  // A little above the ideal sweep, so every tick starts a sweep (11 s for 1M users).
  const intervalMs = Math.max(2_000, Math.ceil((idealSweepMs * 1.1) / 1000) * 1000);
  const name = 'everyone';
  ctx.log(
    `sweep: ${users.toLocaleString('en-US')} users = ${chunks} chunks every ${intervalMs / 1000}s ` +
      `(ideal sweep ${(idealSweepMs / 1000).toFixed(1)} s); starting the worker (it syncs the members into Redis)`,
  );
  await ctx.simulator.reset();
  const deployment = await deploy(ctx.infra, {
    label: 'sweep',
    workerEntry: ctx.workerEntry,
    apps: [app],
    watchlists: [
      { name, app, intervalMs, range: { start: 0, count: users, idWidth: idWidthFor(ctx.populationSize) } },
    ],
    workers: 1,
    cpuProfile: ctx.cpuProfile,
  });
  ctx.log(`sweep: worker ready after ${((deployment.startMs[0] ?? 0) / 1000).toFixed(1)} s`);
  const keys = appKeys(deployment.prefix, app.sdkAppId);
  const redis = ctx.infra.redisClient;
  try {
    const readyMemory = (await deployment.metrics())[0]?.memory;
    const durations: number[] = [];
    let seenCompleted = 0;
    let memAfterFirst = 0;
    let breakdown: SweepResult['redis'] | undefined;
    const pids = processIds(ctx, deployment);
    let cpu0: CpuSnapshot = {};
    let metrics0: WorkerMetrics | undefined;
    let t0 = 0;
    let started = 0;
    let persistence0 = { aofRewrites: 0, forks: 0, aofSizeBytes: 0 };
    const deadline = Date.now() + (options.sweeps + 3) * Math.max(intervalMs, idealSweepMs * 2) + 60_000;
    while (durations.length < options.sweeps) {
      if (Date.now() > deadline)
        throw new Error(`only ${durations.length} sweeps completed before the deadline`);
      await sleep(100);
      const sweep = await redis.hgetall(keys.sweep(name));
      const completed = Number(sweep.completed ?? 0);
      if (completed <= seenCompleted) continue;
      seenCompleted = completed;
      durations.push(Number(sweep.lastDurationMs));
      ctx.log(`sweep ${durations.length}: ${(Number(sweep.lastDurationMs) / 1000).toFixed(2)} s`);
      if (durations.length === 1) {
        // Steady window starts now: everything after the first sweep is the recurring cost.
        cpu0 = snapshotAll(pids);
        metrics0 = sumMetrics(await deployment.metrics());
        await deployment.resetLoopDelay();
        persistence0 = await redisPersistence(ctx);
        t0 = Date.now();
        started = performance.now();
        await ctx.simulator.reset();
        // Memory after the sync and the first sweep, once the relay has drained the outbox.
        for (let i = 0; i < 50 && (await redis.xlen(keys.outbox)) > 0; i++) await sleep(100);
        memAfterFirst = await usedMemory(ctx);
        breakdown = await memoryBreakdown(ctx, keys, name, memBefore, memAfterFirst, users);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const t1 = Date.now();
    const cpu1 = snapshotAll(pids);
    const perWorker = await deployment.metrics();
    const metrics1 = sumMetrics(perWorker);
    const stats = await ctx.simulator.stats();
    const persistence1 = await redisPersistence(ctx);
    await sleep(3_000);
    const cpu = cpuReport(cpu0, cpu1, seconds);
    const states = metrics1.usersObserved - (metrics0?.usersObserved ?? 0);
    const counters = { ...metrics1 };
    for (const key of COUNTER_KEYS) {
      counters[key] = metrics1[key] - (metrics0?.[key] ?? 0);
    }
    const appStats = stats.apps[String(app.sdkAppId)];
    return {
      users,
      chunks,
      intervalMs,
      idealSweepMs,
      workerStartMs: deployment.startMs[0] ?? Number.NaN,
      sweepDurationsMs: durations,
      firstSweepMs: durations[0] ?? Number.NaN,
      steadySweepMs: median(durations.slice(1)) ?? Number.NaN,
      redis: breakdown ?? {
        usedMemoryBeforeBytes: memBefore,
        usedMemoryAfterFirstSweepBytes: memAfterFirst,
        bytesPerUser: Number.NaN,
        stateBucketsBytesEstimate: Number.NaN,
        chunkListBytes: Number.NaN,
        outboxBytes: Number.NaN,
        otherBytes: Number.NaN,
      },
      steadyWindowSeconds: seconds,
      statesPerSecond: states / seconds,
      cost: stateCost(cpu, states),
      workerPeakRssBytes: deployment.peakRss()[0] ?? Number.NaN,
      cpu,
      latency: summarizeLatency(deployment.latency.samples, t0, t1),
      rejectedOverCap: appStats?.rejectedOverCap ?? Number.NaN,
      maxCallsInAnyWindow: appStats?.maxCallsInAnyWindow ?? Number.NaN,
      simulatorLoop: stats.loop,
      workerCounters: counters,
      eventLoopDelayMs: perWorker[0]?.eventLoopDelayMs,
      gcPauses: perWorker[0]?.gcPauses,
      workerMemoryAtReady: readyMemory,
      workerMemory: perWorker[0]?.memory,
      redisAof: aofDelta(persistence0, persistence1, seconds),
    };
  } finally {
    await deployment.stop();
  }
}

/** Redis persistence work between two readings: AOF rewrites, forks and AOF growth per second. */
function aofDelta(
  before: { aofRewrites: number; forks: number; aofSizeBytes: number },
  after: { aofRewrites: number; forks: number; aofSizeBytes: number },
  seconds: number,
) {
  return {
    rewrites: after.aofRewrites - before.aofRewrites,
    forks: after.forks - before.forks,
    bytesPerSecond: (after.aofSizeBytes - before.aofSizeBytes) / seconds,
  };
}

/** Splits the Redis memory delta into state records (every bucket), member chunks, outbox and the rest. */
async function memoryBreakdown(
  ctx: BenchContext,
  keys: ReturnType<typeof appKeys>,
  watchlist: string,
  before: number,
  after: number,
  users: number,
): Promise<SweepResult['redis']> {
  const redis = ctx.infra.redisClient;
  const usage = async (key: string) => Number((await redis.memory('USAGE', key, 'SAMPLES', 0)) ?? 0);
  // Every state bucket of the app (however many buckets the build uses), summed exactly.
  let stateBuckets = 0;
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${keys.tag}:s:*`, 'COUNT', 2_000);
    cursor = next;
    const pipeline = redis.pipeline();
    for (const key of found) pipeline.memory('USAGE', key, 'SAMPLES', 0);
    for (const [, bytes] of (await pipeline.exec()) ?? []) stateBuckets += Number(bytes ?? 0);
  } while (cursor !== '0');
  const definition = JSON.parse((await redis.hget(keys.watchlists, watchlist)) ?? '{}') as {
    version?: string;
  };
  const chunkListBytes = definition.version
    ? await usage(keys.watchlistChunks(watchlist, definition.version))
    : 0;
  const outboxBytes = await usage(keys.outbox);
  const stateBucketsBytesEstimate = stateBuckets;
  const delta = after - before;
  return {
    usedMemoryBeforeBytes: before,
    usedMemoryAfterFirstSweepBytes: after,
    bytesPerUser: delta / users,
    stateBucketsBytesEstimate,
    chunkListBytes,
    outboxBytes,
    otherBytes: delta - stateBucketsBytesEstimate - chunkListBytes - outboxBytes,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Burst: a watchlist's first sweep publishes one snapshot per member, then half of the members change in one
// sweep. How fast the relay drains each burst while the poller runs, against the raw client in the same run.

/** Below this many entries the outbox counts as drained (one relay read: churn keeps a few entries in it). */
const DRAINED_BELOW = 1_000;
const BACKLOG_SAMPLE_MS = 100;

export interface BacklogSample {
  /** Wall clock, ms. */
  atMs: number;
  /** Outbox entries waiting (all shards). */
  outbox: number;
  /** The relay's published counter (entries acknowledged by Kafka and trimmed). */
  published: number;
}

export interface BurstPhase {
  label: string;
  /** From the first sample with a backlog to the first one drained again, s. */
  drainSeconds: number;
  /** Outbox entries (events) acknowledged and trimmed in that time. */
  eventsPublished: number;
  eventsPerSecond: number;
  peakBacklog: number;
  /** Latency of the transitions observed during the phase (churn, and the mass change itself). */
  transitions: LatencySummary;
  /** CPU over the phase, by process. */
  cpu: CpuReport;
  /** Outbox length every second from the phase's start. */
  backlogEverySecond: number[];
}

export interface RawClientResult {
  /** Outbox entries whose records were sent (each a transition record and a state record). */
  events: number;
  records: number;
  batches: number;
  seconds: number;
  eventsPerSecond: number;
}

export interface BurstResult {
  users: number;
  changedShare: number;
  fencing: boolean;
  relayProcesses: number;
  /** `redis.outboxShards` of the deployment. */
  outboxShards: number;
  /** `redis.snapshotPriority` of the deployment. */
  snapshotPriority: SnapshotPriority;
  intervalMs: number;
  firstSweep: BurstPhase;
  massChange: BurstPhase & { usersChanged: number };
  /**
   * The raw client while the deployment still runs (the poller sweeping at the cap with churn, the relay idle but
   * for the churn), on topics of its own: the CPU it gets is the CPU the relay got during the burst.
   */
  rawUnderLoad: RawClientResult & { cpu: CpuReport; sweepsDuring: number };
  /** The raw client after the deployment stopped: the machine's best for these records. */
  rawIdle: RawClientResult;
  /**
   * Relay events/s during the first-sweep burst ÷ raw client events/s under the same load (same records, same
   * broker, same run): the relay's own overhead.
   */
  relayToRaw: number;
  /** Relay events/s during the first-sweep burst ÷ raw client events/s on the idle machine. */
  relayToIdleRaw: number;
  /**
   * The first burst's drain from the end of the first sweep on: the poller then sweeps at its usual pace, as while
   * the raw client runs under load, rather than writing the first sweep's snapshots (a heavier load).
   */
  afterFirstSweep: { seconds: number; eventsPerSecond: number };
  /** `afterFirstSweep` events/s ÷ raw client events/s under the same load: both windows under steady sweeps. */
  relayToRawAfterFirstSweep: number;
}

/**
 * Polls the outbox length and the relay's published counter every 100 ms until stopped. Both are read in one
 * round trip, so a sample is consistent; the outbox entry ids are the XADD times, the counter moves on each trim.
 */
function sampleBacklog(redis: BenchContext['infra']['redisClient'], keys: ReturnType<typeof appKeys>) {
  const samples: BacklogSample[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const multi = redis.multi().hget(keys.relayState, 'published');
      for (let shard = 0; shard < keys.outboxShards; shard++) {
        multi.xlen(keys.outboxShard(shard));
        // The low-priority streams (`redis.snapshotPriority: low`) hold the snapshots: they count as backlog too.
        if (keys.snapshotPriority === 'low') multi.xlen(keys.lowOutboxShard(shard));
      }
      const [[, published], ...lengths] = (await multi.exec()) as [
        [null, string | null],
        ...Array<[null, number]>,
      ];
      const outbox = lengths.reduce((sum, [, length]) => sum + length, 0);
      samples.push({ atMs: Date.now(), outbox, published: Number(published ?? 0) });
      await sleep(BACKLOG_SAMPLE_MS);
    }
  })();
  return {
    samples,
    latest: () => samples.at(-1),
    async stop() {
      running = false;
      await done;
    },
  };
}

/** The newest `count` entries of the outbox (all shards), oldest first: what the raw client sends again. */
async function newestOutboxEntries(
  redis: BenchContext['infra']['redisClient'],
  keys: ReturnType<typeof appKeys>,
  count: number,
): Promise<Array<[string, string[]]>> {
  const rows: Array<[string, string[]]> = [];
  const streams = [];
  for (let shard = 0; shard < keys.outboxShards; shard++) {
    streams.push(keys.outboxShard(shard));
    if (keys.snapshotPriority === 'low') streams.push(keys.lowOutboxShard(shard));
  }
  for (const stream of streams) {
    rows.push(...((await redis.xrevrange(stream, '+', '-', 'COUNT', count)) as Array<[string, string[]]>));
  }
  const order = (id: string) => id.split('-').map(BigInt) as [bigint, bigint];
  rows.sort(([a], [b]) => {
    const [aMs, aSeq] = order(a);
    const [bMs, bSeq] = order(b);
    return aMs === bMs ? Number(aSeq - bSeq) : Number(aMs - bMs);
  });
  return rows.slice(-count);
}

async function waitUntil(what: string, deadlineMs: number, check: () => Promise<boolean> | boolean) {
  while (!(await check())) {
    if (Date.now() > deadlineMs) throw new Error(`burst: timed out waiting for ${what}`);
    await sleep(BACKLOG_SAMPLE_MS);
  }
}

/** Events published per second between two backlog samples. */
function rateBetween(from: BacklogSample, to: BacklogSample): { seconds: number; eventsPerSecond: number } {
  const seconds = (to.atMs - from.atMs) / 1000;
  return { seconds, eventsPerSecond: seconds > 0 ? (to.published - from.published) / seconds : 0 };
}

function phaseOf(
  label: string,
  samples: readonly BacklogSample[],
  from: number,
  to: number,
  latency: LatencySummary,
  cpu: CpuReport,
): BurstPhase {
  const { seconds, eventsPerSecond } = rateBetween(samples[from]!, samples[to]!);
  const window = samples.slice(from, to + 1);
  const backlogEverySecond = window
    .filter((_, i) => i % Math.round(1000 / BACKLOG_SAMPLE_MS) === 0)
    .map((s) => s.outbox);
  return {
    label,
    drainSeconds: seconds,
    eventsPublished: samples[to]!.published - samples[from]!.published,
    eventsPerSecond,
    peakBacklog: Math.max(...window.map((s) => s.outbox)),
    transitions: latency,
    cpu,
    backlogEverySecond,
  };
}

export async function runBurstScenario(
  ctx: BenchContext,
  options: {
    app: LoadedApp;
    users: number;
    changedShare: number;
    fencing: boolean;
    relayProcesses: number;
    /** `redis.outboxShards`: with several, that many relay processes can publish in parallel. */
    outboxShards: number;
    /** `redis.snapshotPriority`: low publishes the snapshots only while no other event waits. */
    snapshotPriority: SnapshotPriority;
    /** Outbox entries the raw client sends (taken from the real outbox). */
    rawEvents: number;
  },
): Promise<BurstResult> {
  const { app, users } = options;
  await flushRedis(ctx);
  const chunks = Math.ceil(users / 500);
  const idealSweepMs = (chunks / app.callsPerSecond) * 1000;
  const intervalMs = Math.max(2_000, Math.ceil((idealSweepMs * 1.1) / 1000) * 1000);
  const name = 'burst';
  const idWidth = idWidthFor(ctx.populationSize);
  ctx.log(
    `burst: ${users.toLocaleString('en-US')} users swept every ${intervalMs / 1000}s, first observation = snapshot, ` +
      `fencing ${options.fencing ? 'on' : 'off'}, ${options.relayProcesses || 'no'} separate relay process(es), ` +
      `${options.outboxShards} outbox shard(s), snapshot priority ${options.snapshotPriority}`,
  );
  await ctx.simulator.reset();
  const deployment = await deploy(ctx.infra, {
    label: 'burst',
    workerEntry: ctx.workerEntry,
    apps: [app],
    watchlists: [{ name, app, intervalMs, range: { start: 0, count: users, idWidth } }],
    workers: 1,
    cpuProfile: ctx.cpuProfile,
    firstObservation: 'snapshot',
    fencing: options.fencing,
    relayProcesses: options.relayProcesses,
    outboxShards: options.outboxShards,
    snapshotPriority: options.snapshotPriority,
  });
  const keys = appKeys(
    deployment.prefix,
    app.sdkAppId,
    DEFAULT_STATE_BUCKETS,
    options.outboxShards,
    options.snapshotPriority,
  );
  const redis = ctx.infra.redisClient;
  const sampler = sampleBacklog(redis, keys);
  const pids = processIds(ctx, deployment);
  const sweepsCompleted = async () => Number((await redis.hget(keys.sweep(name), 'completed')) ?? 0);
  // Generous: a relay at 600 events/s (fenced, on a loaded machine) still drains a million snapshots.
  const deadline = () => Date.now() + 1_800_000;
  let rawRows: Array<[string, string[]]> = [];
  try {
    // Burst 1: the first sweep's snapshots.
    let until = deadline();
    await waitUntil('the first outbox entry', until, () => (sampler.latest()?.outbox ?? 0) > 0);
    const firstFrom = sampler.samples.length - 1;
    const cpuFirst0 = snapshotAll(pids);
    await waitUntil('the first sweep', until, async () => (await sweepsCompleted()) >= 1);
    const sweptAt = sampler.samples.length - 1;
    // The newest entries of the burst, still waiting: the raw client sends exactly these records later.
    rawRows = await newestOutboxEntries(redis, keys, options.rawEvents);
    ctx.log(`burst: first sweep done; draining ${sampler.latest()?.outbox ?? 0} outbox entries`);
    await waitUntil('the first burst to drain', until, () => (sampler.latest()?.outbox ?? 0) < DRAINED_BELOW);
    const firstTo = sampler.samples.length - 1;
    const cpuFirst1 = snapshotAll(pids);
    const firstSweep = phaseOf(
      'first sweep',
      sampler.samples,
      firstFrom,
      firstTo,
      summarizeLatency(
        deployment.latency.samples,
        sampler.samples[firstFrom]!.atMs,
        sampler.samples[firstTo]!.atMs,
      ),
      cpuReport(
        cpuFirst0,
        cpuFirst1,
        (sampler.samples[firstTo]!.atMs - sampler.samples[firstFrom]!.atMs) / 1000,
      ),
    );
    const afterFirstSweep = rateBetween(sampler.samples[sweptAt]!, sampler.samples[firstTo]!);
    ctx.log(
      `burst: first sweep drained in ${firstSweep.drainSeconds.toFixed(1)} s, ${firstSweep.eventsPerSecond.toFixed(0)} events/s ` +
        `(${afterFirstSweep.eventsPerSecond.toFixed(0)} events/s over the ${afterFirstSweep.seconds.toFixed(1)} s after the sweep ended)`,
    );

    // Burst 2: a share of the members change at once; the next sweep sees them all.
    until = deadline();
    const sweepsBefore = await sweepsCompleted();
    await waitUntil('a sweep boundary', until, async () => (await sweepsCompleted()) > sweepsBefore);
    const step = Math.max(1, Math.round(1 / options.changedShare));
    const { flipped } = await ctx.simulator.ipc.request<{ flipped: number }>('flip', {
      start: 0,
      count: users,
      step,
      idWidth,
    });
    const flipIndex = sampler.samples.length;
    await waitUntil(
      'the mass change to reach the outbox',
      until,
      () => (sampler.latest()?.outbox ?? 0) >= DRAINED_BELOW,
    );
    const massFrom = Math.max(flipIndex, sampler.samples.length - 1);
    const cpuMass0 = snapshotAll(pids);
    const sweepsAtFlip = await sweepsCompleted();
    // Every flipped user is observed by the sweep after the flip: wait for it to end, then for the drain.
    await waitUntil('the sweep after the flip', until, async () => (await sweepsCompleted()) > sweepsAtFlip);
    await waitUntil('the mass change to drain', until, () => (sampler.latest()?.outbox ?? 0) < DRAINED_BELOW);
    const massTo = sampler.samples.length - 1;
    const cpuMass1 = snapshotAll(pids);
    const massStart = sampler.samples[massFrom]!.atMs;
    const massEnd = sampler.samples[massTo]!.atMs;
    // Transitions acknowledged near the end reach the bench's consumer a little later.
    await sleep(3_000);
    const massChange = {
      ...phaseOf(
        'mass change',
        sampler.samples,
        massFrom,
        massTo,
        summarizeLatency(deployment.latency.samples, massStart, massEnd),
        cpuReport(cpuMass0, cpuMass1, (massEnd - massStart) / 1000),
      ),
      usersChanged: flipped,
    };
    ctx.log(
      `burst: ${flipped} users changed; drained in ${massChange.drainSeconds.toFixed(1)} s, ${massChange.eventsPerSecond.toFixed(0)} events/s`,
    );
    // The first phase's transition latencies too: they arrive after the phase ended.
    firstSweep.transitions = summarizeLatency(
      deployment.latency.samples,
      sampler.samples[firstFrom]!.atMs,
      sampler.samples[firstTo]!.atMs,
    );
    // The raw client under the load the relay had: the poller keeps sweeping meanwhile. Topics of its own, so the
    // latency consumer does not count copies of old events.
    const rawTopics = {
      transitions: `${deployment.topics.transitions}-raw`,
      state: `${deployment.topics.state}-raw`,
    };
    await createTimedTopics(ctx.infra.kafka, rawTopics, KAFKA_PARTITIONS);
    const sweepsBeforeRaw = await sweepsCompleted();
    const rawStartedAt = Date.now();
    const cpuRaw0 = snapshotAll(pids);
    const underLoad = await runRawClient(ctx.infra.kafka, app.sdkAppId, rawTopics, name, rawRows);
    const rawUnderLoad = {
      ...underLoad,
      cpu: cpuReport(cpuRaw0, snapshotAll(pids), (Date.now() - rawStartedAt) / 1000),
      sweepsDuring: (await sweepsCompleted()) - sweepsBeforeRaw,
    };
    ctx.log(
      `burst: raw kafkajs under load ${rawUnderLoad.eventsPerSecond.toFixed(0)} events/s over ${rawUnderLoad.events} ` +
        `events (${rawUnderLoad.sweepsDuring} sweeps completed meanwhile)`,
    );
    await sampler.stop();
    await deployment.stop();

    const rawIdle = await runRawClient(ctx.infra.kafka, app.sdkAppId, deployment.topics, name, rawRows);
    ctx.log(
      `burst: raw kafkajs idle ${rawIdle.eventsPerSecond.toFixed(0)} events/s over ${rawIdle.events} events`,
    );
    return {
      users,
      changedShare: options.changedShare,
      fencing: options.fencing,
      relayProcesses: options.relayProcesses,
      outboxShards: options.outboxShards,
      snapshotPriority: options.snapshotPriority,
      intervalMs,
      firstSweep,
      massChange,
      rawUnderLoad,
      rawIdle,
      relayToRaw: firstSweep.eventsPerSecond / rawUnderLoad.eventsPerSecond,
      relayToIdleRaw: firstSweep.eventsPerSecond / rawIdle.eventsPerSecond,
      afterFirstSweep,
      relayToRawAfterFirstSweep: afterFirstSweep.eventsPerSecond / rawUnderLoad.eventsPerSecond,
    };
  } finally {
    await sampler.stop();
    await deployment.stop();
  }
}

/** A batch as the relay sends it: its entries' records by topic. */
export interface RawBatch {
  entries: number;
  records: number;
  topicMessages: TopicMessages[];
}

/**
 * The records the relay builds from `rows` (outbox entries), encoded as it encodes them and cut into its batches
 * (at most `RELAY_BATCH_ENTRIES` entries and 512 KiB each), built up front so sending them measures the client alone.
 */
export function relayBatchesOf(
  rows: ReadonlyArray<[string, string[]]>,
  sdkAppId: number,
  topics: { transitions: string; state: string },
  watchlist: string,
): RawBatch[] {
  const encode = createRecordEncoder();
  const batches: RawBatch[] = [];
  let current = new Map<string, Message[]>();
  let entries = 0;
  let bytes = 0;
  let records = 0;
  const flush = () => {
    if (entries === 0) return;
    batches.push({
      entries,
      records,
      topicMessages: [...current].map(([topic, messages]) => ({ topic, messages })),
    });
    records = 0;
    current = new Map();
    entries = 0;
    bytes = 0;
  };
  for (const row of rows) {
    const entry = parseOutboxEntry(row);
    const built = kafkaRecordsOf(
      entry,
      sdkAppId,
      entry.watchlistIds.map(() => ({ name: watchlist })),
      topics,
    );
    const encoded = built.map(({ topic, record }) => ({ topic, ...encode(record) }));
    const entryBytes = encoded.reduce((sum, record) => sum + record.bytes, 0);
    if (entries >= RELAY_BATCH_ENTRIES || (entries > 0 && bytes + entryBytes > DEFAULT_MAX_BATCH_BYTES))
      flush();
    for (const { topic, message } of encoded) {
      const list = current.get(topic);
      if (list) list.push(message);
      else current.set(topic, [message]);
      records++;
    }
    entries++;
    bytes += entryBytes;
  }
  flush();
  return batches;
}

/**
 * kafkajs alone, on the same broker and topics: the records the relay built from `rows` (real outbox entries),
 * sent one batch at a time the way the relay sends them (idempotent, acks=-1, one request in flight). Only the
 * sends are timed.
 */
export async function runRawClient(
  kafka: Kafka,
  sdkAppId: number,
  topics: { transitions: string; state: string },
  watchlist: string,
  rows: Array<[string, string[]]>,
): Promise<RawClientResult> {
  const batches = relayBatchesOf(rows, sdkAppId, topics, watchlist);
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    // Connection and metadata are not the client's throughput: the first batch is sent untimed.
    const [warmUp, ...timed] = batches;
    if (warmUp) await producer.sendBatch({ topicMessages: warmUp.topicMessages, acks: -1 });
    const started = performance.now();
    for (const { topicMessages } of timed) await producer.sendBatch({ topicMessages, acks: -1 });
    const seconds = (performance.now() - started) / 1000;
    const events = timed.reduce((sum, batch) => sum + batch.entries, 0);
    return {
      events,
      records: timed.reduce((sum, batch) => sum + batch.records, 0),
      batches: timed.length,
      seconds,
      eventsPerSecond: events / seconds,
    };
  } finally {
    await producer.disconnect();
  }
}
