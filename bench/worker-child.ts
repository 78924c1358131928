/**
 * The service under test in its own process (compiled JavaScript, as in production), started from a bench spec.
 *   argv[2]: path of a JSON `WorkerSpec`; argv[3]: comma-separated roles instead of the spec's (optional).
 *   Replies: ready {startMs}; metrics.
 * Member lists are generated here from ranges (a 1M-ID list is too big for argv or the environment); the result is
 * exactly what `loadConfig` hands `startService` for a user file with those IDs.
 */
import { readFileSync } from 'node:fs';
import type { LoadedConfig, ResolvedWatchlist } from '../src/config/index.js';
import { startService, type Role } from '../src/main.js';
import { createLogger } from '../src/ops/logger.js';
import { createMetrics } from '../src/ops/metrics.js';
import { serveParent } from './ipc.js';
import { startLoopMonitor } from './loop-monitor.js';

export interface WatchlistRange {
  /** First population index and count: members are `u<index>` padded to `idWidth`. */
  start: number;
  count: number;
  idWidth: number;
}

export interface WorkerSpec {
  config: Omit<LoadedConfig, 'watchlists'> & {
    watchlists: Array<Omit<ResolvedWatchlist, 'userIds'> & { range: WatchlistRange }>;
  };
  roles: Role[];
  pollConcurrency?: number;
}

function memberIds({ start, count, idWidth }: WatchlistRange): string[] {
  const ids = new Array<string>(count);
  for (let i = 0; i < count; i++) ids[i] = `u${String(start + i).padStart(idWidth, '0')}`;
  return ids;
}

const spec = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as WorkerSpec;
const startedAt = performance.now();
const config: LoadedConfig = {
  ...spec.config,
  watchlists: spec.config.watchlists.map(({ range, ...rest }) => ({ ...rest, userIds: memberIds(range) })),
};
const metrics = createMetrics();
const loop = startLoopMonitor();
const service = await startService(config, {
  roles: process.argv[3] ? (process.argv[3].split(',') as Role[]) : spec.roles,
  logger: createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }),
  metrics,
  ...(spec.pollConcurrency ? { pollConcurrency: spec.pollConcurrency } : {}),
  // For A/B runs of the chunks per job (BENCHMARKS.md); unset, the service's default.
  ...(process.env.BENCH_CHUNKS_PER_JOB ? { chunksPerJob: Number(process.env.BENCH_CHUNKS_PER_JOB) } : {}),
});
const startMs = performance.now() - startedAt;
// As `presence-poller run` does: the members live in Redis once synced.
for (const list of config.watchlists) list.userIds = [];

/** Sum and count of a histogram (all label sets), for mean times per call. */
async function histogramTotals(metric: {
  get(): Promise<{ values: Array<{ value: number; metricName?: string }> }>;
}): Promise<{ sumSeconds: number; count: number }> {
  const { values } = await metric.get();
  const total = (suffix: string) =>
    values.filter((v) => v.metricName?.endsWith(suffix)).reduce((sum, v) => sum + v.value, 0);
  return { sumSeconds: total('_sum'), count: total('_count') };
}

/** Cumulative bucket counts of a histogram (all label sets): upper bound in seconds -> observations at or under. */
async function histogramBuckets(metric: {
  get(): Promise<{ values: Array<{ value: number; metricName?: string; labels: object }> }>;
}): Promise<Record<string, number>> {
  const buckets: Record<string, number> = {};
  for (const { value, metricName, labels } of (await metric.get()).values) {
    const le = (labels as { le?: string | number }).le;
    if (!metricName?.endsWith('_bucket') || le === undefined) continue;
    buckets[String(le)] = (buckets[String(le)] ?? 0) + value;
  }
  return buckets;
}

async function counterTotal(metric: {
  get(): Promise<{ values: Array<{ value: number; labels: object }> }>;
}) {
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

serveParent(
  async (request) => {
    if (request.type === 'reset-loop-delay') {
      loop.reset();
      return {};
    }
    if (request.type !== 'metrics') throw new Error(`unknown request ${request.type}`);
    const calls = await metrics.calls.get();
    return {
      usersObserved: await counterTotal(metrics.usersObserved),
      eventsRecorded: await counterTotal(metrics.eventsRecorded),
      eventsPublished: await counterTotal(metrics.eventsPublished),
      rateLimitPenalties: await counterTotal(metrics.rateLimitPenalties),
      pacerLateSlots: await counterTotal(metrics.pacerLateSlots),
      callErrors: calls.values.filter((v) => v.labels.outcome === 'error').reduce((s, v) => s + v.value, 0),
      sweepsSkipped: (await metrics.sweeps.get()).values
        .filter((v) => v.labels.decision === 'skip')
        .reduce((s, v) => s + v.value, 0),
      pacerWait: await histogramTotals(metrics.pacerWait),
      pacerStartLateness: await histogramBuckets(metrics.pacerStartLateness),
      callDuration: await histogramTotals(metrics.callDuration),
      relayLeader: service.apps.some((app) => app.relay?.isLeader === true),
      memory: process.memoryUsage(),
      ...loop.report(),
    };
  },
  () => service.stop(),
);
process.send?.({ type: 'ready', startMs });
