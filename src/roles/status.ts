import type { RedisClient } from '../redis/client.js';
import type { LoadedApp, LoadedConfig } from '../config/index.js';
import { buildInfo } from '../ops/build-info.js';
import { configuredAppKeys, type AppKeys } from '../redis/keys.js';
import { readOutboxView, type ShardLease } from '../relay/outbox-view.js';
import { createSweepTracker } from '../schedule/sweep-tracker.js';
import { createWatchlistRegistry } from '../state/watchlist-registry.js';
import { ERROR_CODE_RULES } from '../tencent/index.js';

/**
 * `accepted`: the last call succeeded. `rejected`: the last failure was a configuration or credential error that a
 * human must fix (wrong key, app, admin, locked), and no call succeeded since. `failing`: calls fail for other
 * reasons (network, server). `unknown`: no call recorded yet.
 */
export type CredentialState = 'accepted' | 'rejected' | 'failing' | 'unknown';

export interface AppStatus {
  name: string;
  sdkAppId: number;
  credentials: {
    state: CredentialState;
    lastOkAt: string | null;
    lastFailure: { at: string; kind: string; errorCode: number | null; hint: string | null } | null;
  };
  /** The holder of the relay lease (of outbox shard 0); with several shards, `shards` has every shard's. */
  relay: { holder: string | null; leaseExpiresInMs: number | null; shards?: ShardLease[] };
  /** Events waiting for Kafka; `lowPriorityEntries` of them are snapshots in the low-priority streams. */
  outbox: { entries: number; lowPriorityEntries: number; oldestAgeSeconds: number };
  /** When Redis's data for this app began (its generation); null before the first sync. */
  dataSince: string | null;
  watchlists: WatchlistStatus[];
}

export interface WatchlistStatus {
  name: string;
  members: number;
  chunks: number;
  intervalMs: number;
  /** Start of the sweep in progress, or of the last one. */
  sweepStartedAt: string | null;
  lastSweepCompletedAt: string | null;
  lastSweepDurationMs: number | null;
  /** Chunks of the current sweep not finished yet (0 when none is running). */
  remainingChunks: number;
  /** The next scheduler tick, from the last one seen (null before the first). */
  nextDueAt: string | null;
  sweepsStarted: number;
  sweepsCompleted: number;
  skippedTicks: number;
  chunksGivenUp: number;
}

export interface StatusReport {
  generatedAt: string;
  version: string;
  apps: AppStatus[];
}

/** Kinds of failure that no retry fixes: the app's configuration or credentials are wrong. */
const REJECTED_KINDS = new Set(['fatal_config', 'locked']);

/**
 * What `status` and `GET /status` show, read from Redis only, so it works from any host while the service runs
 * elsewhere (or is down: then the times show how long ago things last happened).
 */
export async function readStatus(
  config: LoadedConfig,
  redis: RedisClient,
  nowMs = Date.now(),
): Promise<StatusReport> {
  const apps = await Promise.all(config.apps.map((app) => readAppStatus(app, config, redis, nowMs)));
  return { generatedAt: new Date(nowMs).toISOString(), version: buildInfo().version, apps };
}

/** One app's part of the report. */
export async function readAppStatus(
  app: LoadedApp,
  config: LoadedConfig,
  redis: RedisClient,
  nowMs: number,
): Promise<AppStatus> {
  const keys = configuredAppKeys(config.redis, app.sdkAppId);
  const [calls, outbox, generation, watchlists] = await Promise.all([
    redis.hgetall(keys.callStatus),
    readOutboxView(redis, keys, nowMs),
    redis.get(keys.generation),
    readWatchlists(redis, keys),
  ]);
  const { holder, leaseExpiresInMs } = outbox.leases[0]!;
  return {
    name: app.name,
    sdkAppId: app.sdkAppId,
    credentials: credentialsOf(calls),
    relay: { holder, leaseExpiresInMs, ...(outbox.leases.length > 1 ? { shards: outbox.leases } : {}) },
    outbox: {
      entries: outbox.entries,
      lowPriorityEntries: outbox.lowPriorityEntries,
      oldestAgeSeconds: outbox.oldestAgeSeconds,
    },
    dataSince: isoOf(numberOf(generation ?? undefined)),
    watchlists,
  };
}

async function readWatchlists(redis: RedisClient, keys: AppKeys): Promise<WatchlistStatus[]> {
  const definitions = await createWatchlistRegistry(redis, keys).list();
  const tracker = createSweepTracker(redis, keys);
  return Promise.all(
    definitions.map(async (list): Promise<WatchlistStatus> => {
      const [stats, givenUp] = await Promise.all([
        tracker.stats(list.name),
        redis.hget(keys.sweep(list.name), 'givenUp'),
      ]);
      return {
        name: list.name,
        members: list.userCount,
        chunks: list.chunkCount,
        intervalMs: list.intervalMs,
        sweepStartedAt: isoOf(stats.startedAt),
        lastSweepCompletedAt: isoOf(stats.lastCompletedAt),
        lastSweepDurationMs: stats.lastDurationMs ?? null,
        remainingChunks: stats.remaining,
        nextDueAt: isoOf(stats.lastTickAt === undefined ? undefined : stats.lastTickAt + list.intervalMs),
        sweepsStarted: stats.started,
        sweepsCompleted: stats.completed,
        skippedTicks: stats.skipped,
        chunksGivenUp: numberOf(givenUp ?? undefined) ?? 0,
      };
    }),
  );
}

function credentialsOf(calls: Record<string, string>): AppStatus['credentials'] {
  const lastOkAt = numberOf(calls.lastOkAt);
  const failedAt = numberOf(calls.lastFailedAt);
  const errorCode = numberOf(calls.lastFailureCode) ?? null;
  const kind = calls.lastFailureKind ?? '';
  const lastFailure =
    failedAt === undefined
      ? null
      : {
          at: new Date(failedAt).toISOString(),
          kind,
          errorCode,
          hint: errorCode === null ? null : (ERROR_CODE_RULES.get(errorCode)?.hint ?? null),
        };
  const failedLast = failedAt !== undefined && (lastOkAt === undefined || failedAt > lastOkAt);
  const state: CredentialState =
    failedLast && REJECTED_KINDS.has(kind)
      ? 'rejected'
      : lastOkAt !== undefined
        ? 'accepted'
        : failedAt !== undefined
          ? 'failing'
          : 'unknown';
  return { state, lastOkAt: isoOf(lastOkAt), lastFailure };
}

function numberOf(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function isoOf(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
