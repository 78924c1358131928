import type { LoadedApp } from '../config/index.js';
import { createPacedTransport } from '../cap/paced-transport.js';
import { createChunkProcessor } from '../schedule/chunk-job.js';
import { followUpSweep, type ChunkJobData, type SweepJobData } from '../schedule/jobs.js';
import { startHintCalls } from '../schedule/hint-calls.js';
import { createHintQueue } from '../schedule/hint-queue.js';
import {
  DEFAULT_WORKER_CLOSE_TIMEOUT_MS,
  startKeptWorker,
  type KeptWorker,
  type WorkerWatchdogOptions,
} from '../schedule/kept-worker.js';
import { stallSettingsFor } from '../schedule/stall-settings.js';
import { createSweepProcessor } from '../schedule/sweep-job.js';
import {
  createTencentClient,
  type OnlineStatusClient,
  type TencentClientOptions,
  type Transport,
} from '../tencent/index.js';
import { startStatusRecorder } from './status-recorder.js';
import type { AppRuntime } from './app-runtime.js';
import { preflight } from './preflight.js';
import { outboxLength } from '../relay/outbox-view.js';
import type { CloserStack } from './roles.js';

export interface PollerRoleOptions {
  /**
   * Chunk jobs in flight per app per process, at most the app's `connections`. Default: `connections` (64), which
   * needs to cover cap x call latency (200/s x 100 ms = 20) with room for slow answers.
   */
  pollConcurrency?: number;
  /** Attempts per chunk job before the users of its failed chunks wait for the next sweep. Default 5. */
  chunkAttempts?: number;
  /**
   * Chunks per chunk job, each still one call (schedule/jobs.ts): BullMQ's work per job is paid once for them.
   * Default `DEFAULT_CHUNKS_PER_JOB`. The jobs in flight are `pollConcurrency / chunksPerJob`, so the calls in flight
   * stay at most `pollConcurrency`.
   */
  chunksPerJob?: number;
  /**
   * Lock on an active job, renewed while it runs; a worker that dies loses it and the job is re-run by another
   * worker after at most lockDurationMs + stalledIntervalMs. Default: derived from the app's shortest watchlist
   * interval (schedule/stall-settings.ts).
   */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /**
   * Replaces the Tencent client (tests use it to shorten timeouts or watch calls). It should send through
   * `transport`, the app's paced one, or its calls ignore the cap.
   */
  createClient?: (app: LoadedApp, transport: Transport) => OnlineStatusClient;
  /**
   * The watchdog of the chunk and sweep workers and the bound on their close (schedule/kept-worker.ts). Defaults:
   * checked every 5 s, replaced after 30 s of ready jobs none taken, closed within 10 s or twice the app's
   * `requestTimeout`, whichever is longer.
   */
  workerWatchdog?: WorkerWatchdogOptions;
  /**
   * One call before the workers start, refusing to start on rejected credentials (roles/preflight.ts). Default
   * false for embedders and tests; `run` turns it on unless `--no-preflight`.
   */
  preflight?: boolean;
}

/**
 * Chunks per job when not set: measured with the cap bench (BENCHMARKS.md, "Several chunks per job"), 8 takes
 * BullMQ from about a quarter of Redis's time to a few percent, and 8 jobs of 8 chunks still keep 64 calls in flight.
 */
export const DEFAULT_CHUNKS_PER_JOB = 8;

/**
 * The poller role of one app: the sending thread that holds the app's share of the call cap, the Tencent client,
 * and the BullMQ workers that plan sweeps and run chunk jobs. Workers close first (stop taking jobs, let in-flight
 * ones finish), before the transport and the connections they use.
 */
