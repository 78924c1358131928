/**
 * `snapshot`: re-emit the current state of a watchlist's members as `snapshot` events (e.g. for a consumer that
 * rebuilds its view). The events go to the outbox; a running relay publishes them.
 */
import type { Command } from 'commander';
import { configuredAppKeys } from '../redis/keys.js';
import { createStateStore } from '../state/state-store.js';
import { createWatchlistRegistry } from '../state/watchlist-registry.js';
import { CliError } from './errors.js';
import { EXIT_CODES } from './exit-codes.js';
import type { CliContext } from './context.js';
import { connectRedis, loadCliConfig } from './load.js';
import { configOption } from './options.js';

interface SnapshotOptions {
  config: string;
  watchlist: string;
  app?: string;
}

export function registerSnapshotCommand(program: Command, ctx: CliContext): void {
  program
    .command('snapshot')
    .description(
      'append a snapshot event for every member of a watchlist (as stored in Redis); the relay publishes them',
    )
    .requiredOption('-w, --watchlist <name>', 'the watchlist whose members to re-emit')
    .option('--app <name>', 'only this app (apps[].name); default every app that has the watchlist')
    .addOption(configOption())
    .action(async (options: SnapshotOptions) => {
      const { config } = await loadCliConfig(options.config, ctx.io);
      const apps = config.apps.filter(
        (app) =>
          options.app === undefined || app.name === options.app || String(app.sdkAppId) === options.app,
      );
      if (apps.length === 0) {
        throw new CliError(
          `no app "${options.app}" in the config; apps: ${config.apps.map((a) => a.name).join(', ')}`,
          EXIT_CODES.usage,
        );
      }
      const redis = await connectRedis(config.redis);
      try {
        let found = 0;
        for (const app of apps) {
          const keys = configuredAppKeys(config.redis, app.sdkAppId);
          const definition = await createWatchlistRegistry(redis, keys).get(options.watchlist);
          if (!definition) continue;
          found += 1;
          const members = await createWatchlistRegistry(redis, keys).readMembers(definition);
          const emitted = await createStateStore(redis, keys).emitSnapshots(members);
          ctx.io.stdout(
            `app ${app.name}: ${emitted} snapshot event${emitted === 1 ? '' : 's'} for ${members.length} ` +
              `member${members.length === 1 ? '' : 's'} of watchlist "${options.watchlist}" ` +
              '(members never observed, not found or untracked are skipped)\n',
          );
        }
        if (found === 0) {
          throw new CliError(
            `watchlist "${options.watchlist}" is not in Redis (prefix "${config.redis.prefix}") for app ` +
              `${apps.map((a) => a.name).join(', ')}: it is synced there by a running service (scheduler role)`,
            EXIT_CODES.notFound,
          );
        }
      } finally {
        await redis.quit().catch(() => redis.disconnect());
      }
      ctx.exitCode = EXIT_CODES.ok;
    });
}
