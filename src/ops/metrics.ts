import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { buildInfo } from './build-info.js';
import {
  ACCOUNT_NOT_FOUND,
  CALLBACK_OUTCOMES,
  DETECTION_LETTERS,
  EVENT_KINDS,
  HELD_REASONS,
  HINT_OUTCOMES,
  TRUSTED_CALLBACK_OUTCOMES,
  MAX_IDS_PER_CALL,
  QUARANTINE_KINDS,
} from '../vocabulary.js';

/**
 * Every metric the service exports, created once per process on its own registry (tests make their own).
 *
 * Labels never carry secrets or UserIDs: only SDKAppIDs, watchlist names, kinds, outcomes and error codes, so the
 * number of series is bounded by the configuration. Call sites pass the SDKAppID as `app`; it is exported as
 * `sdk_app_id`, because Prometheus renames a target's own `app` label (common on Kubernetes pods) to `exported_app`.
 * The app's configured name is a label of `presence_app_info` only (join on `sdk_app_id`), so renaming an app does
 * not split every series in two.
 *
 * Gauges that mirror Redis (outbox, sweeps, lease) are refreshed by probes at scrape time: see `addProbe`.
 */
export interface Metrics {
  registry: Registry;
  calls: CounterOf<'app' | 'outcome'>;
  callDuration: HistogramOf<'app'>;
  tencentErrors: CounterOf<'app' | 'kind' | 'error_code'>;
  accountErrors: CounterOf<'app' | 'error_code'>;
  /** Answer entries set aside while the rest of the answer was applied (tencent/parse.ts). */
  entriesQuarantined: CounterOf<'app' | 'kind'>;
  pacerWait: HistogramOf<'app'>;
  pacerLateSlots: CounterOf<'app'>;
  pacerStartLateness: HistogramOf<'app'>;
  rateLimitPenalties: CounterOf<'app'>;
  usersObserved: CounterOf<'app' | 'watchlist'>;
  staleObservations: CounterOf<'app'>;
  eventsRecorded: CounterOf<'app'>;
  sweeps: CounterOf<'app' | 'watchlist' | 'decision'>;
  sweepDuration: HistogramOf<'app' | 'watchlist'>;
  chunksGivenUp: CounterOf<'app' | 'watchlist'>;
  chunksObsolete: CounterOf<'app' | 'watchlist'>;
  schedulerRepairs: CounterOf<'app' | 'watchlist'>;
  workerReplacements: CounterOf<'app' | 'queue'>;
  eventsPublished: CounterOf<'app' | 'kind'>;
  publishLatency: HistogramOf<'app'>;
  transitionLatency: HistogramOf<'app' | 'detected_by'>;
  relayErrors: CounterOf<'app'>;
  /**
   * Attempts to publish a batch held back by `redis.waitForReplicas`: fewer replicas acknowledged it, or the master
   * refused WAIT or the write before it.
   */
  relayBatchesHeld: CounterOf<'app' | 'reason'>;
  /** Requests the webhook role received, by outcome (accepted or why refused). */
  callbacks: CounterOf<'outcome'>;
  /** Hinted users by what became of them (queued, merged, overflow, untracked, call_failed, called). */
  hints: CounterOf<'app' | 'outcome'>;
  /** Trusted callbacks (apps with trustCallbacks) by what became of them. */
  trustedCallbacks: CounterOf<'app' | 'outcome'>;
  /** From a callback's arrival to the answer of the hint call it caused. */
  hintWait: HistogramOf<'app'>;
  /** Times Redis was found to have lost the app's data while the service ran. */
  redisDataLosses: CounterOf<'app'>;
  /** State records restored from the state topic after a loss. */
  statesRestored: CounterOf<'app'>;
  /** 1 while the app's states are being restored (nothing is scheduled meanwhile). */
  stateRecovering: GaugeOf<'app'>;
  /** Events moved to the dead-letter stream (Kafka refused them as too large even alone). */
  deadLetters: CounterOf<'app'>;
  /** Warnings that the outbox holds more than `redis.outboxWarnEntries` events. */
  outboxWarnings: CounterOf<'app'>;
  /** Events in the outbox stream (XLEN); a probe should set it, the relay may too. */
  outboxLength: GaugeOf<'app'>;
  /** Relay leases (outbox shards) of the app this process holds: 1 or 0 with a single outbox. */
  relayActive: GaugeOf<'app'>;
  configReloads: CounterOf<'outcome'>;
  /** Age of the oldest outbox entry in seconds (0 when empty). */
  outboxOldestAge: GaugeOf<'app'>;
  /**
   * 1 when some process holds the relay lease of every outbox shard of the app (read from Redis, so any role can
   * report it).
   */
  relayLeasePresent: GaugeOf<'app'>;
  /** 1 while the app's Redis connection is ready. */
  redisConnected: GaugeOf<'app'>;
  /** 1 while this process's Kafka producer is connected; exported only after `initKafka` (relay role). */
  kafkaConnected: GaugeOf<never>;
  /** Unix time in seconds of the last completed sweep (0: none yet). */
  sweepLastCompleted: GaugeOf<'app' | 'watchlist'>;
  /** Duration of the last completed sweep in seconds. */
  sweepLastDuration: GaugeOf<'app' | 'watchlist'>;
  /**
   * Zeroes every label set known from the configuration (so `increase()` sees the first error) and records the
   * app's name, cap and watchlists. Call it again after a reload: watchlists no longer listed are removed.
   */
  initApp(app: AppMetricsInit): void;
  /**
   * Adds a probe: an async function run on every scrape before the Redis-backed gauges are read, which sets them
   * (e.g. XLEN of the outbox, the sweep hashes). A scrape waits at most `probeTimeoutMs` for the probes; a probe that
   * fails or is late keeps its previous values and shows as `presence_probe_success{probe} 0`. A probe still running
   * from an earlier scrape is not started again. Returns a function that removes the probe.
   */
  addProbe(name: string, probe: () => Promise<void>): () => void;
  /** Exports `presence_kafka_connected 0` until the producer connects; only processes that publish call it. */
  initKafka(): void;
}

