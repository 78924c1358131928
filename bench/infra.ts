/**
 * The private services one bench run uses: a redis-server and a Kafka broker of its own (never the machine's shared
 * ones), and the simulator in a child process. Everything started is registered for cleanup, which also runs on
 * Ctrl-C / SIGTERM and on errors.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { DEFAULT_SIMULATOR_APP, type SimulatorOptions, type SimulatorStats } from '../src/simulator/index.js';
import { startKafkaBroker, type KafkaBroker } from '../test/helpers/kafka-broker.js';
import { startRedisServer, type RedisServer } from '../test/helpers/redis-server.js';
import { ROOT } from './build.js';
import type { LoopReport } from './loop-monitor.js';
import { forkChild, type IpcChild } from './ipc.js';
import { benchKafka } from './latency.js';

/** A second simulated app, for the two-app scale-out scenario (simulator-only key). */
export const SECOND_APP = {
  sdkAppId: 1_400_000_001,
  secretKey: 'bench-only-secret-key-for-the-second-simulated-app-0123456789ab',
  admins: ['administrator'],
  callsPerSecond: 200,
};
export const FIRST_APP = DEFAULT_SIMULATOR_APP;

const cleanups: Array<{ name: string; run: () => Promise<unknown> }> = [];

/** Registers a cleanup; cleanups run in reverse order. Returns a function that runs (and removes) this one now. */
export function onCleanup(name: string, run: () => Promise<unknown>): () => Promise<void> {
  const entry = { name, run };
  cleanups.push(entry);
  return async () => {
    const index = cleanups.indexOf(entry);
    if (index >= 0) cleanups.splice(index, 1);
    await run();
  };
}

export async function cleanupAll(): Promise<void> {
  for (const { name, run } of cleanups.splice(0).reverse()) {
    await run().catch((error: unknown) => console.error(`cleanup of ${name} failed: ${String(error)}`));
  }
}

let signalled = false;
/** Ctrl-C / SIGTERM: stop everything this run started, then exit. */
export function installSignalHandlers(): void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    console.error(`\n${signal}: stopping every process the bench started...`);
    void cleanupAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

export interface Infra {
  redis: RedisServer;
  redisClient: Redis;
  redisPid: number;
  redisVersion: string;
  broker: KafkaBroker;
  kafka: Kafka;
  kafkaPid: number | undefined;
  kafkaVersion: string;
}

export async function startInfra(): Promise<Infra> {
  const redis = await startRedisServer({ appendOnly: false });
  onCleanup('redis-server', () => redis.destroy());
  const redisClient = new Redis(redis.url, { maxRetriesPerRequest: null });
  onCleanup('redis client', () => redisClient.quit());
  // Production-like persistence: AOF fsynced every second (the test helper's default is fsync on every write).
  await redisClient.config('SET', 'appendonly', 'yes');
  await redisClient.config('SET', 'appendfsync', 'everysec');
  const info = await redisClient.info('server');
  const redisPid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';

  // BENCH_KAFKA_BROKERS: a broker that already runs (a shared machine cannot spare a second JVM); its CPU is then
  // not in the per-process figures.
  const shared = process.env.BENCH_KAFKA_BROKERS?.split(',').filter(Boolean);
  const broker: KafkaBroker = shared?.length ? sharedBroker(shared) : await startKafkaBroker();
  if (!shared?.length) onCleanup('kafka broker', () => broker.destroy());
  let kafkaPid: number | undefined;
  try {
    kafkaPid = shared?.length ? undefined : Number(readFileSync(`${broker.dir}/kafka.pid`, 'utf8').trim());
  } catch {
    kafkaPid = undefined;
  }
  const kafka = benchKafka(broker.brokers);
  return {
    redis,
    redisClient,
    redisPid,
    redisVersion,
    broker,
    kafka,
    kafkaPid,
    kafkaVersion: kafkaVersion(),
  };
}

/** A broker the bench did not start and must leave alone. */
function sharedBroker(brokers: string[]): KafkaBroker {
  const refuse = () => Promise.reject(new Error('the bench does not manage a shared broker'));
  return { brokers, dir: '', line: 3, stop: refuse, start: refuse, destroy: refuse };
}

function kafkaVersion(): string {
  try {
    const libs = execFileSync('bash', [`${ROOT}/scripts/kafka-classpath.sh`], { encoding: 'utf8' }).trim();
    return /kafka-([\d.]+)/.exec(basename(dirname(libs)))?.[1] ?? basename(dirname(libs));
  } catch {
    return 'unknown';
  }
}

export interface SimulatorProcess {
  ipc: IpcChild;
  url: string;
  populationMs: number;
  /** The simulator's scheduling priority (nice): -10 when it could be raised (see sim-child.ts), else 0. */
  nice: number;
  stats(): Promise<SimStats>;
  reset(): Promise<void>;
  /** Stops the process (also done by the bench's cleanup if never called). */
  stop(): Promise<void>;
}

/** The simulator's own figures (calls, the cap's window, callbacks), with its event loop's since the last reset. */
export type SimStats = SimulatorStats & {
  /** The simulator's event loop and GC since the last reset: a stalled loop stamps arrivals late. */
  loop: LoopReport;
};

export async function startSimulatorProcess(
  entry: string,
  options: SimulatorOptions,
): Promise<SimulatorProcess> {
  const ipc = forkChild(
    entry,
    [JSON.stringify(options)],
    [
      '--max-old-space-size=4096',
      ...(process.env.BENCH_SIMULATOR_NODE_OPTIONS ?? '').split(' ').filter(Boolean),
    ],
  );
  const stop = onCleanup('simulator', () => ipc.stop());
  const ready = await ipc.waitFor<{ type: string; url: string; populationMs: number; nice: number }>(
    'ready',
    300_000,
  );
  return {
    ipc,
    url: ready.url,
    populationMs: ready.populationMs,
    nice: ready.nice,
    async stats() {
      const reply = await ipc.request<{ type: string; stats: Omit<SimStats, 'loop'>; loop: LoopReport }>(
        'stats',
      );
      return { ...reply.stats, loop: reply.loop };
    },
    async reset() {
      await ipc.request('reset');
    },
    stop,
  };
}
