/**
 * One worker of the chaos run (bench/chaos-run.ts): the service with every default role (scheduler, poller, relay),
 * started from the JSON config in argv[2] with the short locks the reliability tests use
 * (test/helpers/worker-process.ts), so a SIGKILLed worker's chunks are taken over within seconds.
 * Prints `ready` once running. SIGHUP re-reads the config file and applies its watchlists, as `run` does on a hot
 * reload; SIGTERM stops gracefully.
 */
import { readFileSync } from 'node:fs';
import type { LoadedConfig } from '../src/config/index.js';
import { DEFAULT_ROLES, startService, type Service } from '../src/main.js';
import { createLogger } from '../src/ops/logger.js';
import { createMetrics } from '../src/ops/metrics.js';

const configFile = process.argv[2] ?? '';
const readConfig = () => JSON.parse(readFileSync(configFile, 'utf8')) as LoadedConfig;
const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });

// Installed before the service starts: a SIGHUP that arrives while starting would otherwise end the process.
const running: { service?: Service } = {};
let reloadPending = false;
const reload = async () => {
  if (!running.service) {
    reloadPending = true;
    return;
  }
  try {
    await running.service.applyWatchlists(readConfig().watchlists);
    process.stdout.write('reloaded\n');
  } catch (error) {
    logger.error({ err: error }, 'chaos worker: reload failed');
  }
};
process.on('SIGHUP', () => void reload());
// Tells the harness a SIGHUP is safe from now on.
process.stdout.write('starting\n');

const service = await startService(readConfig(), {
  roles: DEFAULT_ROLES,
  logger,
  metrics: createMetrics(),
  lockDurationMs: 4_000,
  stalledIntervalMs: 1_000,
  watchdogIntervalMs: 1_000,
  lossCheckIntervalMs: 1_000,
});
running.service = service;
process.stdout.write('ready\n');
// The config file may have changed while the service was starting (a reload raced the start).
if (reloadPending) await reload();
process.once('SIGTERM', () => {
  void service.stop().then(() => process.exit(0));
});