/** What `initApp` needs: the app's identity, cap and watchlists. */
export interface AppMetricsInit {
  sdkAppId: number | string;
  /** The configured name (`apps[].name`). */
  name: string;
  callsPerSecond: number;
  watchlists: ReadonlyArray<WatchlistMetricsInit>;
}

export interface WatchlistMetricsInit {
  name: string;
  intervalMs: number;
  /** Members (UserIDs) of the active version. */
  members: number;
  /** Calls one sweep needs; default ceil(members / 500). */
  chunks?: number;
}

export interface MetricsOptions {
  /** Node.js runtime metrics (`process_*`, `nodejs_*`, unprefixed so stock dashboards find them). Default false. */
  defaultMetrics?: boolean;
  /** Longest time a scrape waits for the probes. Default 1000 ms. */
  probeTimeoutMs?: number;
  /** `presence_build_info{version}`. Default: `version` of the package.json above this module. */
  version?: string;
  /** `presence_build_info{revision}`. Default: PRESENCE_REVISION, else "unknown". */
  revision?: string;
  /**
   * The `kind` / `error_code` label pairs of failed calls that `initApp` exports at 0 (the Tencent client's table,
   * `tencentErrorLabels()`; `error_code` '' for failures without a code). Default: none.
   */
  errorLabels?: ReadonlyArray<{ kind: string; errorCode: string }>;
}

export const DEFAULT_METRICS_OPTIONS = {
  defaultMetrics: false,
  probeTimeoutMs: 1_000,
} satisfies MetricsOptions;

type Labels<L extends string> = Partial<Record<L, string | number>>;

/** The part of a prom-client counter call sites use (`get()` reports exported label names). */
export interface CounterOf<L extends string> extends Pick<Counter<string>, 'get'> {
  inc(labels: Labels<L>, value?: number): void;
}
/** The part of a prom-client histogram call sites use. */
export interface HistogramOf<L extends string> extends Pick<Histogram<string>, 'get'> {
  observe(labels: Labels<L>, value: number): void;
}
/** The part of a prom-client gauge call sites use. */
export interface GaugeOf<L extends string> extends Pick<Gauge<string>, 'get'> {
  set(labels: Labels<L>, value: number): void;
}

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const CALL_OUTCOMES = ['ok', 'error'] as const;
const SWEEP_DECISIONS = ['start', 'resume', 'skip'] as const;
const RELOAD_OUTCOMES = ['applied', 'unchanged', 'rejected', 'failed'] as const;
/** Every kind can also come without a Tencent ErrorCode (network, HTTP status, a refused request...). */
/** Per-account ErrorList codes the client knows (70107: account not imported). */
const ACCOUNT_ERROR_CODES = [String(ACCOUNT_NOT_FOUND)];

