/**
 * The chaos run: three worker processes (bench/chaos-worker.ts) against the simulator, its own Redis and Kafka,
 * under a seeded fault schedule — one worker SIGKILLed and restarted every 10 s, Kafka stopped once, Redis restarted
 * twice (AOF kept, then emptied: the service must restore from the state topic), API faults on ~10 % of calls, and a
 * hot reload that adds a watchlist — then judged against the simulator's ground truth (bench/chaos-oracle.ts).
 * RELIABILITY.md describes it; bench/chaos.ts is the command, test/chaos/chaos.int.test.ts the CI version.
 */
import { DEFAULT_KAFKA_LINGER_MS, pollerSchema, webhookSchema } from '../src/config/schema.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import type { LoadedApp, LoadedConfig, ResolvedWatchlist } from '../src/config/index.js';
import type { PresenceEvent } from '@presence-poller/events';
import { appKeys } from '../src/redis/keys.js';
import { DEFAULT_SIMULATOR_APP, startSimulator, type Simulator } from '../src/simulator/index.js';
import { startKafkaBroker, type KafkaBroker } from '../test/helpers/kafka-broker.js';
import { startRedisServer, type RedisServer } from '../test/helpers/redis-server.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { judgeChaosRun, type OracleReport, type TrackedUser } from './chaos-oracle.js';

const ROOT = resolve(import.meta.dirname, '..');
const WORKERS = 3;
const KILL_EVERY_MS = 10_000;
/** ~10 % of calls fail, spread over the kinds the chunk job must retry without inventing anything. */
const FAULT_RATES = { http502: 0.03, retryable: 0.03, malformed: 0.02, reset: 0.02 };
/** Users changed per second by the simulator's churn (over 2,400 tracked users: a change per user every ~2 min). */
const CHURN_PER_SECOND = 20;

interface WatchlistPlan {
  name: string;
  intervalMs: number;
  users: number;
}
const INITIAL_WATCHLISTS: WatchlistPlan[] = [
  { name: 'fast', intervalMs: 2_000, users: 600 },
  { name: 'slow', intervalMs: 5_000, users: 1_200 },
];
/** Added by the hot reload, with users nobody tracked before (they get their snapshot then). */
const RELOADED_WATCHLIST: WatchlistPlan = { name: 'added', intervalMs: 3_000, users: 600 };

export interface ChaosOptions {
  /** Length of the fault phase; the schedule scales with it (Kafka is down for a fifth of it). */
  minutes: number;
  seed: number;
  /** Progress lines; default none. */
  log?: (line: string) => void;
  /**
   * Where to keep what a failure is diagnosed from: the workers' output (workers.log) and the events, ground truth
   * and sweep completions (run.json). Default: not kept.
   */
  dumpDir?: string;
  /** Only these actions of the schedule (e.g. to bisect a failure); default all of CHAOS_ACTIONS. */
  only?: readonly ChaosActionName[];
}

export const CHAOS_ACTIONS = [
  'kill',
  'kafka-stop',
  'kafka-start',
  'redis-restart-aof',
  'hot-reload',
  'redis-restart-empty',
] as const;
export type ChaosActionName = (typeof CHAOS_ACTIONS)[number];

export interface ChaosAction {
  atMs: number;
  action: ChaosActionName;
  /** When it was done, relative to the start of the fault phase. */
  doneAtMs?: number;
  note?: string;
}

export interface WatchlistBlindness {
  intervalMs: number;
  /** Longest time between two completed sweeps (or from the last one to the end), ms. */
  longestSweepGapMs: number;
  /** Longest time from a change that had to be published to its event, ms. */
  longestDetectionMs: number;
  /** The target of issue 11: 2 intervals + 10 s. */
  boundMs: number;
}

