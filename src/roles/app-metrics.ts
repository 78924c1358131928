import { connectionStatusOf } from '../redis/client.js';
import type { Metrics } from '../ops/metrics.js';
import type { AppRuntime } from './app-runtime.js';
import { readOutboxView } from '../relay/outbox-view.js';

/**
 * Registers the app's scrape-time probes: the gauges that mirror Redis (watchlists and their members, last sweeps,
 * outbox depth and oldest entry, whether any process holds the relay lease, the connection) are read when Prometheus
 * scrapes, never as a side effect of progress, so they stay true while the flow is stuck. Any process with the app's
 * runtime reports them. Returns a function that removes the probes.
 */
export function probeAppMetrics(runtime: AppRuntime, metrics: Metrics): () => void {
  const { app, label, keys, redis, registry } = runtime;
  // A probe of its own that never waits for Redis: the reads below hang while the app's Redis (or its shard's
  // master) is down, and a busy probe is not started again, so the connection gauge would stay at its last value.
  const stopConnectionProbe = metrics.addProbe(`redis-connection:${keys.tag}`, async () => {
    metrics.redisConnected.set({ app: label }, connectionStatusOf(redis, keys.tag) === 'ready' ? 1 : 0);
  });
  const stopReadProbe = metrics.addProbe(`redis:${keys.tag}`, async () => {
    const definitions = await registry.list();
    metrics.initApp({
      sdkAppId: app.sdkAppId,
      name: app.name,
      callsPerSecond: app.callsPerSecond,
      watchlists: definitions.map((list) => ({
        name: list.name,
        intervalMs: list.intervalMs,
        members: list.userCount,
        chunks: list.chunkCount,
      })),
    });
    const [outbox, ...sweeps] = await Promise.all([
      readOutboxView(redis, keys, Date.now()),
      ...definitions.map((list) => redis.hmget(keys.sweep(list.name), 'lastCompletedAt', 'lastDurationMs')),
    ]);
    metrics.outboxLength.set({ app: label }, outbox.entries);
    metrics.outboxOldestAge.set({ app: label }, outbox.oldestAgeSeconds);
    // Every shard needs a holder: a shard without one piles up its users' events.
    const everyShardHeld = outbox.leases.every((lease) => lease.holder !== null);
    metrics.relayLeasePresent.set({ app: label }, everyShardHeld ? 1 : 0);
    definitions.forEach((list, i) => {
      const [completedAt, durationMs] = (sweeps[i] ?? []) as Array<string | null>;
      const labels = { app: label, watchlist: list.name };
      if (completedAt) metrics.sweepLastCompleted.set(labels, Number(completedAt) / 1000);
      if (durationMs) metrics.sweepLastDuration.set(labels, Number(durationMs) / 1000);
    });
  });
  return () => {
    stopConnectionProbe();
    stopReadProbe();
  };
}
