/**
 * `run`: the service. Loads and checks the configuration, starts the roles, serves /metrics /healthz /readyz,
 * reloads watchlists on file changes and SIGHUP, and stops gracefully on SIGTERM / SIGINT.
 */
import { Option, type Command } from 'commander';
import type { LoadedConfig } from '../config/index.js';
import { ALL_ROLES, DEFAULT_ROLES, startService, type Role, type Service } from '../main.js';
import { startOpsServer, type OpsServer, type Readiness } from '../ops/http-server.js';
import { routeProcessWarnings, type Logger } from '../ops/logger.js';
import { createMetrics, type Metrics } from '../ops/metrics.js';
import { isCluster, type RedisClient } from '../redis/client.js';
import {
  judgeDurability,
  judgeReplication,
  readDurabilitySettings,
  readReplication,
  type DurabilityFinding,
} from '../redis/durability.js';
import { tencentErrorLabels } from '../tencent/index.js';
import { createConfigReloader, type ConfigReloader } from '../config/reload.js';
import { DEFAULT_SHUTDOWN_OPTIONS, installShutdown } from '../ops/shutdown.js';
import { CliError } from './errors.js';
import { EXIT_CODES, type ExitCode } from './exit-codes.js';
import type { CliContext } from './context.js';
import type { CliIo } from './io.js';
import { connectRedis, loadCliConfig } from './load.js';
import { createCliLogger } from './logging.js';
import { configOption, parseDurationOption, parseRoles } from './options.js';
import { readStatus } from '../roles/status.js';

