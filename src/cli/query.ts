/** `query`: a one-off online-status lookup through the real Tencent client, as a table or JSON. */
import { clientOptionsOf } from '../roles/poller.js';
import type { Command } from 'commander';
import type { LoadedApp } from '../config/index.js';
import type { Logger } from '../ops/logger.js';
import {
  createTencentClient,
  MAX_IDS_PER_CALL,
  type DeviceStatus,
  type PresenceState,
} from '../tencent/index.js';
import { CliError } from './errors.js';
import { EXIT_CODES } from './exit-codes.js';
import type { CliContext } from './context.js';
import { loadCliConfig } from './load.js';
import { createCliLogger } from './logging.js';
import { configOption } from './options.js';
import { ACCOUNT_NOT_FOUND } from '../vocabulary.js';
import { pino } from 'pino';

interface QueryOptions {
  config: string;
  app?: string;
  detail?: boolean;
  json?: boolean;
}

/** One row of the answer; `state` is null when the account has an error (`errorCode`). */
export interface QueryRow {
  userId: string;
  state: PresenceState | null;
  notFound?: true;
  errorCode?: number;
  devices?: DeviceStatus[];
}

export function registerQueryCommand(program: Command, ctx: CliContext): void {
  program
    .command('query')
    .description('look up the online status of users now (calls query_online_status; 500 IDs per call)')
    .argument('<userId...>', 'UserIDs to look up')
    .addOption(configOption())
    .option('--app <name>', 'app to ask (apps[].name); required when the config has several')
    .option('--detail', 'ask for per-device detail (IsNeedDetail)')
    .option('--json', 'print JSON instead of a table')
    .action(async (userIds: string[], options: QueryOptions) => {
      const { config } = await loadCliConfig(options.config, ctx.io);
      const app = pickApp(config.apps, options.app);
      // Logs go to stderr: stdout carries the answer.
      const logger = createCliLogger(ctx.io, {
        configured: config.logLevel,
        destination: pino.destination(2),
      });
      const rows = await queryUsers(app, userIds, Boolean(options.detail), logger);
      ctx.io.stdout(options.json ? `${JSON.stringify(rows, null, 2)}\n` : formatQueryTable(rows));
      ctx.exitCode = EXIT_CODES.ok;
    });
}

function pickApp(apps: readonly LoadedApp[], name: string | undefined): LoadedApp {
  const names = apps.map((app) => app.name).join(', ');
  if (name === undefined) {
    if (apps.length === 1) return apps[0]!;
    throw new CliError(`the config has several apps (${names}): choose one with --app`, EXIT_CODES.usage);
  }
  const app = apps.find((candidate) => candidate.name === name || String(candidate.sdkAppId) === name);
  if (!app) throw new CliError(`no app "${name}" in the config; apps: ${names}`, EXIT_CODES.usage);
  return app;
}

/** Queries every ID (deduplicated, in chunks of 500) and returns one row per ID in the order given. */
export async function queryUsers(
  app: LoadedApp,
  userIds: readonly string[],
  detail: boolean,
  logger: Logger,
): Promise<QueryRow[]> {
  const unique = [...new Set(userIds)];
  const client = createTencentClient({
    ...clientOptionsOf(app),
    connections: Math.min(app.connections, 4),
    logger,
  });
  const rows = new Map<string, QueryRow>();
  try {
    for (let start = 0; start < unique.length; start += MAX_IDS_PER_CALL) {
      const chunk = unique.slice(start, start + MAX_IDS_PER_CALL);
      const answer = await client.queryOnlineStatus(chunk, { detail });
      for (const result of answer.results) {
        rows.set(result.userId, {
          userId: result.userId,
          state: result.state,
          ...(result.devices ? { devices: result.devices } : {}),
        });
      }
      for (const error of answer.accountErrors) {
        rows.set(error.userId, {
          userId: error.userId,
          state: null,
          ...(error.errorCode === ACCOUNT_NOT_FOUND ? { notFound: true as const } : {}),
          errorCode: error.errorCode,
        });
      }
    }
  } finally {
    await client.close();
  }
  return unique.map((userId) => rows.get(userId) ?? { userId, state: null });
}

/** `USER  STATE  DEVICES` columns; 70107 shows as "not found". */
export function formatQueryTable(rows: readonly QueryRow[]): string {
  const cells = rows.map((row) => [
    row.userId,
    row.state ?? (row.notFound ? 'not found' : `error ${row.errorCode ?? '?'}`),
    row.devices ? row.devices.map((device) => `${device.platform}:${device.status}`).join(' ') || '-' : '',
  ]);
  const header = ['USER', 'STATE', 'DEVICES'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((line) => line[column]!.length)),
  );
  return (
    [header, ...cells]
      .map((line) =>
        line
          .map((cell, column) => (column === line.length - 1 ? cell : cell.padEnd(widths[column]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