/** Creates the registry and every family on it. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? DEFAULT_METRICS_OPTIONS.defaultMetrics)
    collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const errorLabels = options.errorLabels ?? [];
  const probeTimeoutMs = options.probeTimeoutMs ?? DEFAULT_METRICS_OPTIONS.probeTimeoutMs;
  if (!(probeTimeoutMs > 0))
    throw new RangeError(`metrics: probeTimeoutMs must be > 0, got ${probeTimeoutMs}`);
  const probes = createProbeRunner(probeTimeoutMs);
  const appLabels = ['sdk_app_id'];
  const counter = (name: string, help: string, labelNames: string[]) =>
    new Counter({ name, help, labelNames, registers });
  const histogram = (name: string, help: string, labelNames: string[], buckets = SECONDS_BUCKETS) =>
    new Histogram({ name, help, labelNames, buckets, registers });
  // Histograms labelled by app only, zeroed together by initApp.
  const appHistograms: Histogram<string>[] = [];
  const appHistogram = (name: string, help: string, buckets = SECONDS_BUCKETS) => {
    const created = histogram(name, help, appLabels, buckets);
    appHistograms.push(created);
    return created;
  };
  const gauge = (name: string, help: string, labelNames: string[]) =>
    new Gauge({ name, help, labelNames, registers });
  // Read after the probes ran, so a scrape sees what Redis holds now, not what the last job happened to write.
  const probedGauge = (name: string, help: string, labelNames: string[]) =>
    new Gauge({ name, help, labelNames, registers, collect: () => probes.run() });

  const build = gauge('presence_build_info', 'Always 1; the running version and source revision', [
    'version',
    'revision',
  ]);
  build.set(
    { version: options.version ?? buildInfo().version, revision: options.revision ?? buildInfo().revision },
    1,
  );
  const appInfo = gauge('presence_app_info', 'Always 1 per configured app; joins sdk_app_id to its name', [
    'sdk_app_id',
    'app_name',
  ]);
  const capCallsPerSecond = gauge(
    'presence_cap_calls_per_second',
    'Configured call cap (callsPerSecond)',
    appLabels,
  );
  const watchlistInterval = gauge(
    'presence_watchlist_interval_seconds',
    'Configured sweep interval of the watchlist',
    ['sdk_app_id', 'watchlist'],
  );
  const watchlistMembers = gauge('presence_watchlist_members', 'Members of the active watchlist version', [
    'sdk_app_id',
    'watchlist',
  ]);
  // Demand in calls per second for each app, kept here so the ratio gauge can be computed when scraped.
  const demandByApp = new Map<string, Map<string, { chunks: number; intervalMs: number }>>();
  const capByApp = new Map<string, number>();
  new Gauge({
    name: 'presence_cap_demand_ratio',
    help: 'Calls the watchlists need per second (chunks / interval, summed) divided by callsPerSecond',
    labelNames: appLabels,
    registers,
    collect() {
      for (const [app, lists] of demandByApp) {
        let callsPerSecond = 0;
        for (const { chunks, intervalMs } of lists.values()) callsPerSecond += chunks / (intervalMs / 1000);
        this.set({ sdk_app_id: app }, callsPerSecond / (capByApp.get(app) ?? 1));
      }
    },
  });

  const calls = counter('presence_tencent_calls_total', 'query_online_status calls by outcome', [
    'sdk_app_id',
    'outcome',
  ]);
  const tencentErrors = counter(
    'presence_tencent_errors_total',
    'Failed calls by error kind and Tencent ErrorCode',
    ['sdk_app_id', 'kind', 'error_code'],
  );
  const accountErrors = counter(
    'presence_account_errors_total',
    'Per-account ErrorList entries by ErrorCode',
    ['sdk_app_id', 'error_code'],
  );
  const entriesQuarantined = counter(
    'presence_answer_entries_quarantined_total',
    'Answer entries set aside by kind (unknown state, duplicate, unasked, malformed, missing); the rest applied',
    ['sdk_app_id', 'kind'],
  );
  const pacerLateSlots = counter(
    'presence_pacer_late_slots_total',
    'Send slots given back because the call would have started too late (each a slot of the cap lost)',
    appLabels,
  );
  const rateLimitPenalties = counter(
    'presence_rate_limit_penalties_total',
    'Rate-limit answers that slowed the pacer',
    appLabels,
  );
  const usersObserved = counter('presence_users_observed_total', 'User states received', [
    'sdk_app_id',
    'watchlist',
  ]);
  const staleObservations = counter(
    'presence_stale_observations_total',
    'Observations older than the stored one (not applied)',
    appLabels,
  );
  const eventsRecorded = counter(
    'presence_events_recorded_total',
    'Events appended to the outbox',
    appLabels,
  );
  const sweeps = counter('presence_sweeps_total', 'Sweep ticks by decision (start, resume, skip)', [
    'sdk_app_id',
    'watchlist',
    'decision',
  ]);
  const sweepDuration = histogram(
    'presence_sweep_duration_seconds',
    'Time from sweep start to its last chunk',
    ['sdk_app_id', 'watchlist'],
    [0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600],
  );
  const transitionLatency = histogram(
    'presence_transition_latency_seconds',
    'Transitions only, by how they were detected: from the observation that saw the change (a sweep or hint ' +
      "call's answer, a trusted callback's arrival) to the Kafka acknowledgement",
    ['sdk_app_id', 'detected_by'],
  );
  const chunksGivenUp = counter(
    'presence_chunks_given_up_total',
    'Chunks that failed every attempt (their users wait for the next sweep)',
    ['sdk_app_id', 'watchlist'],
  );
  const chunksObsolete = counter(
    'presence_chunks_obsolete_total',
    'Chunks of a watchlist version replaced before they ran',
    ['sdk_app_id', 'watchlist'],
  );
  const schedulerRepairs = counter(
    'presence_scheduler_repairs_total',
    'Job schedulers re-created by the watchdog',
    ['sdk_app_id', 'watchlist'],
  );
  const workerReplacements = counter(
    'presence_worker_replacements_total',
    'BullMQ workers replaced by the poller watchdog after taking no job while jobs were ready',
    ['sdk_app_id', 'queue'],
  );
  const eventsPublished = counter(
    'presence_events_published_total',
    'Events acknowledged by Kafka, by kind',
    ['sdk_app_id', 'kind'],
  );
  const relayErrors = counter('presence_relay_errors_total', 'Failed publish attempts (retried)', appLabels);
  const relayBatchesHeld = counter(
    'presence_relay_batches_held_total',
    'Attempts to publish an outbox batch held back by redis.waitForReplicas (retried), by reason: fewer replicas ' +
      'acknowledged it (replicas_behind), or the master refused WAIT or its marker write (redis_refused)',
    ['sdk_app_id', 'reason'],
  );
  const callbacks = counter(
    'presence_callbacks_total',
    'Requests to the webhook role, by outcome (accepted, or why refused)',
    ['outcome'],
  );
  for (const outcome of CALLBACK_OUTCOMES) callbacks.inc({ outcome }, 0);
  const hints = counter(
    'presence_hints_total',
    'Users named by state-change callbacks, by what became of them',
    ['sdk_app_id', 'outcome'],
  );
  const trustedCallbacks = counter(
    'presence_trusted_callbacks_total',
    'Login / Logout callbacks applied as states at once (apps with trustCallbacks), by what became of them',
    ['sdk_app_id', 'outcome'],
  );
  const redisDataLosses = counter(
    'presence_redis_data_losses_total',
    "Times Redis was found without the app's data while the service ran",
    appLabels,
  );
  const statesRestored = counter(
    'presence_states_restored_total',
    'State records restored from the state topic after Redis lost its data',
    appLabels,
  );
  const stateRecovering = gauge(
    'presence_state_recovering',
    "1 while the app's states are restored from the state topic",
    appLabels,
  );
  const deadLetters = counter(
    'presence_dead_letters_total',
    'Events moved to the dead-letter stream: Kafka refused them as too large even alone',
    appLabels,
  );
  const outboxWarnings = counter(
    'presence_outbox_warnings_total',
    'Warnings that the outbox holds more than redis.outboxWarnEntries events (at most one a minute)',
    appLabels,
  );
  const configReloads = counter('presence_config_reloads_total', 'Config reloads by outcome', ['outcome']);
  const relayActive = gauge(
    'presence_relay_lease_held',
    'Relay leases this process holds: 1 while it publishes a single outbox, else the outbox shards it publishes',
    appLabels,
  );
  // Label-less gauges always export a sample, so this one is registered only by processes that publish.
  let kafkaConnected: Gauge | undefined;
  const kafkaGauge = (): Gauge =>
    (kafkaConnected ??= probedGauge(
      'presence_kafka_connected',
      "1 while this process's Kafka producer is connected",
      [],
    ));

  const outboxEntries = probedGauge(
    'presence_outbox_entries',
    'Events in the outbox, waiting for Kafka',
    appLabels,
  );
  const outboxOldestAge = probedGauge(
    'presence_outbox_oldest_entry_age_seconds',
    'Age of the oldest outbox entry (0: empty)',
    appLabels,
  );
  const relayLeasePresent = probedGauge(
    'presence_relay_lease_present',
    '1 when some process holds the relay lease of every outbox shard (from Redis)',
    appLabels,
  );
  const redisConnected = probedGauge(
    'presence_redis_connected',
    "1 while the app's Redis connection is ready",
    appLabels,
  );
  const sweepLastCompleted = probedGauge(
    'presence_sweep_last_completed_timestamp_seconds',
    'Unix time of the last completed sweep (0: none yet)',
    ['sdk_app_id', 'watchlist'],
  );
  const sweepLastDuration = probedGauge(
    'presence_sweep_last_duration_seconds',
    'Duration of the last completed sweep',
    ['sdk_app_id', 'watchlist'],
  );

  const metrics: Metrics = {
    registry,
    calls: counterOf(calls),
    callDuration: histogramOf(
      appHistogram('presence_tencent_call_duration_seconds', 'query_online_status round trip'),
    ),
    tencentErrors: counterOf(tencentErrors),
    accountErrors: counterOf(accountErrors),
    entriesQuarantined: counterOf(entriesQuarantined),
    pacerWait: histogramOf(
      appHistogram('presence_pacer_wait_seconds', 'Time a call waited for its send slot'),
    ),
    pacerLateSlots: counterOf(pacerLateSlots),
    pacerStartLateness: histogramOf(
      appHistogram(
        'presence_pacer_start_lateness_seconds',
        'How long after its send slot a call started (later slots are pushed back by it; see the pacer)',
        [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02],
      ),
    ),
    rateLimitPenalties: counterOf(rateLimitPenalties),
    usersObserved: counterOf(usersObserved),
    staleObservations: counterOf(staleObservations),
    eventsRecorded: counterOf(eventsRecorded),
    sweeps: counterOf(sweeps),
    sweepDuration: histogramOf(sweepDuration),
    chunksGivenUp: counterOf(chunksGivenUp),
    chunksObsolete: counterOf(chunksObsolete),
    schedulerRepairs: counterOf(schedulerRepairs),
    workerReplacements: counterOf(workerReplacements),
    eventsPublished: counterOf(eventsPublished),
    publishLatency: histogramOf(
      appHistogram('presence_publish_latency_seconds', 'From the API answer to the Kafka acknowledgement'),
    ),
    transitionLatency: histogramOf(transitionLatency),
    relayErrors: counterOf(relayErrors),
    relayBatchesHeld: counterOf(relayBatchesHeld),
    callbacks: counterOf(callbacks),
    hints: counterOf(hints),
    trustedCallbacks: counterOf(trustedCallbacks),
    hintWait: histogramOf(
      appHistogram(
        'presence_hint_wait_seconds',
        "From a state-change callback's arrival to the answer of the hint call it caused",
      ),
    ),
    redisDataLosses: counterOf(redisDataLosses),
    statesRestored: counterOf(statesRestored),
    stateRecovering: gaugeOf(stateRecovering),
    deadLetters: counterOf(deadLetters),
    outboxWarnings: counterOf(outboxWarnings),
    outboxLength: gaugeOf(outboxEntries),
    relayActive: gaugeOf(relayActive),
    configReloads: counterOf(configReloads),
    outboxOldestAge: gaugeOf(outboxOldestAge),
    relayLeasePresent: gaugeOf(relayLeasePresent),
    redisConnected: gaugeOf(redisConnected),
    kafkaConnected: { set: (_labels, value) => kafkaGauge().set(value), get: () => kafkaGauge().get() },
    sweepLastCompleted: gaugeOf(sweepLastCompleted),
    sweepLastDuration: gaugeOf(sweepLastDuration),
    initApp(app) {
      checkAppInit(app);
      const id = String(app.sdkAppId);
      const appOnly = { sdk_app_id: id };
      appInfo.set({ sdk_app_id: id, app_name: app.name }, 1);
      capCallsPerSecond.set(appOnly, app.callsPerSecond);
      capByApp.set(id, app.callsPerSecond);
      for (const outcome of CALL_OUTCOMES) calls.inc({ ...appOnly, outcome }, 0);
      for (const { kind, errorCode } of errorLabels)
        tencentErrors.inc({ ...appOnly, kind, error_code: errorCode }, 0);
      for (const code of ACCOUNT_ERROR_CODES) accountErrors.inc({ ...appOnly, error_code: code }, 0);
      for (const kind of QUARANTINE_KINDS) entriesQuarantined.inc({ ...appOnly, kind }, 0);
      for (const kind of EVENT_KINDS) eventsPublished.inc({ ...appOnly, kind }, 0);
      for (const outcome of HINT_OUTCOMES) hints.inc({ ...appOnly, outcome }, 0);
      for (const outcome of TRUSTED_CALLBACK_OUTCOMES) trustedCallbacks.inc({ ...appOnly, outcome }, 0);
      for (const reason of HELD_REASONS) relayBatchesHeld.inc({ ...appOnly, reason }, 0);
      for (const family of [
        pacerLateSlots,
        rateLimitPenalties,
        staleObservations,
        eventsRecorded,
        relayErrors,
        redisDataLosses,
        statesRestored,
        deadLetters,
        outboxWarnings,
      ])
        family.inc(appOnly, 0);
      // Exported at 0 until something sets them, never reset: the app probe calls this on every scrape, and what
      // flow events or other probes set (relay lease held, Redis connected, recovering) must keep its value.
      for (const family of [
        relayActive,
        outboxEntries,
        outboxOldestAge,
        relayLeasePresent,
        redisConnected,
        stateRecovering,
      ])
        family.inc(appOnly, 0);
      for (const family of appHistograms) zeroUnobserved(family, appOnly);
      for (const source of Object.keys(DETECTION_LETTERS))
        zeroUnobserved(transitionLatency, { ...appOnly, detected_by: source });

      const previous = demandByApp.get(id);
      const current = new Map<string, { chunks: number; intervalMs: number }>();
      for (const list of app.watchlists) {
        const labels = { ...appOnly, watchlist: list.name };
        const chunks = list.chunks ?? Math.ceil(list.members / MAX_IDS_PER_CALL);
        current.set(list.name, { chunks, intervalMs: list.intervalMs });
        watchlistInterval.set(labels, list.intervalMs / 1000);
        watchlistMembers.set(labels, list.members);
        for (const decision of SWEEP_DECISIONS) sweeps.inc({ ...labels, decision }, 0);
        for (const family of [usersObserved, chunksGivenUp, chunksObsolete, schedulerRepairs])
          family.inc(labels, 0);
        // Keep what a probe already read: a reload must not make a healthy watchlist look never swept.
        zeroUnobserved(sweepDuration, labels);
        if (!previous?.has(list.name)) {
          sweepLastCompleted.set(labels, 0);
          sweepLastDuration.set(labels, 0);
        }
      }
      for (const gone of previous?.keys() ?? []) {
        if (current.has(gone)) continue;
        const labels = { sdk_app_id: id, watchlist: gone };
        for (const family of [usersObserved, chunksGivenUp, chunksObsolete, schedulerRepairs, sweepDuration])
          family.remove(labels);
        for (const family of [watchlistInterval, watchlistMembers, sweepLastCompleted, sweepLastDuration])
          family.remove(labels);
        for (const decision of SWEEP_DECISIONS) sweeps.remove({ ...labels, decision });
        observedSeries.get(sweepDuration)?.delete(seriesKey(labels));
      }
      demandByApp.set(id, current);
    },
    addProbe: (name, probe) => probes.add(name, probe),
    initKafka: () => kafkaGauge().set(0),
  };
  for (const outcome of RELOAD_OUTCOMES) configReloads.inc({ outcome }, 0);
  probes.attach(
    probedGauge('presence_probe_success', '1 when the probe answered in time at the last scrape', ['probe']),
  );
  return metrics;
}

/** Refuses values that would export NaN or Infinity (a zero cap or interval). */
function checkAppInit(app: AppMetricsInit): void {
  const positive = (value: number) => Number.isFinite(value) && value > 0;
  if (!positive(app.callsPerSecond))
    throw new RangeError(
      `metrics: app ${app.sdkAppId} callsPerSecond must be > 0, got ${app.callsPerSecond}`,
    );
  for (const list of app.watchlists) {
    if (!positive(list.intervalMs))
      throw new RangeError(
        `metrics: watchlist "${list.name}" intervalMs must be > 0, got ${list.intervalMs}`,
      );
    if (!(list.members >= 0))
      throw new RangeError(`metrics: watchlist "${list.name}" members must be >= 0, got ${list.members}`);
  }
}

