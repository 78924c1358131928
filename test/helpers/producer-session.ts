import { createFlowEvents } from '../../src/ops/flow-events.js';
import { createSilentLogger } from '../../src/ops/logger.js';
import { createOutageLog } from '../../src/ops/outage-log.js';
import { createKafka } from '../../src/relay/kafka.js';
import {
  createProducerSession,
  type ProducerSession,
  type ProducerSessionOptions,
} from '../../src/relay/producer-session.js';
import { onTeardown, testKafkaBrokers, uniqueName } from './services.js';

/**
 * A relay's producer session on the test broker, closed after the test file: topics of `partitions` partitions,
 * no compression, a silent logger. `clientId` names the client (made unique); the rest overrides the defaults.
 */
export function testProducerSession(
  clientId: string,
  options: Partial<Omit<ProducerSessionOptions, 'kafka'>> & { partitions?: number } = {},
): ProducerSession {
  const { partitions = 1, ...overrides } = options;
  const logger = overrides.logger ?? createSilentLogger();
  const session = createProducerSession({
    kafka: createKafka({ brokers: testKafkaBrokers(), clientId: uniqueName(clientId) }, logger),
    initialTopics: [],
    specOf: (topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 }),
    createTopics: true,
    compression: 'none',
    events: createFlowEvents(),
    outage: createOutageLog({ logger, dependency: 'kafka' }),
    ...overrides,
    logger,
  });
  onTeardown(() => session.close());
  return session;
}

/**
 * A fenced relay session connected to the test broker, with its own transitions and (compacted) state topics of
 * `partitions` partitions, named after `label`. Throws when the broker cannot be reached.
 */
export async function connectedRelaySession(
  label: string,
  partitions = 1,
): Promise<{ session: ProducerSession; topic: string; state: string }> {
  const topic = uniqueName(`${label}.transitions`);
  const state = uniqueName(`${label}.state`);
  const session = testProducerSession(label, {
    partitions,
    initialTopics: [
      { topic, numPartitions: partitions, replicationFactor: 1 },
      { topic: state, numPartitions: partitions, replicationFactor: 1, cleanupPolicy: 'compact' },
    ],
    transactionalId: uniqueName(`${label}-relay`),
  });
  if (!(await session.tryConnect()))
    throw new Error(`relay session ${label}: the test broker is not reachable`);
  return { session, topic, state };
}
