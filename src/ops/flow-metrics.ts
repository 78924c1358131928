import type { FlowEvents } from './flow-events.js';
import type { Metrics } from './metrics.js';

/**
 * The one place where what happens in the flow becomes Prometheus metrics: subscribes `metrics` to `events` and
 * returns a function that unsubscribes.
 */
export function recordFlowMetrics(events: FlowEvents, metrics: Metrics): () => void {
  const leasesHeld = new Map<string, Set<number>>();
  const subscriptions = [
    events.on('call', ({ app, outcome }) => metrics.calls.inc({ app, outcome })),
    events.on('callTiming', ({ app, waitMs, latenessMs, durationMs }) => {
      metrics.pacerWait.observe({ app }, waitMs / 1000);
      metrics.pacerStartLateness.observe({ app }, latenessMs / 1000);
      metrics.callDuration.observe({ app }, durationMs / 1000);
    }),
    events.on('lateSlot', ({ app }) => metrics.pacerLateSlots.inc({ app })),
    events.on('callFailed', ({ app, kind, errorCode }) =>
      metrics.tencentErrors.inc({ app, kind, error_code: String(errorCode ?? '') }),
    ),
    events.on('rateLimited', ({ app }) => metrics.rateLimitPenalties.inc({ app })),
    events.on('accountErrors', ({ app, errorCodes }) => {
      for (const code of errorCodes) metrics.accountErrors.inc({ app, error_code: String(code) });
    }),
    events.on('entriesQuarantined', ({ app, kinds }) => {
      for (const kind of kinds) metrics.entriesQuarantined.inc({ app, kind });
    }),
    events.on('chunkObserved', ({ app, watchlist, users, events: recorded, stale }) => {
      metrics.usersObserved.inc({ app, watchlist }, users);
      metrics.eventsRecorded.inc({ app }, recorded);
      if (stale > 0) metrics.staleObservations.inc({ app }, stale);
    }),
    events.on('chunkObsolete', ({ app, watchlist }) => metrics.chunksObsolete.inc({ app, watchlist })),
    events.on('chunkGivenUp', ({ app, watchlist }) => metrics.chunksGivenUp.inc({ app, watchlist })),
    events.on('sweepDecided', ({ app, watchlist, decision }) =>
      metrics.sweeps.inc({ app, watchlist, decision }),
    ),
    events.on('sweepCompleted', ({ app, watchlist, durationMs }) =>
      metrics.sweepDuration.observe({ app, watchlist }, durationMs / 1000),
    ),
    events.on('schedulerRepaired', ({ app, watchlist }) => metrics.schedulerRepairs.inc({ app, watchlist })),
    events.on('workerReplaced', ({ app, queue }) => metrics.workerReplacements.inc({ app, queue })),
    events.on('eventsPublished', ({ app, kinds, latenciesMs, transitions }) => {
      for (const kind of kinds) metrics.eventsPublished.inc({ app, kind });
      for (const latencyMs of latenciesMs) metrics.publishLatency.observe({ app }, latencyMs / 1000);
      for (const { detectedBy, latencyMs } of transitions)
        metrics.transitionLatency.observe({ app, detected_by: detectedBy }, latencyMs / 1000);
    }),
    events.on('publishFailed', ({ app }) => metrics.relayErrors.inc({ app })),
    events.on('publishHeld', ({ app, reason }) => metrics.relayBatchesHeld.inc({ app, reason })),
    events.on('eventDeadLettered', ({ app }) => metrics.deadLetters.inc({ app })),
    events.on('outboxOverWarnLevel', ({ app }) => metrics.outboxWarnings.inc({ app })),
    events.on('kafkaConnection', ({ connected }) => metrics.kafkaConnected.set({}, connected ? 1 : 0)),
    events.on('relayLease', ({ app, shard, held }) => {
      // The shard leases this process holds, per app (1 or 0 with a single outbox).
      const shards = leasesHeld.get(app) ?? new Set<number>();
      if (held) shards.add(shard);
      else shards.delete(shard);
      leasesHeld.set(app, shards);
      metrics.relayActive.set({ app }, shards.size);
    }),
    events.on('callbackReceived', ({ outcome }) => metrics.callbacks.inc({ outcome })),
    events.on('hintsQueued', ({ app, added, merged, overflow }) => {
      metrics.hints.inc({ app, outcome: 'queued' }, added);
      metrics.hints.inc({ app, outcome: 'merged' }, merged);
      metrics.hints.inc({ app, outcome: 'overflow' }, overflow);
    }),
    events.on('hintsDropped', ({ app, reason, users }) => metrics.hints.inc({ app, outcome: reason }, users)),
    events.on('hintsObserved', ({ app, users, waitsMs }) => {
      metrics.hints.inc({ app, outcome: 'called' }, users);
      for (const waitMs of waitsMs) metrics.hintWait.observe({ app }, waitMs / 1000);
    }),
    events.on('callbacksTrusted', ({ app, published, unchanged, skipped, stale, tooOld }) => {
      const counts = { published, unchanged, skipped, stale, too_old: tooOld };
      for (const [outcome, count] of Object.entries(counts)) {
        if (count > 0) metrics.trustedCallbacks.inc({ app, outcome }, count);
      }
    }),
    events.on('redisDataLost', ({ app }) => metrics.redisDataLosses.inc({ app })),
    events.on('stateRecovery', ({ app, phase, restored }) => {
      metrics.stateRecovering.set({ app }, phase === 'started' ? 1 : 0);
      if (restored > 0) metrics.statesRestored.inc({ app }, restored);
    }),
    events.on('configReloaded', ({ outcome }) => metrics.configReloads.inc({ outcome })),
  ];
  return () => {
    for (const unsubscribe of subscriptions) unsubscribe();
  };
}
