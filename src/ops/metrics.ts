import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the service exports, created once per process on its own registry (tests make their own).
 * Labels never carry secrets or UserIDs: only app ids, watchlist names, kinds, outcomes and error codes.
 */
export interface Metrics {
  registry: Registry;
  calls: Counter<'app' | 'outcome'>;
  callDuration: Histogram<'app'>;
  tencentErrors: Counter<'app' | 'kind' | 'error_code'>;
  accountErrors: Counter<'app' | 'error_code'>;
  pacerWait: Histogram<'app'>;
  pacerLateSlots: Counter<'app'>;
  pacerStartLateness: Histogram<'app'>;
  rateLimitPenalties: Counter<'app'>;
  usersObserved: Counter<'app' | 'watchlist'>;
  staleObservations: Counter<'app'>;
  eventsRecorded: Counter<'app'>;
  sweeps: Counter<'app' | 'watchlist' | 'decision'>;
  sweepDuration: Histogram<'app' | 'watchlist'>;
  chunksGivenUp: Counter<'app' | 'watchlist'>;
  chunksObsolete: Counter<'app' | 'watchlist'>;
  schedulerRepairs: Counter<'app' | 'watchlist'>;
  eventsPublished: Counter<'app' | 'kind'>;
  publishLatency: Histogram<'app'>;
  relayErrors: Counter<'app'>;
  outboxLength: Gauge<'app'>;
  relayActive: Gauge<'app'>;
  configReloads: Counter<'outcome'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'presence_' });
  const registers = [registry];
  const seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  return {
    registry,
    calls: new Counter({
      name: 'presence_tencent_calls_total',
      help: 'query_online_status calls by outcome',
      labelNames: ['app', 'outcome'],
      registers,
    }),
    callDuration: new Histogram({
      name: 'presence_tencent_call_seconds',
      help: 'query_online_status round trip',
      labelNames: ['app'],
      buckets: seconds,
      registers,
    }),
    tencentErrors: new Counter({
      name: 'presence_tencent_errors_total',
      help: 'Failed calls by error kind and Tencent ErrorCode',
      labelNames: ['app', 'kind', 'error_code'],
      registers,
    }),
    accountErrors: new Counter({
      name: 'presence_account_errors_total',
      help: 'Per-account ErrorList entries by ErrorCode',
      labelNames: ['app', 'error_code'],
      registers,
    }),
    pacerWait: new Histogram({
      name: 'presence_pacer_wait_seconds',
      help: 'Time a call waited for its send slot',
      labelNames: ['app'],
      buckets: seconds,
      registers,
    }),
    pacerLateSlots: new Counter({
      name: 'presence_pacer_late_slots_total',
      help: 'Send slots given back because the call would have started too late (each a slot of the cap lost)',
      labelNames: ['app'],
      registers,
    }),
    pacerStartLateness: new Histogram({
      name: 'presence_pacer_start_lateness_seconds',
      help: 'How long after its send slot a call started (later slots are pushed back by it; see the pacer)',
      labelNames: ['app'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02],
      registers,
    }),
    rateLimitPenalties: new Counter({
      name: 'presence_rate_limit_penalties_total',
      help: 'Rate-limit answers that slowed the pacer',
      labelNames: ['app'],
      registers,
    }),
    usersObserved: new Counter({
      name: 'presence_users_observed_total',
      help: 'User states received',
      labelNames: ['app', 'watchlist'],
      registers,
    }),
    staleObservations: new Counter({
      name: 'presence_stale_observations_total',
      help: 'Observations older than the stored one (not applied)',
      labelNames: ['app'],
      registers,
    }),
    eventsRecorded: new Counter({
      name: 'presence_events_recorded_total',
      help: 'Events appended to the outbox',
      labelNames: ['app'],
      registers,
    }),
    sweeps: new Counter({
      name: 'presence_sweeps_total',
      help: 'Sweep ticks by decision (start, resume, skip)',
      labelNames: ['app', 'watchlist', 'decision'],
      registers,
    }),
    sweepDuration: new Histogram({
      name: 'presence_sweep_seconds',
      help: 'Time from sweep start to its last chunk',
      labelNames: ['app', 'watchlist'],
      buckets: [0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300],
      registers,
    }),
    chunksGivenUp: new Counter({
      name: 'presence_chunks_given_up_total',
      help: 'Chunks that failed every attempt (their users wait for the next sweep)',
      labelNames: ['app', 'watchlist'],
      registers,
    }),
    chunksObsolete: new Counter({
      name: 'presence_chunks_obsolete_total',
      help: 'Chunks of a watchlist version replaced before they ran',
      labelNames: ['app', 'watchlist'],
      registers,
    }),
    schedulerRepairs: new Counter({
      name: 'presence_scheduler_repairs_total',
      help: 'Job schedulers re-created by the watchdog',
      labelNames: ['app', 'watchlist'],
      registers,
    }),
    eventsPublished: new Counter({
      name: 'presence_events_published_total',
      help: 'Events acknowledged by Kafka',
      labelNames: ['app', 'kind'],
      registers,
    }),
    publishLatency: new Histogram({
      name: 'presence_publish_latency_seconds',
      help: 'From the API answer to the Kafka acknowledgement',
      labelNames: ['app'],
      buckets: seconds,
      registers,
    }),
    relayErrors: new Counter({
      name: 'presence_relay_errors_total',
      help: 'Failed publish attempts (retried)',
      labelNames: ['app'],
      registers,
    }),
    outboxLength: new Gauge({
      name: 'presence_outbox_length',
      help: 'Events waiting for Kafka',
      labelNames: ['app'],
      registers,
    }),
    relayActive: new Gauge({
      name: 'presence_relay_active',
      help: '1 while this process holds the relay lease',
      labelNames: ['app'],
      registers,
    }),
    configReloads: new Counter({
      name: 'presence_config_reloads_total',
      help: 'Config reloads by outcome',
      labelNames: ['outcome'],
      registers,
    }),
  };
}
