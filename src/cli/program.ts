/**
 * The `presence-poller` command line: one commander program, one module per command. `runCli` never calls
 * `process.exit`; it resolves with the documented exit code, so unit tests run it in-process.
 */
import { Command, CommanderError } from 'commander';
import { buildInfo } from '../ops/build-info.js';
import { registerCheckConfigCommand } from './check-config.js';
import type { CliContext } from './context.js';
import { exitCodeOf } from './errors.js';
import { EXIT_CODES, formatExitCodes, type ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';
import { registerQueryCommand } from './query.js';
import { registerRunCommand } from './run.js';
import { registerSimulatorCommand } from './simulator.js';
import { registerSnapshotCommand } from './snapshot.js';
import { registerStatusCommand } from './status.js';
import { registerTailCommand } from './tail.js';
import { registerUserSigCommand } from './usersig.js';

export { EXIT_CODES, formatExitCodes, type ExitCode } from './exit-codes.js';

/** Builds the program; actions write through `ctx.io` and leave their exit code in `ctx.exitCode`. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('presence-poller')
    .description(
      'Polls Tencent Cloud Chat online status and publishes every Online / PushOnline / Offline transition to Kafka.',
    )
    .version(buildInfo().version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (text) => ctx.io.stdout(text),
      writeErr: (text) => ctx.io.stderr(text),
    })
    .exitOverride();
  // Set before the commands are created, so each inherits output, exit override and the epilogue style.
  registerRunCommand(program, ctx);
  registerCheckConfigCommand(program, ctx);
  registerQueryCommand(program, ctx);
  registerTailCommand(program, ctx);
  registerSnapshotCommand(program, ctx);
  registerStatusCommand(program, ctx);
  registerSimulatorCommand(program, ctx);
  registerUserSigCommand(program, ctx);
  program.addHelpText(
    'after',
    '\nEnvironment: TENCENT_IM_SECRET_KEY (app secret key), PRESENCE_CONFIG (default --config),\n' +
      'REDIS_URL, KAFKA_BROKERS and PRESENCE__<PATH> overrides of presence.yaml, LOG_LEVEL (over logLevel).\n\n' +
      formatExitCodes(),
  );
  for (const command of program.commands) command.addHelpText('after', `\n${formatExitCodes()}`);
  return program;
}

/** Parses `argv` (user arguments only, without node and the script) and runs the command. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const ctx: CliContext = { io, exitCode: EXIT_CODES.ok };
  const program = buildProgram(ctx);
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return EXIT_CODES.usage;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every parse error (already printed by commander) is a usage error.
      return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`error: ${message}\n`);
    return exitCodeOf(error);
  }
}
