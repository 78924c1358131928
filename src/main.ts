/**
 * The service, as a table of contents: per app, build the shared runtime once (roles/app-runtime.ts), start the
 * roles this process has (roles/scheduler.ts, roles/poller.ts, roles/relay.ts), and close everything in reverse
 * order. ARCHITECTURE.md describes the flow and which folder owns what.
 */
import type { LoadedConfig, ResolvedWatchlist } from './config/index.js';
import { createFlowEvents, type FlowEvents } from './ops/flow-events.js';
import { recordFlowMetrics } from './ops/flow-metrics.js';
import type { Logger } from './ops/logger.js';
import type { Metrics } from './ops/metrics.js';
import { connectionStatusOf } from './redis/client.js';
import { createGiveUpWarnings } from './schedule/give-up-warnings.js';
import { probeAppMetrics } from './roles/app-metrics.js';
import { createAppRuntime, type AppRuntime } from './roles/app-runtime.js';
import { createHealth, type Health } from './roles/health.js';
import { startPoller, type PollerRoleOptions } from './roles/poller.js';
import { createRelayKafka, startRelay, type RelayRoleOptions } from './roles/relay.js';
import { createCloserStack, type Role } from './roles/roles.js';
import { startHeartbeats } from './roles/heartbeat.js';
import { startWebhookRole } from './roles/webhook.js';
import { startScheduler, type SchedulerRole, type SchedulerRoleOptions } from './roles/scheduler.js';
import type { SyncReport } from './state/watchlist-sync.js';

export { ALL_ROLES, DEFAULT_ROLES, type Role } from './roles/roles.js';
export type { AppRuntime } from './roles/app-runtime.js';

export interface ServiceOptions extends PollerRoleOptions, SchedulerRoleOptions, RelayRoleOptions {
  roles: readonly Role[];
  /** Least time between two summary lines of one Redis outage, in ms. Default 60 s. */
  outageSummaryIntervalMs?: number;
  logger: Logger;
  /** Counts what happens (ops/flow-metrics.ts subscribes it to the service's flow events). */
  metrics: Metrics;
}

export interface Service {
  apps: AppRuntime[];
  /** What happens in the flow, for anything that wants to observe it (metrics are subscribed already). */
  events: FlowEvents;
  /** Readiness from the roles' state, kept in memory (roles/health.ts). */
  health: Health;
  /** Where the webhook role takes callbacks (webhook role only). */
  webhookUrl: string | undefined;
  /** Syncs a new set of watchlists into Redis and reconciles the schedulers (scheduler role only). */
  applyWatchlists(watchlists: readonly ResolvedWatchlist[]): Promise<SyncReport[]>;
  /** Graceful stop: no new jobs, in-flight chunks finish, the relay flushes its batch, connections close. */
  stop(): Promise<void>;
}

export async function startService(config: LoadedConfig, options: ServiceOptions): Promise<Service> {
  const { roles, logger } = options;
  const has = (role: Role) => roles.includes(role);
  const closers = createCloserStack();
  const events = createFlowEvents();
  const stopMetrics = recordFlowMetrics(events, options.metrics);
  // Given-up chunks are counted by the metrics; operators also get a rate-limited warning saying what to check.
  const giveUps = createGiveUpWarnings({ logger });
  const stopWarnings = events.on('chunkGivenUp', (giveUp) => giveUps.chunkGivenUp(giveUp));
  // Before any role starts, so it sees the first calls (the preflight's too).
  const health = createHealth({ roles, events });
  closers.push(async () => {
    health.close();
    stopWarnings();
    stopMetrics();
  });
  const stop = () => closers.closeAll((error) => logger.warn({ err: error }, 'error while closing'));

  const apps: AppRuntime[] = [];
  const schedulers: SchedulerRole[] = [];
  let webhookUrl: string | undefined;
  try {
    const relayKafka = has('relay')
      ? createRelayKafka(config, logger, options.outageSummaryIntervalMs)
      : undefined;
    for (const app of config.apps) {
      const runtime = createAppRuntime({
        config,
        app,
        logger,
        events,
        closers,
        outageSummaryIntervalMs: options.outageSummaryIntervalMs,
      });
      apps.push(runtime);
      health.addApp({
        label: runtime.label,
        name: app.name,
        shortestIntervalMs: shortestInterval(config.watchlists, app.sdkAppId),
        takingJobs: () => runtime.poller?.takingJobs() ?? false,
        redisStatus: () => connectionStatusOf(runtime.redis, runtime.keys.tag),
      });
      const stopProbe = probeAppMetrics(runtime, options.metrics);
      closers.push(async () => stopProbe());
      if (has('scheduler')) {
        const scheduler = await startScheduler(runtime, config.watchlists, options);
        closers.push(scheduler.close);
        schedulers.push(scheduler);
      }
      if (has('poller')) await startPoller(runtime, closers, options);
      if (relayKafka) await startRelay(runtime, relayKafka, closers, options);
    }
    if (relayKafka) closers.push(startHeartbeats(apps));
    if (has('webhook')) {
      const webhook = await startWebhookRole(apps, config, events, logger);
      closers.push(webhook.close);
      webhookUrl = webhook.receiver.url;
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    apps,
    events,
    health,
    webhookUrl,
    applyWatchlists: (watchlists) => Promise.all(schedulers.map((s) => s.applyWatchlists(watchlists))),
    stop,
  };
}

/** The shortest interval among the app's watchlists, which bounds how long its scheduler may stay silent. */
function shortestInterval(watchlists: readonly ResolvedWatchlist[], sdkAppId: number): number | undefined {
  const intervals = watchlists.filter((list) => list.sdkAppId === sdkAppId).map((list) => list.intervalMs);
  return intervals.length > 0 ? Math.min(...intervals) : undefined;
}
