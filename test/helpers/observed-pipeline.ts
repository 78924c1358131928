import type { PresenceEvent } from '@presence-poller/events';
import type { LoadedConfig } from '../../src/config/index.js';
import type { Service } from '../../src/main.js';
import type { Simulator, SimulatorOptions } from '../../src/simulator/index.js';
import type { PresenceState } from '../../src/tencent/types.js';
import { compareWithGroundTruth, type GroundTruthReport } from './ground-truth.js';
import { collectRecords } from './kafka-events.js';
import {
  changeUsers,
  simulatorApp,
  startTestService,
  startTestSimulator,
  testConfig,
  userIds,
} from './pipeline.js';
import { onTeardown, testKafka } from './services.js';
import { waitFor } from './wait-for.js';

export interface ObservedPipelineOptions {
  seed: number;
  /** Users in the simulator, all imported and all in one watchlist `all`. */
  users: number;
  /** The watchlist's interval. Default 1 s. */
  intervalMs?: number;
  simulator?: Omit<SimulatorOptions, 'seed' | 'population'>;
  /** Options for the in-process service; `false` starts none (the test runs its own workers). */
  service?: Parameters<typeof startTestService>[1] | false;
  redisUrl?: string;
  kafkaBrokers?: string[];
}

export interface ObservedPipeline {
  simulator: Simulator;
  users: string[];
  config: LoadedConfig;
  service: Service | undefined;
  /** Every state at the start: the oracle's first entry per user. */
  states: Map<string, PresenceState>;
  /** Events on the transitions topic so far, in arrival order. */
  published(): PresenceEvent[];
  waitForSnapshots(timeoutMs?: number): Promise<void>;
  /** Resolves once the simulator answered `count` more calls. */
  waitForCalls(count: number, description: string, timeoutMs?: number): Promise<void>;
  /** Moves every `step`-th user (offset by round) to its next state; rounds change distinct users. */
  changeUsers(round: number, step: number): string[];
  /** True when each of these users has a transition to the state the simulator holds for it now. */
  publishedCurrentStates(userIds: readonly string[]): boolean;
  compare(): GroundTruthReport;
}

/**
 * The setting of the reliability tests: a simulator, a watchlist of all its users, the service, and a consumer of
 * the transitions topic, with the ground-truth comparison at hand. Everything closes after the test file.
 */
export async function startObservedPipeline(options: ObservedPipelineOptions): Promise<ObservedPipeline> {
  const simulator = await startTestSimulator({
    ...options.simulator,
    seed: options.seed,
    population: { size: options.users, notImportedShare: 0 },
  });
  const users = userIds(options.users);
  const config = testConfig(
    [simulatorApp(simulator)],
    [{ name: 'all', userIds: users, intervalMs: options.intervalMs ?? 1_000 }],
    options.redisUrl,
  );
  if (options.kafkaBrokers) config.kafka.brokers = options.kafkaBrokers;
  const states = new Map(users.map((id) => [id, simulator.getUserState(id)!.state]));
  let service: Service | undefined;
  if (options.service !== false) {
    const started = await startTestService(config, options.service);
    onTeardown(() => started.stop());
    service = started;
  }
  const collector = await collectRecords(testKafka(options.kafkaBrokers), [config.kafka.topics.transitions]);
  const published = () => collector.events(config.kafka.topics.transitions);

  return {
    simulator,
    users,
    config,
    service,
    states,
    published,
    async waitForSnapshots(timeoutMs = 30_000) {
      await waitFor(() => published().length >= states.size, { timeoutMs, description: 'the snapshots' });
    },
    async waitForCalls(count, description, timeoutMs = 20_000) {
      const target = simulator.stats().calls + count;
      await waitFor(() => simulator.stats().calls >= target, { timeoutMs, description });
    },
    changeUsers(round, step) {
      return changeUsers(simulator, users, round, step);
    },
    publishedCurrentStates(userIds) {
      const events = published();
      return userIds.every((id) =>
        events.some(
          (e) => e.userId === id && e.kind === 'transition' && e.to === simulator.getUserState(id)!.state,
        ),
      );
    },
    compare: () => compareWithGroundTruth(states, simulator.changeLog(), published()),
  };
}
