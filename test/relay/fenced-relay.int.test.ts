import type { Producer, TopicMessages } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/ops/logger.js';
import { createOutboxRelay, type OutboxRelay } from '../../src/relay/outbox-relay.js';
import { type ProducerSession } from '../../src/relay/producer-session.js';
import { appKeys } from '../../src/redis/keys.js';
import { collectRecords } from '../helpers/kafka-events.js';
import { testRelayDeps } from '../helpers/relay.js';
import { onTeardown, testKafka, testRedis, uniqueName } from '../helpers/services.js';
import { testProducerSession } from '../helpers/producer-session.js';
import { appendTransition } from '../helpers/outbox-entries.js';
import { waitFor } from '../helpers/wait-for.js';

const SDK_APP_ID = 1400000000;
const LEASE_MS = 1_500;

/**
 * Two relays of one app, as two processes would run them. The first publishes, then stalls in the middle of a send
 * (its Redis connection gone, so it cannot renew its lease) until the second has taken over and published the same
 * event and a newer one; then its send resumes.
 */
async function zombieScenario(fencing: boolean) {
  const keys = appKeys(uniqueName('fence'), SDK_APP_ID);
  const topic = uniqueName('fence.transitions');
  const state = uniqueName('fence.state');
  const setup = testRedis();
  await setup.hset(keys.watchlistIds, { 1: JSON.stringify({ name: 'all' }) });
  const logger = createSilentLogger();
  const transactionalId = fencing ? uniqueName('relay') : undefined;

  const startRelay = (session: ProducerSession, redis = testRedis()): OutboxRelay => {
    const relay = createOutboxRelay(testRelayDeps(keys, session, { redis, logger }), {
      sdkAppId: SDK_APP_ID,
      transitionsTopic: topic,
      stateTopic: state,
      leaseMs: LEASE_MS,
      maxBackoffMs: 200,
    });
    void relay.run();
    onTeardown(() => relay.stop());
    return relay;
  };
  const session = () => {
    const created = testProducerSession('fence', {
      initialTopics: [
        { topic, numPartitions: 1, replicationFactor: 1 },
        { topic: state, numPartitions: 1, replicationFactor: 1, cleanupPolicy: 'compact' },
      ],
      logger,
      transactionalId,
    });
    return created;
  };

  // The old relay: its sends can be held at a gate.
  const oldSession = session();
  expect(await oldSession.tryConnect()).toBe(true); // creates the topics before the consumer subscribes
  const hold: { gate?: Promise<void> } = {};
  let openGate = () => {};
  let stalled = () => {};
  const stalledAtGate = new Promise<void>((resolve) => (stalled = resolve));
  let stalledSend: Promise<void> | undefined;
  const gated: ProducerSession = {
    ...oldSession,
    send(producer: Producer, requests: TopicMessages[][]) {
      if (!hold.gate) return oldSession.send(producer, requests);
      stalled();
      stalledSend = hold.gate.then(() => oldSession.send(producer, requests));
      return stalledSend;
    },
  };
  const oldRedis = testRedis();
  const oldRelay = startRelay(gated, oldRedis);

  const collector = await collectRecords(testKafka(), [topic]);
  const seqs = () => collector.events(topic).map((e) => e.seq);
  await appendTransition(setup, keys, 'alice', 1);
  await waitFor(() => seqs().length === 1, { description: 'event 1 published by the old relay' });
  expect(oldRelay.isLeader).toBe(true);

  // Event 2: the old relay reads it and stalls in its send; its lease runs out.
  hold.gate = new Promise<void>((resolve) => (openGate = resolve));
  await appendTransition(setup, keys, 'alice', 2);
  await stalledAtGate;
  oldRedis.disconnect();

  // The new relay takes over, publishes event 2 and a newer event 3.
  const newRelay = startRelay(session());
  await waitFor(() => newRelay.isLeader, {
    timeoutMs: 15_000,
    description: 'the new relay holding the lease',
  });
  await appendTransition(setup, keys, 'alice', 3);
  await waitFor(() => seqs().length >= 3, {
    timeoutMs: 15_000,
    description: 'events 2 and 3 from the new relay',
  });

  // The old relay resumes its send of event 2, then the new one publishes event 4.
  openGate();
  const zombieOutcome = await stalledSend!.then(
    () => 'landed',
    () => 'rejected',
  );
  await appendTransition(setup, keys, 'alice', 4);
  await waitFor(() => seqs().includes(4), { timeoutMs: 15_000, description: 'event 4' });
  return { zombieOutcome, seqs: seqs() };
}

describe('fenced relay', () => {
  it('rejects the batch of a relay that lost its lease: read_committed consumers see every event once, in order', async () => {
    const { zombieOutcome, seqs } = await zombieScenario(true);
    expect(zombieOutcome).toBe('rejected');
    expect(seqs).toEqual([1, 2, 3, 4]);
  });

  it('without fencing, the same zombie lands its old event after the newer one (what kafka.fencing: false risks)', async () => {
    const { zombieOutcome, seqs } = await zombieScenario(false);
    expect(zombieOutcome).toBe('landed');
    expect(seqs).toEqual([1, 2, 3, 2, 4]);
  });
});
