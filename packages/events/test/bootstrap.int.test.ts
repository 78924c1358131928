import type { Admin, Consumer, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onTeardown, testKafka, uniqueName } from '../../../test/helpers/services.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import {
  createDeduper,
  createPresenceView,
  currentStateAfter,
  decode,
  followTransitions,
  readStateTopic,
  tombstoneRecordOf,
  type CurrentState,
  type DecodeError,
  type PresenceEvent,
} from '../src/index.js';
import { sampleEvent, sampleStateRecord, transitionRecordOf } from './sample-records.js';

/**
 * A consumer that starts late against the real broker: the state topic holds the latest state per user of two
 * apps, the transitions topics hold the whole history (plus relay redeliveries), and the view built by
 * readStateTopic + followTransitions must equal the state the producer left behind, with every event handled once.
 */
const APP_A = 1400000001;
const APP_B = 1400000002;
const kafka = testKafka();
const topics = {
  transitions: uniqueName('presence.transitions'),
  vip: uniqueName('presence.vip'),
  state: uniqueName('presence.state'),
};
let admin: Admin;
let producer: Producer;

/** The producer's side: every event goes to the transitions topics given and updates the state topic. */
const truth = new Map<string, CurrentState>();
async function publish(event: PresenceEvent, eventTopics: string[] = [topics.transitions]): Promise<void> {
  const state = currentStateAfter(event);
  const key = `${event.sdkAppId}:${event.userId}`;
  if (state) truth.set(key, state);
  else truth.delete(key);
  await producer.sendBatch({
    acks: -1,
    topicMessages: [
      ...eventTopics.map((topic) => ({ topic, messages: [transitionRecordOf(event)] })),
      {
        topic: topics.state,
        messages: [state ? sampleStateRecord(event) : tombstoneRecordOf(event.sdkAppId, event.userId)],
      },
    ],
  });
}

/** Re-sends transitions records only, as a relay that lost its lease before trimming does. */
async function redeliver(events: PresenceEvent[], topic = topics.transitions): Promise<void> {
  await producer.send({ acks: -1, topic, messages: events.map(transitionRecordOf) });
}

const ev = (sdkAppId: number, userId: string, seq: number, fields: Partial<PresenceEvent> = {}) =>
  sampleEvent({ sdkAppId, userId, seq, epoch: 'mz1abc', ...fields });

async function connectedConsumer(groupId: string): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  onTeardown(() => consumer.disconnect());
  return consumer;
}

const createTopics = (options: Parameters<Admin['createTopics']>[0]) =>
  waitFor(() => admin.createTopics(options).then(() => true), {
    timeoutMs: 30_000,
    description: 'the test topics with their leaders',
  });

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
  // Right after creation a broker may still answer "does not host this topic-partition" to kafkajs's leader wait:
  // creating again is harmless (it answers false), so the setup retries until the topics have leaders.
  await createTopics({
    waitForLeaders: true,
    topics: [
      { topic: topics.transitions, numPartitions: 3 },
      { topic: topics.vip, numPartitions: 1 },
      {
        topic: topics.state,
        numPartitions: 3,
        configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
      },
    ],
  });
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
});

