/** `check-config`: validate presence.yaml and every watchlist; report every issue with file:line:column. */
import type { Command } from 'commander';
import {
  formatDurationMs,
  formatIssues,
  inspectConfig,
  minimumIntervalMs,
  type LoadedConfig,
} from '../config/index.js';
import { EXIT_CODES, type ExitCode } from './exit-codes.js';
import type { CliContext } from './context.js';
import { configOption } from './options.js';

export function registerCheckConfigCommand(program: Command, ctx: CliContext): void {
  program
    .command('check-config')
    .description('validate the configuration and watchlists; print every issue and a summary')
    .addOption(configOption())
    .action(async (options: { config: string }) => {
      ctx.exitCode = await checkConfig(options.config, ctx);
    });
}

async function checkConfig(configPath: string, { io }: CliContext): Promise<ExitCode> {
  const { config, issues } = await inspectConfig({ configPath, env: io.env, cwd: io.cwd });
  if (issues.length > 0) io.stdout(`${formatIssues(issues)}\n`);
  const errors = issues.filter((issue) => issue.severity === 'error').length;
  const warnings = issues.length - errors;
  if (!config) {
    io.stdout(`\nconfiguration invalid: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}\n`);
    return EXIT_CODES.config;
  }
  io.stdout(`${issues.length > 0 ? '\n' : ''}${summarize(config)}`);
  io.stdout(`\nconfiguration OK${warnings > 0 ? ` (${plural(warnings, 'warning')})` : ''}\n`);
  return EXIT_CODES.ok;
}

/** A few lines on what would run: apps and their caps, each watchlist's size, interval and minimum interval. */
export function summarize(config: LoadedConfig): string {
  const lines = [`apps (${config.apps.length}):`];
  for (const app of config.apps) {
    lines.push(
      `  ${app.name}  sdkAppId ${app.sdkAppId}  ${app.region ?? app.endpoint}  cap ${app.callsPerSecond} calls/s` +
        `  key from ${app.secretKeySource}`,
    );
  }
  const users = config.watchlists.reduce((sum, list) => sum + list.userIds.length, 0);
  lines.push(`watchlists (${config.watchlists.length}, ${plural(users, 'user')} in total):`);
  const width = Math.max(0, ...config.watchlists.map((list) => list.name.length));
  for (const list of config.watchlists) {
    const cap = config.apps.find((app) => app.name === list.app)?.callsPerSecond ?? 0;
    const minimum =
      cap > 0 ? formatDurationMs(Math.max(1_000, minimumIntervalMs(list.userIds.length, cap))) : '?';
    lines.push(
      `  ${list.name.padEnd(width)}  app ${list.app}  ${plural(list.userIds.length, 'user')}` +
        `  every ${formatDurationMs(list.intervalMs)} (min ${minimum})` +
        `  topic ${list.topic ?? config.kafka.topics.transitions}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
