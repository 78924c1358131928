/**
 * `status`: what the service is doing, read from Redis (works from any host, whether or not the service runs here):
 * per app the credential state, the relay holder and the outbox; per watchlist members, interval, last sweep,
 * next tick, skipped ticks and chunks given up. `--json` prints the same report as `GET /status`.
 */
import type { Command } from 'commander';
import { readStatus, type AppStatus, type StatusReport } from '../roles/status.js';
import { EXIT_CODES } from './exit-codes.js';
import type { CliContext } from './context.js';
import { connectRedis, loadCliConfig } from './load.js';
import { configOption } from './options.js';

interface StatusOptions {
  config: string;
  json?: boolean;
}

export function registerStatusCommand(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description("show credentials, relay, outbox and every watchlist's sweeps, as stored in Redis")
    .addOption(configOption())
    .option('--json', 'print the report as JSON (the same as GET /status)')
    .action(async (options: StatusOptions) => {
      const { config } = await loadCliConfig(options.config, ctx.io);
      const redis = await connectRedis(config.redis);
      try {
        const report = await readStatus(config, redis);
        ctx.io.stdout(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
      } finally {
        await redis.quit().catch(() => redis.disconnect());
      }
      ctx.exitCode = EXIT_CODES.ok;
    });
}

/** The report as text: one block per app, a table of its watchlists. */
export function formatStatus(report: StatusReport): string {
  const now = Date.parse(report.generatedAt);
  const blocks = report.apps.map((app) => formatApp(app, now));
  return `presence-poller ${report.version}, ${report.generatedAt}\n\n${blocks.join('\n')}`;
}

function formatApp(app: AppStatus, now: number): string {
  const { credentials, relay, outbox } = app;
  const failure = credentials.lastFailure;
  const lines = [
    `app ${app.name} (${app.sdkAppId})`,
    `  credentials  ${credentials.state}` +
      (credentials.lastOkAt ? `, last ok ${ago(credentials.lastOkAt, now)}` : '') +
      (failure
        ? `, last failure ${ago(failure.at, now)}: ${failure.kind}` +
          (failure.errorCode === null ? '' : ` ${failure.errorCode}`) +
          (failure.hint ? ` (${failure.hint})` : '')
        : ''),
    relay.shards === undefined
      ? `  relay        ${relay.holder === null ? 'no holder' : `held by ${relay.holder}`}`
      : `  relay        ${relay.shards.length} outbox shards`,
    ...(relay.shards ?? []).map(
      ({ shard, holder }) => `    shard ${shard}    ${holder === null ? 'no holder' : `held by ${holder}`}`,
    ),
    `  outbox       ${outbox.entries} entries` +
      (outbox.lowPriorityEntries > 0 ? ` (${outbox.lowPriorityEntries} low-priority snapshots)` : '') +
      `, oldest ${outbox.oldestAgeSeconds.toFixed(1)} s`,
  ];
  if (app.watchlists.length === 0) {
    lines.push('  no watchlists in Redis (a running scheduler syncs them from the configuration)');
    return `${lines.join('\n')}\n`;
  }
  const header = [
    'watchlist',
    'members',
    'interval',
    'last sweep',
    'took',
    'next tick',
    'skipped',
    'given up',
  ];
  const rows = app.watchlists.map((list) => [
    list.name,
    String(list.members),
    `${list.intervalMs / 1000} s`,
    list.lastSweepCompletedAt ? ago(list.lastSweepCompletedAt, now) : 'never',
    list.lastSweepDurationMs === null ? '-' : `${(list.lastSweepDurationMs / 1000).toFixed(2)} s`,
    list.nextDueAt ? inAbout(list.nextDueAt, now) : '-',
    String(list.skippedTicks),
    String(list.chunksGivenUp),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const format = (cells: string[]) =>
    `  ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  lines.push('', format(header), ...rows.map(format));
  return `${lines.join('\n')}\n`;
}

function ago(iso: string, now: number): string {
  return `${((now - Date.parse(iso)) / 1000).toFixed(1)} s ago`;
}

function inAbout(iso: string, now: number): string {
  const seconds = (Date.parse(iso) - now) / 1000;
  return seconds >= 0 ? `in ${seconds.toFixed(1)} s` : `${(-seconds).toFixed(1)} s overdue`;
}
