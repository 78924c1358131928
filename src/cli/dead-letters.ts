/**
 * `dead-letters list|replay`: the events Kafka refused as too large even alone, which the relay moved aside so
 * they could not block the app's other events (README "Dead letters").
 */
import type { Command } from 'commander';
import type { LoadedApp } from '../config/index.js';
import { listDeadLetters, replayDeadLetters } from '../relay/dead-letters.js';
import { configuredAppKeys, type AppKeys } from '../redis/keys.js';
import type { CliContext } from './context.js';
import { CliError } from './errors.js';
import { EXIT_CODES } from './exit-codes.js';
import { connectRedis, loadCliConfig } from './load.js';
import { configOption } from './options.js';

interface DeadLetterOptions {
  config: string;
  app?: string;
}

export function registerDeadLettersCommand(program: Command, ctx: CliContext): void {
  const command = program
    .command('dead-letters')
    .description('events Kafka refused as too large, kept aside by the relay: list them or put them back');
  command
    .command('list')
    .description('print each dead letter: its id, eventId and why Kafka refused it')
    .option('--app <name>', 'only this app (apps[].name or SDKAppID); default every app')
    .addOption(configOption())
    .action(async (options: DeadLetterOptions) => {
      await forEachApp(ctx, options, async (redis, app, keys) => {
        const letters = await listDeadLetters(redis, keys, 100_000);
        ctx.io.stdout(`app ${app.name}: ${letters.length} dead letter${letters.length === 1 ? '' : 's'}\n`);
        for (const letter of letters) ctx.io.stdout(`${letter.id}  ${letter.eventId}  ${letter.reason}\n`);
      });
    });
  command
    .command('replay [ids...]')
    .description(
      "append dead letters (all, or the given ids) back to the outbox, e.g. after raising the topic's " +
        "max.message.bytes; a running relay publishes them after their users' later events (same eventId)",
    )
    .option('--app <name>', 'only this app (apps[].name or SDKAppID); default every app')
    .addOption(configOption())
    .action(async (ids: string[], options: DeadLetterOptions) => {
      await forEachApp(ctx, options, async (redis, app, keys) => {
        const replayed = await replayDeadLetters(redis, keys, ids.length > 0 ? ids : undefined);
        ctx.io.stdout(
          `app ${app.name}: ${replayed} dead letter${replayed === 1 ? '' : 's'} back in the outbox\n`,
        );
      });
    });
}

async function forEachApp(
  ctx: CliContext,
  options: DeadLetterOptions,
  action: (redis: Awaited<ReturnType<typeof connectRedis>>, app: LoadedApp, keys: AppKeys) => Promise<void>,
): Promise<void> {
  const { config } = await loadCliConfig(options.config, ctx.io);
  const apps = config.apps.filter(
    (app) => options.app === undefined || app.name === options.app || String(app.sdkAppId) === options.app,
  );
  if (apps.length === 0) {
    throw new CliError(
      `no app "${options.app}" in the config; apps: ${config.apps.map((a) => a.name).join(', ')}`,
      EXIT_CODES.usage,
    );
  }
  const redis = await connectRedis(config.redis);
  try {
    for (const app of apps) await action(redis, app, configuredAppKeys(config.redis, app.sdkAppId));
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
  ctx.exitCode = EXIT_CODES.ok;
}