export interface ChaosReport {
  seed: number;
  minutes: number;
  startedAt: string;
  durationMs: number;
  machine: { cpus: number; loadAverage: number[] };
  lost: number;
  invented: number;
  reordered: number;
  reusedEventIds: number;
  callsOverCap: number;
  blind: Record<string, WatchlistBlindness>;
  counts: {
    calls: number;
    faultsInjected: number;
    changes: number;
    mustSee: number;
    events: number;
    redelivered: number;
    usersWithSeveralEpochs: number;
    workerKills: number;
    workerStarts: number;
    workerStartFailures: number;
    maxCallsInAnyWindow: number;
    cap: number;
    /** Records on the compacted state topic at the end (what a restore can read). */
    stateTopicRecords: number;
  };
  drained: boolean;
  schedule: ChaosAction[];
  samples: OracleReport['samples'];
}

/** The invariants that failed, by name: counts that must be zero, blind time over its bound, not drained. */
export function failedInvariants(report: ChaosReport): string[] {
  const zero = {
    lost: report.lost,
    invented: report.invented,
    reordered: report.reordered,
    'eventIds reused with other content': report.reusedEventIds,
    'calls over the cap': report.callsOverCap,
  };
  const failed = Object.entries(zero)
    .filter(([, n]) => n !== 0)
    .map(([name, n]) => `${name}: ${n}`);
  for (const [name, b] of Object.entries(report.blind)) {
    const longestMs = Math.max(b.longestSweepGapMs, b.longestDetectionMs);
    if (longestMs > b.boundMs) failed.push(`${name} blind for ${longestMs} ms (bound ${b.boundMs} ms)`);
  }
  if (!report.drained) failed.push("the service did not catch up with the simulator's final states");
  return failed;
}

function userRange(ids: readonly string[], from: number, count: number): string[] {
  return ids.slice(from, from + count);
}

function watchlist(app: LoadedApp, plan: WatchlistPlan, userIds: string[]): ResolvedWatchlist {
  return {
    name: plan.name,
    app: app.name,
    sdkAppId: app.sdkAppId,
    intervalMs: plan.intervalMs,
    detail: false,
    deviceEvents: false,
    firstObservation: 'snapshot',
    topic: undefined,
    priority: 5,
    sources: [],
    userIds,
  };
}

function chaosConfig(simulator: Simulator, redisUrl: string, brokers: string[]): LoadedConfig {
  const app: LoadedApp = {
    name: 'chaos',
    sdkAppId: DEFAULT_SIMULATOR_APP.sdkAppId,
    region: undefined,
    endpoint: simulator.url,
    backupEndpoint: undefined,
    identifier: 'administrator',
    secretKey: DEFAULT_SIMULATOR_APP.secretKey,
    secretKeySource: 'chaos',
    userSigTtlSeconds: 86_400,
    callsPerSecond: DEFAULT_SIMULATOR_APP.callsPerSecond,
    callMargin: 0.02,
    requestTimeoutMs: 5_000,
    connections: 16,
    callbackToken: undefined,
    hintShare: 0.2,
    trustCallbacks: false,
    maxAnswerBytes: 4_194_304,
  };
  const ids = simulator.importedUserIds().sort();
  let next = 0;
  const watchlists = INITIAL_WATCHLISTS.map((plan) => {
    const list = watchlist(app, plan, userRange(ids, next, plan.users));
    next += plan.users;
    return list;
  });
  return {
    configPath: '/dev/null',
    apps: [app],
    redis: {
      url: redisUrl,
      prefix: 'presence-chaos',
      skipDurabilityCheck: false,
      outboxWarnEntries: 1_000_000,
      outboxMaxEntries: 2_000_000,
      outboxShards: 1,
      waitForReplicas: 0,
      snapshotPriority: 'normal',
    },
    kafka: {
      brokers,
      clientId: 'presence-chaos',
      tls: undefined,
      sasl: undefined,
      topics: { transitions: 'chaos.transitions', state: 'chaos.state', heartbeat: 'chaos.heartbeat' },
      partitions: 3,
      replicationFactor: 1,
      createTopics: true,
      compression: 'none',
      fencing: true,
      maxBatchBytes: 512 * 1024,
      lingerMs: DEFAULT_KAFKA_LINGER_MS,
    } as LoadedConfig['kafka'],
    defaults: { intervalMs: 2_000, detail: false, deviceEvents: false, firstObservation: 'snapshot' },
    http: { host: '127.0.0.1', port: 0 },
    // The schema's defaults, on a free loopback port.
    webhook: { ...webhookSchema.parse({}), host: '127.0.0.1', port: 0 },
    poller: pollerSchema.parse({}),
    heartbeat: { intervalMs: 0 },
    maxRemovedShare: 0.5,
    watchlistsDir: '/dev/null',
    logLevel: 'warn',
    watchlists,
  };
}