describe('bootstrap from the state topic, then follow the transitions (real Kafka)', () => {
  it('builds the exact current view for a consumer that starts late, handling every later event once', async () => {
    // History before the consumer exists. alice exists in both apps with the same UserID.
    const aliceA = [
      ev(APP_A, 'alice', 1, { kind: 'snapshot', from: null, to: 'Offline' }),
      ev(APP_A, 'alice', 2, { from: 'Offline', to: 'Online' }),
      ev(APP_A, 'alice', 3, { from: 'Online', to: 'PushOnline', watchlists: ['everyone', 'vip'] }),
    ];
    for (const event of aliceA) await publish(event);
    await publish(ev(APP_B, 'alice', 1, { kind: 'snapshot', from: null, to: 'Online' }));
    const bob = [
      ev(APP_A, 'bob', 1, { kind: 'snapshot', from: null, to: 'Online' }),
      ev(APP_A, 'bob', 2, { kind: 'untracked', from: 'Online', to: null, watchlists: [] }),
    ];
    for (const event of bob) await publish(event);
    // carol joins the vip list at seq 2: the vip topic carries her events from then on only.
    await publish(ev(APP_A, 'carol', 1, { kind: 'snapshot', from: null, to: 'Offline' }));
    await publish(ev(APP_A, 'carol', 2, { to: 'Online', watchlists: ['everyone', 'vip'] }), [
      topics.transitions,
      topics.vip,
    ]);
    await redeliver(aliceA.slice(1)); // a relay redelivery of alice's last two events

    // The consumer starts late: the state topic first.
    const stateErrors: DecodeError[] = [];
    const view = await readStateTopic({
      consumer: await connectedConsumer(uniqueName('crm-bootstrap')),
      admin,
      topic: topics.state,
      onError: (error) => stateErrors.push(error),
    });
    expect(stateErrors).toEqual([]);
    expect(sortStates(view.states())).toEqual(sortStates([...truth.values()]));
    expect([view.get(APP_A, 'alice')?.state, view.get(APP_B, 'alice')?.state]).toEqual([
      'PushOnline',
      'Online',
    ]);
    expect(view.get(APP_A, 'bob')).toBeUndefined();

    // Then the transitions, from the beginning: everything above is covered by the state and must be dropped.
    const handled: string[] = [];
    const gaps: string[] = [];
    const errors: DecodeError[] = [];
    const groupId = uniqueName('crm-sync');
    await followTransitions({
      consumer: await connectedConsumer(groupId),
      view,
      completeTopics: [topics.transitions],
      partialTopics: [topics.vip],
      deduper: createDeduper(),
      onEvent: (event) => void handled.push(event.eventId),
      onGap: (gap, event) => void gaps.push(`${event.userId}@${event.sdkAppId} ${gap.fromSeq}..${gap.toSeq}`),
      onError: (error) => void errors.push(error),
    });

    // Live events after the start, with a redelivery and carol's jump on the vip topic (she was out of it).
    const live = [
      ev(APP_A, 'alice', 4, { from: 'PushOnline', to: 'Offline' }),
      ev(APP_B, 'dave', 1, { kind: 'snapshot', from: null, to: 'PushOnline' }),
      ev(APP_A, 'carol', 3, { to: 'Offline', watchlists: ['everyone'] }),
      ev(APP_A, 'carol', 4, { to: 'Online', watchlists: ['everyone', 'vip'] }),
    ];
    await publish(live[0]!);
    await publish(live[1]!);
    await publish(live[2]!);
    await publish(live[3]!, [topics.transitions, topics.vip]);
    await redeliver([live[0]!]);
    // erin's seq 2 never reaches the complete topic: a real gap.
    const erin = [
      ev(APP_A, 'erin', 1, { kind: 'snapshot', from: null }),
      ev(APP_A, 'erin', 3, { from: 'Online' }),
    ];
    for (const event of erin) await publish(event);

    await waitForCommittedToEnd(groupId, [topics.transitions, topics.vip]);
    expect(errors).toEqual([]);
    expect(handled).toHaveLength(new Set(handled).size);
    // bob's tombstone carries no (epoch, seq), so his retained history is not covered: it is handled once and ends
    // with his untracked event, leaving him out of the view as the state topic said.
    expect(new Set(handled)).toEqual(new Set([...bob, ...live, ...erin].map((event) => event.eventId)));
    expect(gaps).toEqual([`erin@${APP_A} 2..2`]);
    expect(sortStates(view.states())).toEqual(sortStates([...truth.values()]));
  });

  it('reads state-topic records back with their own headers, and tombstones with only source and subject', async () => {
    const consumer = await connectedConsumer(uniqueName('header-check'));
    const seen: Array<{ headers: string[]; result: string }> = [];
    await consumer.subscribe({ topics: [topics.state], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const result = decode(message);
        seen.push({ headers: Object.keys(message.headers ?? {}).sort(), result: result.type });
      },
    });
    await waitFor(() => seen.some((r) => r.result === 'tombstone') && seen.length >= 10, {
      description: 'the state topic records',
    });
    await consumer.stop();
    expect(seen.every((r) => r.result === 'state' || r.result === 'tombstone')).toBe(true);
    expect(seen.find((r) => r.result === 'tombstone')?.headers).toEqual(['ce_source', 'ce_subject']);
    expect(seen.find((r) => r.result === 'state')?.headers).toEqual([
      'ce_dataschema',
      'ce_id',
      'ce_source',
      'ce_specversion',
      'ce_subject',
      'ce_time',
      'ce_type',
      'content-type',
    ]);
  });
});

describe('bootstrap edges (real Kafka)', () => {
  it('returns an empty view at once for an empty state topic', async () => {
    const empty = uniqueName('presence.state-empty');
    await createTopics({ waitForLeaders: true, topics: [{ topic: empty, numPartitions: 2 }] });
    const view = await readStateTopic({
      consumer: await connectedConsumer(uniqueName('bootstrap-empty')),
      admin,
      topic: empty,
    });
    expect(view.size).toBe(0);
  });

  it('retries an event whose handler failed instead of taking it as covered', async () => {
    const topic = uniqueName('presence.transitions-retry');
    await createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    const events = [1, 2].map((seq) =>
      ev(APP_A, 'frank', seq, seq === 1 ? { kind: 'snapshot', from: null } : {}),
    );
    await producer.send({ acks: -1, topic, messages: events.map(transitionRecordOf) });
    const view = createPresenceView();
    const attempts: string[] = [];
    await followTransitions({
      consumer: await connectedConsumer(uniqueName('retry')),
      view,
      completeTopics: [topic],
      onEvent: (event) => {
        attempts.push(event.eventId);
        if (attempts.length === 1) throw new Error('downstream unavailable');
      },
    });
    await waitFor(() => view.get(APP_A, 'frank')?.seq === 2, { description: "frank's second event applied" });
    expect(attempts).toEqual([events[0]!.eventId, ...events.map((event) => event.eventId)]);
  });
});

function sortStates(states: CurrentState[]): CurrentState[] {
  return [...states].sort((a, b) => `${a.sdkAppId}:${a.userId}`.localeCompare(`${b.sdkAppId}:${b.userId}`));
}

/** Waits until the group has committed every record of `topicNames`: commit happens after handling. */
async function waitForCommittedToEnd(groupId: string, topicNames: string[]): Promise<void> {
  await waitFor(
    async () => {
      for (const topic of topicNames) {
        const ends = await admin.fetchTopicOffsets(topic);
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        for (const { partition, high } of ends) {
          const offset = committed?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
          if (high !== '0' && offset !== high) return false;
        }
      }
      return true;
    },
    { timeoutMs: 60_000, description: `group ${groupId} to commit to the end of ${topicNames.join(', ')}` },
  );
}
