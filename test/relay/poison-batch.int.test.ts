import { describe, expect, it } from 'vitest';
import { createFlowEvents } from '../../src/ops/flow-events.js';
import { createSilentLogger } from '../../src/ops/logger.js';
import { runCli } from '../../src/cli/program.js';
import { listDeadLetters } from '../../src/relay/dead-letters.js';
import { DEFAULT_SIMULATOR_APP } from '../../src/simulator/index.js';
import { captureIo } from '../cli/capture-io.js';
import { writeConfigDir } from '../cli/config-dir.js';
import { createOutboxRelay } from '../../src/relay/outbox-relay.js';
import { appKeys } from '../../src/redis/keys.js';
import { createWatchlistRegistry } from '../../src/state/watchlist-registry.js';
import { collectRecords } from '../helpers/kafka-events.js';
import { onTeardown, testKafka, testRedis, uniqueName } from '../helpers/services.js';
import { testProducerSession } from '../helpers/producer-session.js';
import { transitionFields } from '../helpers/outbox-entries.js';
import { waitFor } from '../helpers/wait-for.js';

const SDK_APP_ID = 1400000000;
/** Small enough that a few ordinary events exceed it together, large enough for one of them alone. */
const TOPIC_MAX_MESSAGE_BYTES = 4_096;

/** An outbox entry as the diff script writes it (events/lua/include/outbox-entry.lua). */

describe('relay: no poison batch', () => {
  it('splits batches Kafka refuses as too large and dead-letters the one event too large alone', async () => {
    const redis = testRedis();
    const blockingRedis = testRedis();
    // The dead-letters command reads the same Redis prefix from a config directory.
    const configDir = writeConfigDir('http://127.0.0.1:1', { vip: 'name: vip\nusers: [alice]\n' });
    const keys = appKeys(configDir.prefix, SDK_APP_ID);
    const cli = async (...args: string[]) => {
      const io = captureIo({ TENCENT_IM_SECRET_KEY: DEFAULT_SIMULATOR_APP.secretKey });
      expect(await runCli(['dead-letters', ...args, '--config', configDir.configPath], io)).toBe(0);
      return io.out();
    };
    const transitions = uniqueName('poison.transitions');
    const state = uniqueName('poison.state');

    // Topics whose max.message.bytes lets one ordinary event through but not a batch of them.
    const admin = testKafka().admin();
    await admin.connect();
    onTeardown(() => admin.disconnect());
    const maxBytes = { name: 'max.message.bytes', value: String(TOPIC_MAX_MESSAGE_BYTES) };
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: transitions, numPartitions: 1, replicationFactor: 1, configEntries: [maxBytes] },
        {
          topic: state,
          numPartitions: 1,
          replicationFactor: 1,
          configEntries: [maxBytes, { name: 'cleanup.policy', value: 'compact' }],
        },
      ],
    });

    // Watchlist 1 has a short name; watchlist 2's name alone makes an event larger than the topic accepts.
    await redis.hset(keys.watchlistIds, {
      1: JSON.stringify({ name: 'all' }),
      2: JSON.stringify({ name: 'x'.repeat(2 * TOPIC_MAX_MESSAGE_BYTES) }),
    });
    const users = ['alice', 'bob', 'carol'];
    const poison = { userId: 'bob', seq: 3 };
    for (let seq = 1; seq <= 10; seq++) {
      for (const userId of users) {
        const watchlistId = userId === poison.userId && seq === poison.seq ? 2 : 1;
        await redis.xadd(keys.outbox, '*', ...transitionFields(userId, seq, watchlistId));
      }
    }

    const events = createFlowEvents();
    const logger = createSilentLogger();
    const session = testProducerSession('poison', { createTopics: false, events, logger });
    let deadLettered = 0;
    events.on('eventDeadLettered', () => (deadLettered += 1));
    const relay = createOutboxRelay(
      {
        redis,
        blockingRedis,
        keys,
        registry: createWatchlistRegistry(redis, keys),
        kafka: session,
        events,
        logger,
      },
      { sdkAppId: SDK_APP_ID, transitionsTopic: transitions, stateTopic: state, maxBackoffMs: 200 },
    );
    void relay.run();
    onTeardown(() => relay.stop());

    const collector = await collectRecords(testKafka(), [transitions]);
    const expected = users.length * 10 - 1;
    await waitFor(() => collector.events(transitions).length >= expected && deadLettered === 1, {
      timeoutMs: 60_000,
      description: `${expected} events published and one dead-lettered`,
    });

    const published = collector.events(transitions);
    expect(published).toHaveLength(expected);
    for (const userId of users) {
      const seqs = published.filter((e) => e.userId === userId).map((e) => e.seq);
      const all = Array.from({ length: 10 }, (_, i) => i + 1);
      // Every user's events in seq order; bob's seq 3 is the gap consumers can detect.
      expect(seqs).toEqual(userId === poison.userId ? all.filter((s) => s !== poison.seq) : all);
    }
    const poisonEventId = `${SDK_APP_ID}:${poison.userId}:epoch1:${poison.seq}`;
    const letters = await listDeadLetters(redis, keys);
    expect(letters.map((l) => l.eventId)).toEqual([poisonEventId]);
    expect(letters[0]!.reason).toMatch(/too large/);
    await waitFor(async () => (await redis.xlen(keys.outbox)) === 0, { description: 'the outbox trimmed' });
    expect(await cli('list')).toContain(
      `${letters[0]!.id}  ${poisonEventId}  Kafka refused the record as too large`,
    );

    // Replay puts the entry back in the outbox with its fields; still too large, it returns to the dead letters.
    expect(await cli('replay')).toContain('app demo: 1 dead letter back in the outbox');
    await waitFor(() => deadLettered === 2, { description: 'the replayed event dead-lettered again' });
    const again = await listDeadLetters(redis, keys);
    expect(again.map((l) => l.eventId)).toEqual([poisonEventId]);
    expect(await redis.xlen(keys.outbox)).toBe(0);
  });
});
