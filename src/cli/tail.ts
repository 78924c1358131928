/** `tail`: follow a transitions topic with a fresh consumer group and print one line per event. */
import { CliError } from './errors.js';
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { pino } from 'pino';
import { routeProcessWarnings } from '../ops/logger.js';
import { createKafka } from '../relay/kafka.js';
import { presenceEventSchema, type PresenceEventEnvelope } from '@presence-poller/events';
import { EXIT_CODES } from './exit-codes.js';
import type { CliContext } from './context.js';
import { onceSignal } from './io.js';
import { loadCliConfig } from './load.js';
import { createCliLogger } from './logging.js';
import { collectList, configOption, integerParser } from './options.js';

interface TailOptions {
  config: string;
  topic?: string;
  user?: string[];
  watchlist?: string[];
  fromBeginning?: boolean;
  json?: boolean;
  maxEvents?: number;
}

export function registerTailCommand(program: Command, ctx: CliContext): void {
  program
    .command('tail')
    .description('follow the transitions topic and print one line per event (Ctrl-C stops)')
    .addOption(configOption())
    .option('--topic <topic>', 'topic to follow (default: kafka.topics.transitions)')
    .option('--user <id>', 'only these users (repeatable, or comma-separated)', collectList)
    .option(
      '--watchlist <name>',
      'only events of these watchlists (repeatable, or comma-separated)',
      collectList,
    )
    .option('--from-beginning', 'start at the oldest retained event instead of new ones')
    .option('--json', 'print each event as one JSON line')
    .option('--max-events <n>', 'exit after printing n events', integerParser(1))
    .action(async (options: TailOptions) => {
      const { config } = await loadCliConfig(options.config, ctx.io);
      const topic = options.topic ?? config.kafka.topics.transitions;
      const users = options.user && new Set(options.user);
      const watchlists = options.watchlist && new Set(options.watchlist);
      // Logs go to stderr: stdout carries the events.
      const logger = createCliLogger(ctx.io, {
        configured: config.logLevel,
        destination: pino.destination(2),
      });
      routeProcessWarnings(logger);
      const kafka = createKafka(config.kafka, logger);
      // A fresh group that commits nothing: every tail sees the topic on its own and leaves no offsets behind.
      const consumer = kafka.consumer({
        groupId: `presence-tail-${randomBytes(6).toString('hex')}`,
        maxWaitTimeInMs: 200,
      });
      const stop = onceSignal();
      let printed = 0;
      let finish!: () => void;
      const done = new Promise<void>((resolve) => (finish = resolve));
      try {
        await consumer.connect();
        const admin = kafka.admin();
        await admin.connect();
        const exists = await admin.listTopics().finally(() => admin.disconnect());
        if (!exists.includes(topic)) {
          throw new CliError(
            `topic ${topic} does not exist yet: \`presence-poller run\` creates it when it starts`,
            EXIT_CODES.notFound,
          );
        }
        await consumer.subscribe({ topics: [topic], fromBeginning: Boolean(options.fromBeginning) });
        await consumer.run({
          autoCommit: false,
          eachMessage: async ({ message }) => {
            if (message.value === null || (options.maxEvents !== undefined && printed >= options.maxEvents))
              return;
            const text = message.value.toString();
            const event = parseEvent(text);
            if (users && !users.has(event?.userId ?? message.key?.toString() ?? '')) return;
            if (watchlists && !event?.watchlists.some((name) => watchlists.has(name))) return;
            ctx.io.stdout(options.json || !event ? `${text}\n` : `${formatEventLine(event)}\n`);
            printed += 1;
            if (options.maxEvents !== undefined && printed >= options.maxEvents) finish();
          },
        });
        ctx.io.stderr(
          `following ${topic}${options.fromBeginning ? ' from the beginning' : ''} (Ctrl-C stops)\n`,
        );
        await Promise.race([done, stop.received]);
      } finally {
        stop.dispose();
        await consumer.disconnect().catch(() => undefined);
      }
      ctx.exitCode = EXIT_CODES.ok;
    });
}

function parseEvent(text: string): PresenceEventEnvelope | undefined {
  try {
    const parsed = presenceEventSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** `2026-11-25T10:00:05.120Z  alice  Offline → Online  transition  [vip]` */
export function formatEventLine(event: PresenceEventEnvelope): string {
  const state = (value: string | null) => value ?? '-';
  return [
    event.observedAt,
    event.userId,
    `${state(event.from)} → ${state(event.to)}`,
    event.kind,
    `[${event.watchlists.join(',')}]`,
    `seq ${event.seq}`,
  ].join('  ');
}
