/**
 * `run`: the service. Loads and checks the configuration, starts the roles, serves /metrics /healthz /readyz,
 * reloads watchlists on file changes and SIGHUP, and stops gracefully on SIGTERM / SIGINT.
 */
import { Option, type Command } from 'commander';
import { ALL_ROLES, DEFAULT_ROLES, startService, type Role } from '../main.js';
import { startOpsServer } from '../ops/http-server.js';
import { createMetrics } from '../ops/metrics.js';
import { tencentErrorLabels } from '../tencent/index.js';
import { createConfigReloader } from '../config/reload.js';
import { DEFAULT_SHUTDOWN_OPTIONS, installShutdown } from '../ops/shutdown.js';
import { EXIT_CODES, type ExitCode } from './exit-codes.js';
import type { CliContext } from './context.js';
import { connectRedis, loadCliConfig } from './load.js';
import { createCliLogger } from './logging.js';
import { configOption, parseDurationOption, parseRoles } from './options.js';
import { createReadinessProbe } from './readiness.js';
import { readStatus } from '../roles/status.js';

interface RunOptions {
  config: string;
  roles: Role[];
  shutdownTimeout: number;
}

export function registerRunCommand(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('run the service: poll, diff, publish to Kafka; /metrics, /healthz, /readyz; hot reload')
    .addOption(configOption())
    .addOption(
      new Option('--roles <list>', `comma-separated subset of ${ALL_ROLES.join(',')}`)
        .argParser(parseRoles)
        .default([...DEFAULT_ROLES], DEFAULT_ROLES.join(',')),
    )
    .addOption(
      new Option('--shutdown-timeout <duration>', 'deadline for a graceful stop after SIGTERM/SIGINT')
        .argParser(parseDurationOption)
        .default(DEFAULT_SHUTDOWN_OPTIONS.deadlineMs, '25s'),
    )
    .addHelpText(
      'after',
      '\nSignals: SIGTERM/SIGINT stop gracefully (a second one exits at once); SIGHUP reloads the watchlists,\n' +
        'as does any change to presence.yaml, the watchlist directory or a user file.',
    )
    .action(async (options: RunOptions) => {
      ctx.exitCode = await runService(options, ctx);
    });
}

async function runService(options: RunOptions, { io }: CliContext): Promise<ExitCode> {
  const { config } = await loadCliConfig(options.config, io);
  const logger = createCliLogger(io, { configured: config.logLevel });
  const metrics = createMetrics({ defaultMetrics: true, errorLabels: tencentErrorLabels() });
  // Fail fast with exit 4 rather than let ioredis retry forever inside the service.
  const preflight = await connectRedis(config.redis.url);
  await preflight.quit();

  const service = await startService(config, { roles: options.roles, logger, metrics });
  const probe = createReadinessProbe({ config, service, roles: options.roles, logger });
  let server;
  try {
    server = await startOpsServer({
      host: config.http.host,
      port: config.http.port,
      registry: metrics.registry,
      readiness: () => probe.check(),
      status: () => readStatus(config, service.apps[0]!.redis),
      logger,
    });
  } catch (error) {
    await Promise.allSettled([probe.close(), service.stop()]);
    throw error;
  }
  const reloader = createConfigReloader({
    configPath: options.config,
    cwd: io.cwd,
    env: io.env,
    running: config,
    service,
    logger,
    events: service.events,
  });
  const opsServer = server;
  const shutdown = installShutdown({
    logger,
    deadlineMs: options.shutdownTimeout,
    steps: [
      { name: 'ops server', run: () => opsServer.close() },
      { name: 'config reloader', run: () => reloader.close() },
      { name: 'readiness probe', run: () => probe.close() },
      { name: 'service', run: () => service.stop() },
    ],
  });

  const users = config.watchlists.reduce((sum, list) => sum + list.userIds.length, 0);
  logger.info(
    {
      apps: config.apps.map((app) => ({ name: app.name, sdkAppId: app.sdkAppId, endpoint: app.endpoint })),
      watchlists: config.watchlists.map((list) => ({
        name: list.name,
        app: list.app,
        users: list.userIds.length,
        intervalMs: list.intervalMs,
      })),
      roles: options.roles,
      http: opsServer.url,
      ...(service.webhookUrl ? { webhook: service.webhookUrl } : {}),
    },
    `presence-poller running: ${config.apps.length} app(s), ${config.watchlists.length} watchlist(s) with ` +
      `${users} user(s), roles ${options.roles.join(',')}, ops on ${opsServer.url}`,
  );
  // The members live in Redis once synced (and a reload reads the files again): a million resolved IDs kept
  // here would only hold tens of MB of heap for the life of the process.
  for (const list of config.watchlists) list.userIds = [];
  const code = await shutdown.done;
  shutdown.dispose();
  return code === 0 ? EXIT_CODES.ok : EXIT_CODES.failure;
}