export async function startPoller(
  runtime: AppRuntime,
  closers: CloserStack,
  options: PollerRoleOptions = {},
): Promise<void> {
  const { app, label, config, keys, redis, events, logger, queues } = runtime;
  closers.push(startStatusRecorder(runtime));
  // Slots and sockets live in a thread of their own, so main-thread pauses cannot make a call start late.
  const transport = createPacedTransport({
    redis: config.redis,
    pacerKey: keys.pacer,
    pacer: { callsPerSecond: app.callsPerSecond, callMargin: app.callMargin },
    connections: app.connections,
    maxAnswerBytes: app.maxAnswerBytes,
    connectTimeoutMs: app.requestTimeoutMs,
    connectionName: `presence:${label}:pacer`,
    nice: config.poller.sendingThreadNice,
    onCall: (timing) => events.emit('callTiming', { app: label, ...timing }),
    onLateSlot: () => events.emit('lateSlot', { app: label }),
    onNiceRefused: (message) =>
      logger.info(
        { app: label, nice: config.poller.sendingThreadNice, error: message },
        'the sending thread keeps the process priority (poller.sendingThreadNice needs CAP_SYS_NICE); on a busy ' +
          'machine its calls may start late (presence_pacer_late_slots_total)',
      ),
    onError: (message) => {
      // The thread's connection fails with the others; it carries only a message, so it joins an open outage
      // rather than starting one.
      if (runtime.redisOutage.down && message.startsWith('pacer Redis:'))
        runtime.redisOutage.failure(message);
      else logger.warn({ error: message }, 'sending thread');
    },
  });
  closers.push(() => transport.close());
  const client =
    options.createClient?.(app, transport) ??
    createTencentClient({ ...clientOptionsOf(app), transport, logger });
  closers.push(() => client.close());
  if (options.preflight) await preflight({ app, label, client, events, logger });

  // Taken at start: a reload that shortens an interval gets shorter locks at the next restart.
  const derived = stallSettingsFor(
    config.watchlists.filter((list) => list.app === app.name).map((list) => list.intervalMs),
  );
  const stallSettings = {
    lockDuration: options.lockDurationMs ?? derived.lockDurationMs,
    stalledInterval: options.stalledIntervalMs ?? derived.stalledIntervalMs,
  };
  const chunksPerJob = Math.max(1, Math.floor(options.chunksPerJob ?? DEFAULT_CHUNKS_PER_JOB));
  // Never more chunks in flight than connections: a call must not wait for a socket after its slot.
  const callsInFlight = Math.min(options.pollConcurrency ?? app.connections, app.connections);
  const jobsInFlight = Math.max(1, Math.floor(callsInFlight / chunksPerJob));
  const kept = {
    app: label,
    logger,
    events,
    onError: runtime.reportBullError('worker error'),
    ...options.workerWatchdog,
    // Time for an in-flight chunk's calls to answer or time out.
    closeTimeoutMs:
      options.workerWatchdog?.closeTimeoutMs ??
      Math.max(DEFAULT_WORKER_CLOSE_TIMEOUT_MS, 2 * app.requestTimeoutMs),
  };
  const pollWorker: KeptWorker<ChunkJobData, unknown> = startKeptWorker<ChunkJobData, unknown>({
    ...kept,
    queue: queues.pollQueue,
    processor: createChunkProcessor({
      app: label,
      registry: runtime.registry,
      client,
      stateStore: runtime.stateStore,
      sweeps: runtime.sweeps,
      events,
      logger,
      penalize: (ms) => transport.penalize(ms),
      pauseQueue: (ms) => pollWorker.current.rateLimit(ms),
      callsPerJob: Math.max(1, Math.floor(callsInFlight / jobsInFlight)),
      startFollowUpSweep: async (watchlist) => {
        const { name, data, opts } = followUpSweep(watchlist, Date.now());
        await queues.sweepQueue.add(name, data, opts);
      },
    }),
    workerOptions: {
      connection: redis,
      prefix: keys.bullPrefix,
      concurrency: jobsInFlight,
      ...stallSettings,
    },
  });
  const sweepWorker = startKeptWorker<SweepJobData, unknown>({
    ...kept,
    queue: queues.sweepQueue,
    processor: createSweepProcessor({
      app: label,
      registry: runtime.registry,
      sweeps: runtime.sweeps,
      pollQueue: queues.pollQueue,
      events,
      chunkAttempts: options.chunkAttempts ?? 5,
      chunksPerJob,
      outbox: { maxEntries: config.redis.outboxMaxEntries, length: () => outboxLength(redis, keys) },
      logger,
    }),
    workerOptions: { connection: redis, prefix: keys.bullPrefix, concurrency: 4, ...stallSettings },
  });
  if (app.hintShare > 0) {
    closers.push(
      startHintCalls({
        app,
        label,
        queue: createHintQueue(redis, keys),
        registry: runtime.registry,
        stateStore: runtime.stateStore,
        client,
        events,
        logger,
        penalize: (ms) => transport.penalize(ms),
      }),
    );
  }
  // Each close is bounded (a stuck worker would otherwise hold the shutdown until its deadline).
  closers.push(() => Promise.all([pollWorker.close(), sweepWorker.close()]));
  runtime.poller = { takingJobs: () => pollWorker.takingJobs() };
}

/** The Tencent client's options for a configured app (the one mapping from config to client). */
export function clientOptionsOf(app: LoadedApp): TencentClientOptions {
  return {
    sdkAppId: app.sdkAppId,
    identifier: app.identifier,
    secretKey: app.secretKey,
    endpoint: app.endpoint,
    timeoutMs: app.requestTimeoutMs,
    connections: app.connections,
    maxAnswerBytes: app.maxAnswerBytes,
    userSigTtlSeconds: app.userSigTtlSeconds,
  };
}
