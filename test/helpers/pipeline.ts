import { DEFAULT_KAFKA_LINGER_MS, pollerSchema, webhookSchema } from '../../src/config/schema.js';
import type { LoadedApp, LoadedConfig, ResolvedWatchlist } from '../../src/config/index.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { createSilentLogger, type Logger } from '../../src/ops/logger.js';
import { startService, type Role, type Service, type ServiceOptions } from '../../src/main.js';
import {
  DEFAULT_SIMULATOR_APP,
  startSimulator,
  type Simulator,
  type SimulatorOptions,
} from '../../src/simulator/index.js';
import type { PresenceState } from '../../src/tencent/types.js';
import { onTeardown, testKafkaBrokers, testRedisUrl, uniqueName } from './services.js';

/** Simulator user IDs `u000000`, `u000001`, ...: `count` of them from index `from`. */
export function userIds(count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, i) => `u${String(from + i).padStart(6, '0')}`);
}

const NEXT_STATE: Record<PresenceState, PresenceState> = {
  Online: 'Offline',
  Offline: 'PushOnline',
  PushOnline: 'Online',
};

/**
 * Changes every `step`th of `users` (those at `round` modulo `step`) in the simulator to its next state (Online,
 * Offline, PushOnline, Online, ...) and returns them: a round of changes the sweeps must each publish once.
 */
export function changeUsers(
  simulator: Simulator,
  users: readonly string[],
  round: number,
  step: number,
): string[] {
  const changed = users.filter((_, i) => i % step === round % step);
  for (const id of changed) simulator.setUserState(id, NEXT_STATE[simulator.getUserState(id)!.state]);
  return changed;
}

/** A simulator on a free port, closed after the test file. */
export async function startTestSimulator(options: SimulatorOptions): Promise<Simulator> {
  const simulator = await startSimulator(options);
  onTeardown(() => simulator.close());
  return simulator;
}

export type WatchlistInput = Pick<ResolvedWatchlist, 'name' | 'userIds'> & Partial<ResolvedWatchlist>;

/** An app pointing at a simulator, with the simulator's key. */
export function simulatorApp(simulator: Simulator, overrides: Partial<LoadedApp> = {}): LoadedApp {
  return {
    name: String(overrides.sdkAppId ?? DEFAULT_SIMULATOR_APP.sdkAppId),
    sdkAppId: DEFAULT_SIMULATOR_APP.sdkAppId,
    region: undefined,
    endpoint: simulator.url,
    backupEndpoint: undefined,
    identifier: 'administrator',
    secretKey: DEFAULT_SIMULATOR_APP.secretKey,
    secretKeySource: 'test',
    userSigTtlSeconds: 86_400,
    callsPerSecond: 200,
    callMargin: 0.02,
    requestTimeoutMs: 5_000,
    connections: 16,
    callbackToken: undefined,
    hintShare: 0.2,
    trustCallbacks: false,
    maxAnswerBytes: 4_194_304,
    ...overrides,
  };
}

/**
 * A complete config for one test: unique Redis prefix and Kafka topics, so test files sharing the services never
 * see each other's data.
 */
export function testConfig(
  apps: LoadedApp[],
  watchlists: WatchlistInput[],
  redisUrl = testRedisUrl(),
): LoadedConfig {
  const id = uniqueName('t');
  const firstApp = apps[0]!;
  return {
    configPath: '/dev/null',
    apps,
    redis: {
      url: redisUrl,
      prefix: `presence-${id}`,
      skipDurabilityCheck: false,
      outboxWarnEntries: 1_000_000,
      outboxMaxEntries: 2_000_000,
      outboxShards: 1,
      waitForReplicas: 0,
      snapshotPriority: 'normal',
    },
    kafka: {
      brokers: testKafkaBrokers(),
      clientId: `presence-${id}`,
      tls: undefined,
      sasl: undefined,
      topics: { transitions: `${id}.transitions`, state: `${id}.state`, heartbeat: `${id}.heartbeat` },
      partitions: 3,
      replicationFactor: 1,
      createTopics: true,
      compression: 'none',
      fencing: true,
      maxBatchBytes: 512 * 1024,
      lingerMs: DEFAULT_KAFKA_LINGER_MS,
    } as LoadedConfig['kafka'],
    defaults: { intervalMs: 1_000, detail: false, deviceEvents: false, firstObservation: 'snapshot' },
    http: { host: '127.0.0.1', port: 0 },
    // The schema's defaults, on a free loopback port.
    webhook: { ...webhookSchema.parse({}), host: '127.0.0.1', port: 0 },
    poller: pollerSchema.parse({}),
    // Off unless a test turns it on: a heartbeat topic per test would only slow the shared broker.
    heartbeat: { intervalMs: 0 },
    watchlistsDir: '/dev/null',
    maxRemovedShare: 0.5,
    logLevel: 'info',
    watchlists: watchlists.map((w) => ({
      app: firstApp.name,
      sdkAppId: firstApp.sdkAppId,
      intervalMs: 1_000,
      detail: false,
      deviceEvents: false,
      firstObservation: 'snapshot',
      topic: undefined,
      priority: 5,
      sources: [],
      ...w,
    })),
  };
}

/** Starts the service in-process with quiet defaults suited to tests. */
export function startTestService(
  config: LoadedConfig,
  options: Partial<ServiceOptions> & { roles?: Role[]; logger?: Logger } = {},
): Promise<Service> {
  return startService(config, {
    roles: options.roles ?? ['scheduler', 'poller', 'relay'],
    logger: options.logger ?? createSilentLogger(),
    metrics: options.metrics ?? createMetrics(),
    watchdogIntervalMs: 1_000,
    ...options,
  });
}