interface RunOptions {
  config: string;
  roles: Role[];
  preflight: boolean;
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
    .option(
      '--no-preflight',
      'skip the start-up call per app that refuses to start (exit 3) when Tencent rejects the credentials',
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
  routeProcessWarnings(logger);
  const metrics = createMetrics({ defaultMetrics: true, errorLabels: tencentErrorLabels() });
  // Signals first, before anything can block: a SIGTERM while Redis or Tencent keeps the start waiting stops what
  // has started so far and exits 0, instead of the default 143.
  const started: Partial<{ opsServer: OpsServer; service: Service; reloader: ConfigReloader }> = {};
  const shutdown = installShutdown({
    logger,
    deadlineMs: options.shutdownTimeout,
    steps: [
      { name: 'ops server', run: async () => started.opsServer?.close() },
      { name: 'config reloader', run: async () => started.reloader?.close() },
      { name: 'service', run: async () => started.service?.stop() },
    ],
  });
  const startup = startRun(config, options, io, logger, metrics, started);
  const outcome = await Promise.race([
    startup.then(() => 'started' as const),
    shutdown.done.then(() => 'stopped' as const),
  ]).catch(async (error: unknown) => {
    // Close what did start, quietly: the error itself is the one line the operator needs.
    shutdown.dispose();
    await started.reloader?.close().catch(() => undefined);
    await started.service?.stop().catch(() => undefined);
    await started.opsServer?.close().catch(() => undefined);
    throw error;
  });
  if (outcome === 'stopped') startup.catch(() => undefined); // whatever it was still waiting for no longer matters
  const code = await shutdown.done;
  shutdown.dispose();
  return code === 0 ? EXIT_CODES.ok : EXIT_CODES.failure;
}

/**
 * The start, in the order that reports configuration problems before anything starts: bind the ops port (a port in
 * use or a host that is not this machine's is exit 3), reach Redis within a bound and check its durability
 * settings, then the roles (with the per-app preflight) and the reloader. What started is put in `started` at once,
 * so a signal in the middle stops exactly that.
 */
async function startRun(
  config: LoadedConfig,
  options: RunOptions,
  io: CliIo,
  logger: Logger,
  metrics: Metrics,
  started: Partial<{ opsServer: OpsServer; service: Service; reloader: ConfigReloader }>,
): Promise<void> {
  started.opsServer = await bindOpsServer(config, options.config, metrics, logger, {
    readiness: () =>
      started.service
        ? // From memory: the probe must answer while a dependency hangs (roles/health.ts).
          started.service.health.readiness()
        : { ready: false, checks: { startup: { ok: false, reason: 'starting' } } },
    status: async () => {
      if (!started.service) throw new Error('the service is starting');
      return readStatus(config, started.service.apps[0]!.redis);
    },
  });
  const opsServer = started.opsServer;
  logger.info({ http: opsServer.url, listening: opsServer.address }, `starting: ops on ${opsServer.address}`);

  // Bounded (connect and first answer), exit 4: ioredis inside the service would retry forever without a word.
  const redis = await connectRedis(config.redis);
  try {
    await checkRedisDurability(redis, config.redis, logger);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }

  started.service = await startService(config, {
    roles: options.roles,
    logger,
    metrics,
    preflight: options.preflight,
  });
  const service = started.service;
  started.reloader = createConfigReloader({
    configPath: options.config,
    cwd: io.cwd,
    env: io.env,
    running: config,
    service,
    logger,
    events: service.events,
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
      listening: opsServer.address,
      ...(service.webhookUrl ? { webhook: service.webhookUrl } : {}),
    },
    `presence-poller running: ${config.apps.length} app(s), ${config.watchlists.length} watchlist(s) with ` +
      `${users} user(s), roles ${options.roles.join(',')}, ops listening on ${opsServer.address}`,
  );
  // The members live in Redis once synced (and a reload reads the files again): a million resolved IDs kept
  // here would only hold tens of MB of heap for the life of the process.
  for (const list of config.watchlists) list.userIds = [];
}

/** Binds the ops server; a port in use or an address this host cannot listen on is a configuration error. */
async function bindOpsServer(
  config: LoadedConfig,
  configPath: string,
  metrics: Metrics,
  logger: Logger,
  answers: { readiness: () => Readiness; status: () => Promise<unknown> },
): Promise<OpsServer> {
  const { host, port } = config.http;
  try {
    return await startOpsServer({
      host,
      port,
      registry: metrics.registry,
      readiness: async () => answers.readiness(),
      status: answers.status,
      logger,
    });
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    const why =
      errno === 'EADDRINUSE'
        ? `http.port ${port} is already in use on ${host}`
        : errno === 'EACCES'
          ? `no permission to listen on http.port ${port}`
          : `cannot listen on http.host ${host} port ${port} (${errno ?? (error as Error).message}); use an address of this host, e.g. 0.0.0.0`;
    throw new CliError(`${configPath}: ${why}`, EXIT_CODES.config, { cause: error });
  }
}

/**
 * Refuses to start where events could be lost silently (eviction on) or where the relay could never publish
 * (`waitForReplicas` with WAIT refused), warns where a Redis crash could lose recent writes or a master has fewer
 * replicas in sync than `waitForReplicas`. `skipDurabilityCheck` is for managed Redis that hides CONFIG: then a
 * refused CONFIG GET and every finding are warnings.
 */
async function checkRedisDurability(
  redis: RedisClient,
  { skipDurabilityCheck: skip, waitForReplicas }: { skipDurabilityCheck: boolean; waitForReplicas: number },
  logger: Logger,
): Promise<void> {
  let servers;
  try {
    servers = await readDurabilitySettings(redis);
  } catch (error) {
    if (skip) {
      logger.warn(
        { err: error },
        'cannot read the Redis durability settings (CONFIG GET refused); continuing because redis.skipDurabilityCheck is set',
      );
      return;
    }
    throw new CliError(
      `cannot read the Redis durability settings (CONFIG GET: ${(error as Error).message}); if the Redis service ` +
        'hides CONFIG, make sure it runs with maxmemory-policy noeviction and appendfsync always, then set ' +
        'redis.skipDurabilityCheck: true (or PRESENCE__REDIS__SKIPDURABILITYCHECK=true)',
      EXIT_CODES.config,
      { cause: error },
    );
  }
  // On a cluster every node is judged and named: one node without AOF loses the data of the apps it holds.
  const named = (server: string, found: DurabilityFinding[]) =>
    found.map((finding) => ({
      ...finding,
      server,
      message: isCluster(redis) ? `Redis Cluster node ${server}: ${finding.message}` : finding.message,
    }));
  const replication = waitForReplicas > 0 ? await readReplication(redis) : [];
  const findings = [
    ...servers.flatMap(({ server, settings }) => named(server, judgeDurability(settings))),
    ...replication.flatMap((node) => named(node.server, judgeReplication(node, waitForReplicas))),
  ];
  for (const finding of findings) {
    if (finding.severity === 'warn' || skip) {
      logger.warn(
        { setting: finding.setting, value: finding.value, server: finding.server },
        finding.message,
      );
    }
  }
  const refusals = findings.filter((finding) => finding.severity === 'refuse');
  if (refusals.length > 0 && !skip) {
    throw new CliError(
      `${refusals.map((finding) => finding.message).join('; ')} (redis.skipDurabilityCheck: true overrides this)`,
      EXIT_CODES.config,
    );
  }
}