/** The fault schedule of a run of `minutes`, relative to the start of the fault phase. */
export function chaosSchedule(minutes: number): ChaosAction[] {
  const durationMs = minutes * 60_000;
  const kafkaDownMs = durationMs / 5;
  const actions: ChaosAction[] = [];
  for (let at = KILL_EVERY_MS; at < durationMs; at += KILL_EVERY_MS)
    actions.push({ atMs: at, action: 'kill' });
  actions.push(
    { atMs: durationMs * 0.15, action: 'kafka-stop' },
    { atMs: durationMs * 0.15 + kafkaDownMs, action: 'kafka-start' },
    { atMs: durationMs * 0.45, action: 'redis-restart-aof' },
    { atMs: durationMs * 0.55, action: 'hot-reload' },
    { atMs: durationMs * 0.8, action: 'redis-restart-empty' },
  );
  // Ties: the kill after the other fault (actions of one instant run in this order).
  return actions.sort((a, b) => a.atMs - b.atMs || (a.action === 'kill' ? 1 : -1));
}

interface WorkerSlot {
  child: ChildProcess | undefined;
  output: string;
  ready: boolean;
  /** The start in progress, if any (a start waits for Redis and Kafka, so it may outlive a fault). */
  starting: Promise<void> | undefined;
}

function prefixLines(prefix: string, chunk: Buffer): string {
  return chunk
    .toString()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => `${prefix} ${line}\n`)
    .join('');
}

/** The line of a worker's output that says why it ended (the first error), for the progress log. */
function firstError(output: string): string {
  const lines = output.split('\n').filter((line) => line.trim() !== '');
  return (lines.find((line) => /error/i.test(line)) ?? lines[lines.length - 1] ?? '(no output)').slice(
    0,
    300,
  );
}

