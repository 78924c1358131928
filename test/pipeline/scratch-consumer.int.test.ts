import { spawn, type ChildProcess } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/main.js';
import { appKeys } from '../../src/redis/keys.js';
import { DEFAULT_SIMULATOR_APP, type Simulator } from '../../src/simulator/index.js';
import { createStateStore } from '../../src/state/state-store.js';
import { createScratchProject, typecheckReadmeExample } from '../../packages/events/test/scratch-project.js';
import { collectRecords, type EventCollector } from '../helpers/kafka-events.js';
import {
  simulatorApp,
  startTestService,
  startTestSimulator,
  testConfig,
  userIds,
} from '../helpers/pipeline.js';
import { onTeardown, testKafka, testKafkaBrokers, testRedis } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The done-when of the events package: a scratch project installs it from a packed tarball, typechecks the
 * README's consumer example, and consumes from a running pipeline with it, starting late: every transition is
 * handled once, no gap is reported, and the view it ends with equals the poller's state in Redis.
 */
const APP = DEFAULT_SIMULATOR_APP.sdkAppId;
const everyone = userIds(60);
const support = userIds(10, 50);

/** The scratch project's consumer: the package's bootstrap and follow, one JSON line per outcome on stdout. */
const CONSUMER = `
import { Kafka, logLevel } from 'kafkajs';
import { followTransitions, readStateTopic } from '@presence-poller/events';

const [brokers, stateTopic, complete, partial, group] = process.argv.slice(2);
const kafka = new Kafka({ clientId: group, brokers: brokers.split(','), logLevel: logLevel.NOTHING });
const out = (line) => process.stdout.write(JSON.stringify(line) + '\\n');
const admin = kafka.admin();
const stateReader = kafka.consumer({ groupId: group + '-bootstrap', maxWaitTimeInMs: 100 });
await Promise.all([admin.connect(), stateReader.connect()]);
const view = await readStateTopic({ consumer: stateReader, admin, topic: stateTopic });
await Promise.all([stateReader.disconnect(), admin.disconnect()]);
const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 });
await consumer.connect();
await followTransitions({
  consumer,
  view,
  completeTopics: [complete],
  partialTopics: [partial],
  onEvent: (event) => out({ type: 'event', eventId: event.eventId, kind: event.kind }),
  onGap: (gap, event) => out({ type: 'gap', eventId: event.eventId, gap }),
  onError: (error) => out({ type: 'error', code: error.code, message: error.message }),
});
out({ type: 'ready', users: view.size });
process.stdin.on('data', () =>
  out({ type: 'view', states: view.states().map((s) => [s.sdkAppId + ':' + s.userId, s.state, s.seq, s.epoch]) }),
);
process.once('SIGTERM', () => void consumer.disconnect().then(() => process.exit(0)));
`;

describe('a scratch project consuming the pipeline with the packed events package', () => {
  let scratch: string;
  let simulator: Simulator;
  let service: Service;
  let collector: EventCollector;
  let config: ReturnType<typeof testConfig>;
  let child: ChildProcess | undefined;
  const lines: Array<Record<string, unknown>> = [];
  const redis = testRedis();
  const supportTopic = () => `${config.kafka.topics.transitions}.support`;
  const keys = () => appKeys(config.redis.prefix, APP);

  beforeAll(async () => {
    ({ dir: scratch } = await createScratchProject('events-pipeline-consumer-'));
    await writeFile(join(scratch, 'consume.mjs'), CONSUMER);

    simulator = await startTestSimulator({ seed: 21, population: { size: 200, notImportedShare: 0 } });
    config = testConfig(
      [simulatorApp(simulator)],
      [
        { name: 'everyone', userIds: everyone },
        { name: 'support', userIds: support },
      ],
    );
    config.watchlists[1]!.topic = supportTopic();
    service = await startTestService(config);
    onTeardown(() => service.stop());
    collector = await collectRecords(testKafka(), [config.kafka.topics.transitions]);
    await waitFor(
      () => new Set(collector.events(config.kafka.topics.transitions).map((e) => e.userId)).size === 60,
      {
        timeoutMs: 30_000,
        description: 'a first event for every member',
      },
    );
  }, 240_000);

  afterAll(async () => {
    child?.kill('SIGTERM');
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it("typechecks the README's consumer example against the installed tarball", async () => {
    const result = await typecheckReadmeExample(scratch);
    expect(result, 'README.md has a marked consumer example').toBeDefined();
    expect(result).toBe('no errors');
  });

  it('handles every later transition once, reports no gap, and ends with the view Redis holds', async () => {
    await waitFor(async () => (await redis.xlen(keys().outbox)) === 0, {
      timeoutMs: 15_000,
      description: 'the first events published',
    });
    const args = [
      testKafkaBrokers().join(','),
      config.kafka.topics.state,
      config.kafka.topics.transitions,
      supportTopic(),
      `crm-sync-${config.redis.prefix}`,
    ];
    child = spawn(process.execPath, ['consume.mjs', ...args], {
      cwd: scratch,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    });
    const ready = await waitFor(() => lines.find((l) => l.type === 'ready'), {
      timeoutMs: 60_000,
      description: 'the scratch consumer bootstrapped',
    });
    expect(ready.users).toBe(60);
    const before = new Set(collector.events(config.kafka.topics.transitions).map((e) => e.eventId));

    // Users of both watchlists (so of the per-watchlist topic too) change twice each.
    const changing = [everyone[3]!, everyone[17]!, support[2]!, support[7]!];
    for (let round = 0; round < 2; round++) {
      for (const user of changing) {
        simulator.setUserState(user, simulator.getUserState(user)!.state === 'Online' ? 'Offline' : 'Online');
      }
      const expected = (round + 1) * changing.length;
      await waitFor(
        () =>
          collector
            .events(config.kafka.topics.transitions)
            .filter((e) => e.kind === 'transition' && !before.has(e.eventId)).length >= expected,
        { timeoutMs: 20_000, description: `round ${round + 1} of changes published` },
      );
    }
    await waitFor(async () => (await redis.xlen(keys().outbox)) === 0, { timeoutMs: 15_000 });
    const published = collector
      .events(config.kafka.topics.transitions)
      .filter((e) => !before.has(e.eventId))
      .map((e) => e.eventId);
    const handledIds = () => lines.filter((l) => l.type === 'event').map((l) => l.eventId as string);
    await waitFor(() => handledIds().length >= published.length, {
      timeoutMs: 20_000,
      description: 'the scratch consumer handling every published event',
    });
    expect(handledIds().sort()).toEqual([...new Set(published)].sort());
    expect(lines.filter((l) => l.type === 'gap' || l.type === 'error')).toEqual([]);

    const store = createStateStore(redis, keys());
    const inRedis: unknown[] = [];
    for (const user of everyone) {
      const stored = await store.readState(user);
      if (stored) inRedis.push([`${APP}:${user}`, stored.state, stored.seq, stored.epoch]);
    }
    child.stdin!.write('view\n');
    const view = await waitFor(() => lines.find((l) => l.type === 'view'), {
      timeoutMs: 10_000,
      description: 'the scratch consumer printing its view',
    });
    const sort = (rows: unknown[]) => [...rows].sort((a, b) => String(a).localeCompare(String(b)));
    expect(sort(view.states as unknown[])).toEqual(sort(inRedis));
    expect(inRedis).toHaveLength(60);
  });
});
