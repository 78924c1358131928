import type { AppKeys } from '../../src/redis/keys.js';
import { createFlowEvents } from '../../src/ops/flow-events.js';
import { createSilentLogger } from '../../src/ops/logger.js';
import type { RelayDeps } from '../../src/relay/outbox-relay.js';
import type { ProducerSession } from '../../src/relay/producer-session.js';
import { createWatchlistRegistry } from '../../src/state/watchlist-registry.js';
import { testRedis } from './services.js';

/**
 * What a relay needs on the test services: its own command and blocking connections, the app's registry, fresh flow
 * events and a silent logger; `overrides` replaces any of them.
 */
export function testRelayDeps(
  keys: AppKeys,
  kafka: ProducerSession,
  overrides: Partial<RelayDeps> = {},
): RelayDeps {
  const redis = overrides.redis ?? testRedis();
  return {
    redis,
    blockingRedis: testRedis(),
    keys,
    registry: createWatchlistRegistry(redis, keys),
    kafka,
    events: createFlowEvents(),
    logger: createSilentLogger(),
    ...overrides,
  };
}