/** The three worker processes: killed and restarted by slot; a start that fails is retried. */
function createWorkers(configFile: string, log: (line: string) => void, logFile: string | undefined) {
  const slots: WorkerSlot[] = Array.from({ length: WORKERS }, () => ({
    child: undefined,
    output: '',
    ready: false,
    starting: undefined,
  }));
  const counts = { kills: 0, starts: 0, startFailures: 0 };
  let closing = false;

  const startOnce = (slot: WorkerSlot) =>
    new Promise<boolean>((done) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/chaos-worker.ts', configFile], {
        cwd: ROOT,
        env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      slot.child = child;
      slot.output = '';
      slot.ready = false;
      const onData = (chunk: Buffer) => {
        if (logFile)
          appendFileSync(logFile, prefixLines(`${new Date().toISOString()} w${slots.indexOf(slot)}`, chunk));
        slot.output = (slot.output + chunk.toString()).slice(-20_000);
        if (!slot.ready && slot.output.includes('ready\n')) {
          slot.ready = true;
          done(true);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', () => {
        slot.ready = false;
        done(false);
      });
    });

  const start = (slot: WorkerSlot, index: number): Promise<void> => {
    slot.starting = (async () => {
      for (let attempt = 1; !closing; attempt++) {
        counts.starts++;
        if (await startOnce(slot)) return;
        if (closing) return;
        counts.startFailures++;
        log(`worker ${index}: start ${attempt} failed: ${firstError(slot.output)}`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    })().finally(() => (slot.starting = undefined));
    return slot.starting;
  };

  const signal = (child: ChildProcess | undefined, name: NodeJS.Signals) =>
    new Promise<void>((done) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      child.kill(name);
    });

  return {
    counts,
    startAll: () => Promise.all(slots.map((slot, i) => start(slot, i))),
    /** SIGKILLs the worker of slot `turn % 3` and starts a new one in the background. */
    async killAndRestart(turn: number): Promise<string> {
      const index = turn % WORKERS;
      const slot = slots[index]!;
      if (slot.starting) return `worker ${index} still starting: not killed`;
      counts.kills++;
      await signal(slot.child, 'SIGKILL');
      void start(slot, index);
      return `worker ${index} killed`;
    },
    /** SIGHUP to every worker that installed its handler; the others read the new file when they start. */
    reload(): number {
      let sent = 0;
      for (const slot of slots) {
        const child = slot.child;
        if (
          child &&
          child.exitCode === null &&
          child.signalCode === null &&
          slot.output.includes('starting')
        ) {
          child.kill('SIGHUP');
          sent++;
        }
      }
      return sent;
    },
    async stopAll(): Promise<void> {
      closing = true;
      await Promise.all(slots.map((slot) => signal(slot.child, 'SIGTERM')));
      await Promise.all(slots.map((slot) => slot.starting ?? Promise.resolve()));
      await Promise.all(slots.map((slot) => signal(slot.child, 'SIGKILL')));
    },
  };
}

/** Watches each watchlist's last completed sweep in Redis; a fault makes reads fail, which only widens a gap. */
function watchSweeps(redisUrl: string, config: LoadedConfig, intervals: Map<string, number>) {
  const app = config.apps[0]!;
  const keys = appKeys(config.redis.prefix, app.sdkAppId);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  const last = new Map<string, number>();
  const longest = new Map<string, number>();
  const completions: Array<{ watchlist: string; atMs: number }> = [];
  const timer = setInterval(() => {
    for (const name of intervals.keys()) {
      redis.hget(keys.sweep(name), 'lastCompletedAt').then(
        (value) => {
          const at = Number(value);
          if (!value || !Number.isFinite(at)) return;
          const before = last.get(name);
          if (before !== undefined && at > before)
            longest.set(name, Math.max(longest.get(name) ?? 0, at - before));
          if (before === undefined || at > before) {
            last.set(name, at);
            completions.push({ watchlist: name, atMs: at });
          }
        },
        () => undefined,
      );
    }
  }, 250);
  return {
    completions,
    longestGaps(endMs: number): Map<string, number> {
      const result = new Map<string, number>();
      for (const name of intervals.keys()) {
        const open = last.has(name) ? endMs - last.get(name)! : Infinity;
        result.set(name, Math.max(longest.get(name) ?? 0, open));
      }
      return result;
    },
    async close() {
      clearInterval(timer);
      redis.disconnect();
    },
  };
}

async function collectEvents(
  brokers: string[],
  topic: string,
): Promise<{ events: PresenceEvent[]; consumer: Consumer }> {
  const kafka = new Kafka({ brokers, clientId: 'presence-chaos-judge', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: 'presence-chaos-judge', maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const events: PresenceEvent[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.value !== null) events.push(JSON.parse(message.value.toString()) as PresenceEvent);
    },
  });
  return { events, consumer };
}

