/** Loading the configuration and reaching Redis the way every command does it, with the documented exit codes. */
import { ConfigError, formatIssues, loadConfig, type LoadConfigResult } from '../config/index.js';
import { registerSecret } from '../ops/redact.js';
import { createRedisClient, type RedisClient, type RedisTarget } from '../redis/client.js';
import { CliError, displayUrl } from './errors.js';
import { EXIT_CODES } from './exit-codes.js';
import type { CliIo } from './io.js';

/**
 * Loads the configuration; prints warnings to stderr; registers every secret for redaction. An invalid
 * configuration becomes a `CliError` (exit 3) carrying every issue as `file:line:col  field  message`.
 */
export async function loadCliConfig(configPath: string, io: CliIo): Promise<LoadConfigResult> {
  let result: LoadConfigResult;
  try {
    result = await loadConfig({ configPath, env: io.env, cwd: io.cwd });
  } catch (error) {
    if (error instanceof ConfigError) {
      const errors = error.errors.length;
      throw new CliError(
        `invalid configuration (${errors} error${errors === 1 ? '' : 's'}):\n${formatIssues(error.issues)}`,
        EXIT_CODES.config,
        { cause: error },
      );
    }
    throw error;
  }
  for (const app of result.config.apps) registerSecret(app.secretKey);
  if (result.config.kafka.sasl) registerSecret(result.config.kafka.sasl.password);
  if (result.warnings.length > 0) io.stderr(`${formatIssues(result.warnings)}\n`);
  return result;
}

/**
 * A Redis connection for a one-off command or the service's start: fails fast (exit 4) instead of retrying forever
 * when Redis is down, and bounds the connect and the first answer together (a server that accepts TCP but never
 * answers would otherwise hang the start without a word). On a cluster, connected means the slots are known. The
 * caller quits it.
 */
export async function connectRedis(target: RedisTarget, timeoutMs = 5_000): Promise<RedisClient> {
  const redis = createRedisClient(
    target,
    {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
      connectionName: 'presence-cli',
    },
    { lazyConnect: true, clusterRetryStrategy: () => null },
  );
  redis.on('error', () => undefined); // surfaced by connect() below
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${timeoutMs} ms (connect and PING)`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([redis.connect().then(() => redis.ping()), late]);
    return redis;
  } catch (error) {
    redis.disconnect();
    const where = target.cluster
      ? `the Redis Cluster (seeds ${target.cluster.nodes.map(displayUrl).join(', ')})`
      : displayUrl(target.url);
    throw new CliError(
      `cannot reach Redis at ${where}: ${(error as Error).message}`,
      EXIT_CODES.unavailable,
      {
        cause: error,
      },
    );
  } finally {
    clearTimeout(timer);
  }
}
