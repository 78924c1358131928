import { describe, expect, it } from 'vitest';
import { createOutboxRelay } from '../../src/relay/outbox-relay.js';
import { appKeys } from '../../src/redis/keys.js';
import { collectRecords } from '../helpers/kafka-events.js';
import { testRelayDeps } from '../helpers/relay.js';
import { onTeardown, testKafka, testRedis, uniqueName } from '../helpers/services.js';
import { connectedRelaySession } from '../helpers/producer-session.js';
import { waitFor } from '../helpers/wait-for.js';

const SDK_APP_ID = 1400000000;
const USERS = 40;
const ROUNDS = 6;
const PER_ROUND = 700;

describe('the relay draining a growing outbox', () => {
  it('publishes every entry once, each user in seq order, while entries keep arriving during reads ahead', async () => {
    const keys = appKeys(uniqueName('drain'), SDK_APP_ID);
    const redis = testRedis();
    await redis.hset(keys.watchlistIds, { 1: JSON.stringify({ name: 'all' }) });
    const { session, topic, state } = await connectedRelaySession('drain', 3);
    const collector = await collectRecords(testKafka(), [topic, state]);

    const seqs = new Map<string, number>();
    const appendRound = async () => {
      const pipeline = redis.pipeline();
      for (let i = 0; i < PER_ROUND; i++) {
        const user = `u${i % USERS}`;
        const seq = (seqs.get(user) ?? 0) + 1;
        seqs.set(user, seq);
        const at = 1_764_000_000_000 + seq * 1_000;
        pipeline.xadd(
          keys.outbox,
          '*',
          ...['u', user, 'k', 'transition', 'f', seq % 2 ? 'F' : 'N'],
          ...[
            't',
            seq % 2 ? 'N' : 'F',
            's',
            String(seq),
            'o',
            String(at),
            'p',
            String(at - 1_000),
            'w',
            '1',
            'd',
            '',
            'e',
            'epoch1',
          ],
        );
      }
      await pipeline.exec();
    };
    await appendRound();

    const relay = createOutboxRelay(
      testRelayDeps(keys, session),
      // Small requests: every read of 1,000 entries is several requests of one transaction.
      { sdkAppId: SDK_APP_ID, transitionsTopic: topic, stateTopic: state, maxBatchBytes: 64 * 1024 },
    );
    void relay.run();
    onTeardown(() => relay.stop());

    // Each further round lands while the relay is between reads, or reading ahead.
    const published = async () => Number((await redis.hget(keys.relayState, 'published')) ?? 0);
    for (let round = 1; round < ROUNDS; round++) {
      const before = await published();
      await waitFor(async () => (await published()) > before, {
        description: `progress before round ${round}`,
      });
      await appendRound();
    }
    const total = ROUNDS * PER_ROUND;
    await waitFor(async () => (await published()) === total, {
      timeoutMs: 60_000,
      description: 'all published',
    });
    await waitFor(() => collector.events(topic).length >= total && collector.events(state).length >= total, {
      timeoutMs: 30_000,
      description: 'every event and every state record consumed',
    });

    expect(await redis.xlen(keys.outbox)).toBe(0);
    const byUser = new Map<string, number[]>();
    for (const event of collector.events(topic))
      byUser.set(event.userId, [...(byUser.get(event.userId) ?? []), event.seq]);
    expect(byUser.size).toBe(USERS);
    for (const [user, received] of byUser) {
      // Once each, in order: 1, 2, ..., the user's last seq.
      expect(received).toEqual(Array.from({ length: seqs.get(user)! }, (_, i) => i + 1));
    }
    expect(collector.events(state)).toHaveLength(total);
  });
});