/** Records between the low and high watermarks of every partition of `topic`. */
async function countRecords(brokers: string[], topic: string): Promise<number> {
  const kafka = new Kafka({ brokers, clientId: 'presence-chaos-judge', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, { high, low }) => sum + Number(high) - Number(low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Empties the data directory of a stopped Redis (its AOF), keeping its log: the restart comes back empty. */
function wipeRedisData(server: RedisServer): void {
  for (const name of readdirSync(server.dir)) {
    if (name !== 'redis.log') rmSync(join(server.dir, name), { recursive: true, force: true });
  }
}

const sleepUntil = (atMs: number) => new Promise((r) => setTimeout(r, Math.max(0, atMs - Date.now())));

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const startedAt = new Date();
  const cleanups: Array<() => Promise<unknown>> = [];
  const closeAll = async () => {
    for (const close of cleanups.splice(0).reverse()) await close().catch(() => undefined);
  };
  try {
    const redisServer = await startRedisServer({ appendOnly: true });
    cleanups.push(() => redisServer.destroy());
    log(`redis on ${redisServer.url}; starting Kafka...`);
    const broker: KafkaBroker = await startKafkaBroker();
    cleanups.push(() => broker.destroy());
    const totalUsers = INITIAL_WATCHLISTS.reduce((n, l) => n + l.users, 0) + RELOADED_WATCHLIST.users;
    const simulator = await startSimulator({
      seed: options.seed,
      population: { size: totalUsers, notImportedShare: 0 },
      latency: { minMs: 20, maxMs: 80 },
    });
    cleanups.push(() => simulator.close());

    const config = chaosConfig(simulator, redisServer.url, broker.brokers);
    const allIds = simulator.importedUserIds().sort();
    const initialStates = new Map(allIds.map((id) => [id, simulator.getUserState(id)!.state]));
    const dir = mkdtempSync(join(tmpdir(), 'presence-chaos-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify(config));

    const tracked = new Map<string, TrackedUser>();
    const intervals = new Map<string, number>();
    const track = (list: ResolvedWatchlist, fromMs: number) => {
      intervals.set(list.name, list.intervalMs);
      for (const id of list.userIds) {
        tracked.set(id, { watchlist: list.name, intervalMs: list.intervalMs, trackedFromMs: fromMs });
      }
    };
    for (const list of config.watchlists) track(list, startedAt.getTime());

    if (options.dumpDir) mkdirSync(options.dumpDir, { recursive: true });
    const workers = createWorkers(configFile, log, options.dumpDir && join(options.dumpDir, 'workers.log'));
    cleanups.push(() => workers.stopAll());
    await workers.startAll();
    log('3 workers ready; waiting for the snapshots...');
    const collector = await collectEvents(broker.brokers, config.kafka.topics.transitions);
    cleanups.push(() => collector.consumer.disconnect());
    const sweeps = watchSweeps(redisServer.url, config, intervals);
    cleanups.push(() => sweeps.close());
    await waitFor(() => new Set(collector.events.map((e) => e.userId)).size >= tracked.size, {
      timeoutMs: 180_000,
      description: 'a snapshot of every user',
    });

    // The fault phase.
    const faultStart = Date.now();
    simulator.setChurn(CHURN_PER_SECOND);
    simulator.setFaultRates(FAULT_RATES);
    const only = options.only ?? CHAOS_ACTIONS;
    const schedule = chaosSchedule(options.minutes).filter((a) => only.includes(a.action));
    let kills = 0;
    for (const action of schedule) {
      await sleepUntil(faultStart + action.atMs);
      action.note = await perform(action.action);
      action.doneAtMs = Date.now() - faultStart;
      log(
        `+${(action.doneAtMs / 1000).toFixed(1)} s ${action.action}${action.note ? `: ${action.note}` : ''}`,
      );
    }
    await sleepUntil(faultStart + options.minutes * 60_000);

    async function perform(action: ChaosActionName): Promise<string | undefined> {
      switch (action) {
        case 'kill':
          return workers.killAndRestart(kills++);
        case 'kafka-stop':
          await broker.stop();
          return undefined;
        case 'kafka-start':
          await broker.start();
          return undefined;
        case 'redis-restart-aof':
          await redisServer.kill();
          await redisServer.start();
          return 'SIGKILL, restarted with its AOF';
        case 'redis-restart-empty':
          await redisServer.kill();
          wipeRedisData(redisServer);
          await redisServer.start();
          return 'SIGKILL, AOF deleted, restarted empty';
        case 'hot-reload': {
          const list = watchlist(
            config.apps[0]!,
            RELOADED_WATCHLIST,
            userRange(allIds, totalUsers - RELOADED_WATCHLIST.users, RELOADED_WATCHLIST.users),
          );
          config.watchlists.push(list);
          writeFileSync(configFile, JSON.stringify(config));
          track(list, Date.now());
          return `watchlist ${list.name} added (${list.userIds.length} users); SIGHUP to ${workers.reload()} workers`;
        }
      }
    }

    // The end: no more churn or faults; everything still owed must arrive.
    simulator.setChurn(0);
    simulator.clearFaults();
    const changeLog = simulator.changeLog();
    const lastStates = () => {
      const latest = new Map<string, PresenceEvent>();
      for (const event of collector.events) {
        const before = latest.get(event.userId);
        if (!before || Date.parse(event.observedAt) >= Date.parse(before.observedAt))
          latest.set(event.userId, event);
      }
      return latest;
    };
    log('fault phase over; waiting for the service to catch up...');
    const drained = await waitFor(
      () => {
        const latest = lastStates();
        return [...tracked.keys()].every((id) => latest.get(id)?.to === simulator.getUserState(id)!.state);
      },
      { timeoutMs: 120_000, description: 'every tracked user published in its last state' },
    ).then(
      () => true,
      () => false,
    );
    const endMs = Date.now();
    const stateTopicRecords = await countRecords(broker.brokers, config.kafka.topics.state);
    const gaps = sweeps.longestGaps(endMs);
    const stats = simulator.stats();
    const appStats = stats.apps[String(config.apps[0]!.sdkAppId)]!;
    if (options.dumpDir) {
      const dump = { faultStart, events: collector.events, changeLog, sweeps: sweeps.completions, schedule };
      writeFileSync(join(options.dumpDir, 'run.json'), JSON.stringify(dump));
    }
    const verdict = judgeChaosRun({ initialStates, tracked, changeLog, events: [...collector.events] });

    const blind: Record<string, WatchlistBlindness> = {};
    for (const [name, intervalMs] of intervals) {
      blind[name] = {
        intervalMs,
        longestSweepGapMs: gaps.get(name) ?? Infinity,
        longestDetectionMs: verdict.longestDetectionMs[name] ?? 0,
        boundMs: 2 * intervalMs + 10_000,
      };
    }
    const cap = config.apps[0]!.callsPerSecond;
    const { cpus, loadavg } = await import('node:os');
    return {
      seed: options.seed,
      minutes: options.minutes,
      startedAt: startedAt.toISOString(),
      durationMs: endMs - startedAt.getTime(),
      machine: { cpus: cpus().length, loadAverage: loadavg().map((l) => Math.round(l * 100) / 100) },
      lost: verdict.lost,
      invented: verdict.invented,
      reordered: verdict.reordered,
      reusedEventIds: verdict.reusedEventIds,
      callsOverCap: appStats.rejectedOverCap + Math.max(0, appStats.maxCallsInAnyWindow - cap),
      blind,
      counts: {
        calls: stats.calls,
        faultsInjected: stats.faultsInjected,
        changes: changeLog.length,
        mustSee: verdict.mustSee,
        events: collector.events.length,
        redelivered: verdict.redelivered,
        usersWithSeveralEpochs: verdict.usersWithSeveralEpochs,
        workerKills: workers.counts.kills,
        workerStarts: workers.counts.starts,
        workerStartFailures: workers.counts.startFailures,
        maxCallsInAnyWindow: appStats.maxCallsInAnyWindow,
        stateTopicRecords,
        cap,
      },
      drained,
      schedule,
      samples: verdict.samples,
    };
  } finally {
    await closeAll();
  }
}