/** Runs the registered probes once per scrape, bounded by `timeoutMs`. */
function createProbeRunner(timeoutMs: number) {
  const probes = new Map<string, () => Promise<void>>();
  const running = new Map<string, Promise<void>>();
  let success: Gauge<string> | undefined;
  let round: Promise<void> | undefined;

  const runOne = async (name: string, probe: () => Promise<void>): Promise<void> => {
    // A probe still busy from an earlier scrape is not started twice: hung Redis reads must not pile up.
    let pending = running.get(name);
    if (!pending) {
      // Through a promise, so a probe that throws synchronously counts as failed instead of failing the scrape.
      pending = Promise.resolve()
        .then(probe)
        .finally(() => running.delete(name));
      running.set(name, pending);
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    try {
      const outcome = await Promise.race([pending.then(() => 'done' as const), late]);
      success?.set({ probe: name }, outcome === 'done' ? 1 : 0);
    } catch {
      success?.set({ probe: name }, 0);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    attach(gauge: Gauge<string>) {
      success = gauge;
    },
    add(name: string, probe: () => Promise<void>): () => void {
      if (probes.has(name)) throw new Error(`a metrics probe named "${name}" is already registered`);
      probes.set(name, probe);
      success?.set({ probe: name }, 0);
      return () => {
        probes.delete(name);
        success?.remove({ probe: name });
      };
    },
    /** Every probe-fed gauge awaits this; the gauges of one scrape share one round. */
    run(): Promise<void> {
      round ??= Promise.all([...probes].map(([name, probe]) => runOne(name, probe))).then(() => {
        round = undefined;
      });
      return round;
    },
  };
}

function toExported(labels: Record<string, string | number | undefined>): Record<string, string | number> {
  const exported: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(labels)) {
    if (value !== undefined) exported[key === 'app' ? 'sdk_app_id' : key] = value;
  }
  return exported;
}
function counterOf<L extends string>(counter: Counter<string>): CounterOf<L> {
  return { inc: (labels, value) => counter.inc(toExported(labels), value ?? 1), get: () => counter.get() };
}
/**
 * The label sets each histogram has observed. A histogram series is exported from the start by `zero`, but `zero`
 * also empties it, and initApp runs on every scrape: only a series never observed is zeroed.
 */
const observedSeries = new WeakMap<Histogram<string>, Set<string>>();
const seriesKey = (labels: Record<string, string | number>): string =>
  Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`)
    .join(',');
function zeroUnobserved(histogram: Histogram<string>, labels: Record<string, string | number>): void {
  if (!observedSeries.get(histogram)?.has(seriesKey(labels))) histogram.zero(labels);
}
function histogramOf<L extends string>(histogram: Histogram<string>): HistogramOf<L> {
  const observed = new Set<string>();
  observedSeries.set(histogram, observed);
  return {
    observe: (labels, value) => {
      const exported = toExported(labels);
      observed.add(seriesKey(exported));
      histogram.observe(exported, value);
    },
    get: () => histogram.get(),
  };
}
function gaugeOf<L extends string>(gauge: Gauge<string>): GaugeOf<L> {
  return { set: (labels, value) => gauge.set(toExported(labels), value), get: () => gauge.get() };
}
