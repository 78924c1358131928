import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/ops/logger.js';
import type { FlowEventMap } from '../../src/ops/flow-events.js';
import { compareWithGroundTruth } from '../helpers/ground-truth.js';
import { captureLogLines } from '../ops/log-lines.js';
import { collectRecords } from '../helpers/kafka-events.js';
import { startKafkaBroker } from '../helpers/kafka-broker.js';
import {
  simulatorApp,
  startTestService,
  startTestSimulator,
  testConfig,
  userIds,
} from '../helpers/pipeline.js';
import { onTeardown, testKafka } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

describe('starting with Kafka down', () => {
  it('starts every role, polls into the outbox, warns when it grows, and delivers every event in order once Kafka is up', async () => {
    const broker = await startKafkaBroker();
    onTeardown(() => broker.destroy());
    await broker.stop();

    const simulator = await startTestSimulator({ seed: 41, population: { size: 200, notImportedShare: 0 } });
    const users = userIds(200);
    const config = testConfig([simulatorApp(simulator)], [{ name: 'all', userIds: users }]);
    config.kafka.brokers = broker.brokers;
    config.redis.outboxWarnEntries = 100;
    const states = new Map(users.map((id) => [id, simulator.getUserState(id)!.state]));

    // Before: `run` with the relay role failed to start (exit 4) while Kafka was unreachable.
    const capture = captureLogLines();
    const service = await startTestService(config, {
      logger: createLogger({ level: 'info', destination: capture.stream }),
    });
    onTeardown(() => service.stop());
    const warnings: Array<FlowEventMap['outboxOverWarnLevel']> = [];
    service.events.on('outboxOverWarnLevel', (warning) => warnings.push(warning));
    const { redis, keys } = service.apps[0]!;
    let relayLoops = 0;
    service.events.on('relayLoop', () => (relayLoops += 1));

    // It polls: the snapshots wait in the outbox, then changes made during the outage join them.
    await waitFor(async () => (await redis.xlen(keys.outbox)) >= users.length, {
      timeoutMs: 30_000,
      description: 'the snapshots in the outbox while Kafka is down',
    });
    const changed = users.filter((_, i) => i % 5 === 0);
    for (const id of changed)
      simulator.setUserState(id, simulator.getUserState(id)!.state === 'Online' ? 'Offline' : 'Online');
    await waitFor(async () => (await redis.xlen(keys.outbox)) >= users.length + changed.length, {
      timeoutMs: 30_000,
      description: 'the changes in the outbox while Kafka is down',
    });
    await waitFor(() => warnings.length > 0, { timeoutMs: 30_000, description: 'the outbox growth warning' });
    expect(warnings[0]!.entries).toBeGreaterThan(100);
    // The relay reports that it is alive while it waits for Kafka (readiness must not fail for a Kafka outage).
    const loopsSoFar = relayLoops;
    await waitFor(() => relayLoops >= loopsSoFar + 3, {
      timeoutMs: 30_000,
      description: 'relayLoop events while Kafka is down',
    });

    await broker.start();
    // The relay creates the topics once it reaches Kafka; the consumer subscribes after that.
    const admin = testKafka(broker.brokers).admin();
    await admin.connect();
    onTeardown(() => admin.disconnect());
    await waitFor(async () => (await admin.listTopics()).includes(config.kafka.topics.transitions), {
      timeoutMs: 60_000,
      description: 'the relay connected and created its topics',
    });
    const collector = await collectRecords(testKafka(broker.brokers), [config.kafka.topics.transitions]);
    const published = () => collector.events(config.kafka.topics.transitions);
    await waitFor(() => published().length >= users.length + changed.length, {
      timeoutMs: 90_000,
      description: 'every event published once Kafka is up',
    });
    await waitFor(async () => (await redis.xlen(keys.outbox)) === 0, { description: 'the outbox drained' });

    // The outage is a start line and an end line (no summary: shorter than the default minute), not one per retry.
    const kafkaLines = (state: string) =>
      capture.lines().filter((line) => line.dependency === 'kafka' && line.outage === state);
    await waitFor(() => kafkaLines('ended').length > 0, { description: 'the Kafka outage end line' });
    expect(kafkaLines('started')).toHaveLength(1);
    expect(kafkaLines('ended')).toHaveLength(1);

    const report = compareWithGroundTruth(states, simulator.changeLog(), published());
    expect(report.mismatches).toEqual([]);
    expect(report.outOfOrder).toEqual([]);
    expect(report.compared).toBe(users.length + changed.length);
  }, 180_000);
});
