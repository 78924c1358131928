/**
 * A real worker process for the multi-process and crash tests: starts the service from the JSON config in the
 * file PRESENCE_TEST_CONFIG_FILE (roles in PRESENCE_TEST_ROLES), prints `ready` once running, stops on SIGTERM.
 *   spawn('npx', ['tsx', 'test/helpers/worker-process.ts'], { env: {...} })
 */
import { readFileSync } from 'node:fs';
import type { LoadedConfig } from '../../src/config/index.js';
import { startService, type Role } from '../../src/main.js';
import { createLogger } from '../../src/ops/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';

const config = JSON.parse(readFileSync(process.env.PRESENCE_TEST_CONFIG_FILE ?? '', 'utf8')) as LoadedConfig;
const roles = (process.env.PRESENCE_TEST_ROLES ?? 'poller').split(',') as Role[];
const service = await startService(config, {
  roles,
  logger: createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }),
  metrics: createMetrics(),
  // PRESENCE_TEST_STALL=derived: the service's own stall settings (from the shortest interval), as in production.
  ...(process.env.PRESENCE_TEST_STALL === 'derived'
    ? {}
    : { lockDurationMs: 4_000, stalledIntervalMs: 1_000 }),
  watchdogIntervalMs: 1_000,
  pollConcurrency: Number(process.env.PRESENCE_TEST_CONCURRENCY ?? 64),
  ...(process.env.PRESENCE_TEST_RELAY_LEASE_MS
    ? { relayLeaseMs: Number(process.env.PRESENCE_TEST_RELAY_LEASE_MS) }
    : {}),
});
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void service.stop().then(() => process.exit(0));
});
