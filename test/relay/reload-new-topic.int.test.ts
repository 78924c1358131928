import { describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/ops/logger.js';
import { MissingTopicsError } from '../../src/relay/kafka.js';
import { collectRecords } from '../helpers/kafka-events.js';
import {
  simulatorApp,
  startTestService,
  startTestSimulator,
  testConfig,
  userIds,
} from '../helpers/pipeline.js';
import { onTeardown, testKafka, uniqueName } from '../helpers/services.js';
import { testProducerSession } from '../helpers/producer-session.js';
import { waitFor } from '../helpers/wait-for.js';

describe('relay: a watchlist with a new topic added by a reload', () => {
  it('creates the topic on first use; its events and the other watchlists’ events keep flowing', async () => {
    const simulator = await startTestSimulator({ seed: 31, population: { size: 20, notImportedShare: 0 } });
    const base = userIds(10);
    const fresh = userIds(10, 10);
    const config = testConfig([simulatorApp(simulator)], [{ name: 'base', userIds: base }]);
    const service = await startTestService(config);
    onTeardown(() => service.stop());
    const transitionsTopic = config.kafka.topics.transitions;
    const collector = await collectRecords(testKafka(), [transitionsTopic]);
    const transitions = () => collector.events(transitionsTopic);
    await waitFor(() => transitions().length >= base.length, { description: 'the base snapshots' });

    // The broker does not create topics on its own (auto.create.topics.enable=false, scripts/kafka-broker.sh).
    const freshTopic = uniqueName('reload.fresh');
    await service.applyWatchlists([
      ...config.watchlists,
      { ...config.watchlists[0]!, name: 'fresh', userIds: fresh, topic: freshTopic },
    ]);
    const admin = testKafka().admin();
    await admin.connect();
    onTeardown(() => admin.disconnect());
    await waitFor(async () => (await admin.listTopics()).includes(freshTopic), {
      timeoutMs: 30_000,
      description: `topic ${freshTopic} created by the relay`,
    });
    const freshCollector = await collectRecords(testKafka(), [freshTopic]);
    await waitFor(() => freshCollector.events(freshTopic).length >= fresh.length, {
      timeoutMs: 30_000,
      description: 'the snapshots of the new watchlist on its topic',
    });
    expect(new Set(freshCollector.events(freshTopic).map((e) => e.userId))).toEqual(new Set(fresh));

    // The other watchlist's events are not stuck behind the new topic.
    const userId = base[0]!;
    simulator.setUserState(userId, simulator.getUserState(userId)!.state === 'Online' ? 'Offline' : 'Online');
    const to = simulator.getUserState(userId)!.state;
    await waitFor(
      () => transitions().some((e) => e.userId === userId && e.kind === 'transition' && e.to === to),
      { timeoutMs: 30_000, description: 'a base user’s transition after the reload' },
    );
  });

  it('with topic creation off, a missing topic stops the relay’s sends with an error that names it', async () => {
    const logger = createSilentLogger();
    const known = uniqueName('reload.known');
    const missing = uniqueName('reload.missing');
    const admin = testKafka().admin();
    await admin.connect();
    onTeardown(() => admin.disconnect());
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: known, numPartitions: 1 }] });
    const session = testProducerSession('missing', {
      initialTopics: [{ topic: known, numPartitions: 1, replicationFactor: 1 }],
      createTopics: false,
      logger,
    });
    expect(await session.tryConnect()).toBe(true);
    await expect(session.ensureTopics([known, missing])).rejects.toThrow(new MissingTopicsError([missing]));
    expect(await admin.listTopics()).not.toContain(missing);
  });
});
