/** `simulator`: run the Tencent Chat simulator on a local port until SIGINT / SIGTERM. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  DEFAULT_SIMULATOR_APP,
  DEFAULT_SIMULATOR_CLI_OPTIONS,
  runSimulatorFromCli,
  type SimulatorCliOptions,
} from '../simulator/index.js';
import { CliError } from './errors.js';
import { EXIT_CODES } from './exit-codes.js';
import type { CliContext } from './context.js';
import { onceSignal } from './io.js';
import { createCliLogger } from './logging.js';
import { integerParser, parseRatePerSecond, parseShare } from './options.js';

export const DEFAULT_SIMULATOR_PORT = 8089;

interface SimulatorCommandOptions {
  host: string;
  port: number;
  users: number;
  notImportedShare: number;
  churn: number;
  seed: number;
  latencyMin: number;
  latencyMax: number;
  sdkappid: number;
  admin: string[];
  cap: number;
  stateField?: 'Status' | 'State';
  secretKeyEnv: string;
  callbackUrl?: string;
  callbackTokenEnv?: string;
  callbackLoss: number;
  callbackDuplicate: number;
  callbackReorder: number;
  callbackDelayMin: number;
  callbackDelayMax: number;
}

export function registerSimulatorCommand(program: Command, ctx: CliContext): void {
  const defaults = DEFAULT_SIMULATOR_CLI_OPTIONS;
  program
    .command('simulator')
    .description('run the local Tencent Chat simulator of query_online_status until SIGINT/SIGTERM')
    .option('--host <address>', 'interface to listen on', defaults.host)
    .option('--port <port>', 'port (0 = any free port)', integerParser(0, 65_535), DEFAULT_SIMULATOR_PORT)
    .option('--users <n>', 'generated users u000000..', integerParser(0, 10_000_000), defaults.users)
    .option(
      '--not-imported-share <x>',
      'share of users not imported (70107), 0..1',
      parseShare,
      defaults.notImportedShare,
    )
    .option('--churn <n/s>', 'users changed per second', parseRatePerSecond, defaults.churnPerSecond)
    .option('--seed <n>', 'PRNG seed', integerParser(0), defaults.seed)
    .option('--latency-min <ms>', 'added latency per answer, lower bound in ms', integerParser(0, 60_000), 0)
    .option('--latency-max <ms>', 'added latency per answer, upper bound in ms', integerParser(0, 60_000), 0)
    .option(
      '--sdkappid <id>',
      'SDKAppID of the simulated app',
      integerParser(1, 4_294_967_295),
      DEFAULT_SIMULATOR_APP.sdkAppId,
    )
    .option('--admin <identifier...>', 'admin identifiers allowed to call', [...DEFAULT_SIMULATOR_APP.admins])
    .option(
      '--cap <calls/s>',
      'call cap per sliding second',
      integerParser(1, 100_000),
      DEFAULT_SIMULATOR_APP.callsPerSecond,
    )
    .addOption(
      new Option('--state-field <name>', 'top-level state field in answers').choices(['Status', 'State']),
    )
    .option(
      '--secret-key-env <name>',
      'environment variable holding the app secret key',
      'TENCENT_IM_SECRET_KEY',
    )
    .option(
      '--callback-url <url>',
      'POST State.StateChange callbacks (Login / Logout / Disconnect) to this URL',
      parseCallbackUrl,
    )
    .option(
      '--callback-token-env <name>',
      'environment variable holding the callback-authentication token (adds Sign and RequestTime)',
    )
    .option('--callback-loss <x>', 'share of callbacks lost, 0..1', parseShare, 0)
    .option('--callback-duplicate <x>', 'share of callbacks sent twice, 0..1', parseShare, 0)
    .option('--callback-reorder <x>', 'share of callbacks overtaken by the next one, 0..1', parseShare, 0)
    .option(
      '--callback-delay-min <ms>',
      'delay before each callback, lower bound in ms',
      integerParser(0, 600_000),
      0,
    )
    .option(
      '--callback-delay-max <ms>',
      'delay before each callback, upper bound in ms',
      integerParser(0, 600_000),
      0,
    )
    .action(async (options: SimulatorCommandOptions) => {
      // No configuration file here: LOG_LEVEL or the default.
      const logger = createCliLogger(ctx.io);
      const callback = callbackSettings(options, ctx.io.env);
      let secretKey = ctx.io.env[options.secretKeyEnv]?.trim();
      if (!secretKey) {
        secretKey = DEFAULT_SIMULATOR_APP.secretKey;
        ctx.io.stderr(
          `note: ${options.secretKeyEnv} is not set; the simulator uses its built-in demo key ` +
            '(DEFAULT_SIMULATOR_APP.secretKey). Set the same key for the poller.\n',
        );
      }
      const stop = onceSignal();
      const simulator = await runSimulatorFromCli({
        host: options.host,
        port: options.port,
        users: options.users,
        notImportedShare: options.notImportedShare,
        churnPerSecond: options.churn,
        seed: options.seed,
        latencyMinMs: options.latencyMin,
        latencyMaxMs: options.latencyMax,
        apps: [
          {
            sdkAppId: options.sdkappid,
            secretKey,
            admins: options.admin,
            callsPerSecond: options.cap,
          },
        ],
        ...(options.stateField ? { stateFieldName: options.stateField } : {}),
        ...callback,
        logger,
      }).catch((error: unknown) => {
        stop.dispose();
        throw error;
      });
      // A front door that cannot take calls any more stops the process loudly rather than leaving a port that
      // refuses every call (its thread is restarted first: src/simulator/front-door.ts).
      const outcome = await Promise.race([stop.received, simulator.failure]);
      if (outcome instanceof Error) {
        stop.dispose();
        ctx.io.stderr(`${outcome.message}: stopping the simulator\n`);
        await simulator.close();
        ctx.exitCode = EXIT_CODES.failure;
        return;
      }
      ctx.io.stderr(`${outcome}: stopping the simulator\n`);
      await simulator.close();
      ctx.exitCode = EXIT_CODES.ok;
    });
}

/** An absolute http(s) URL. */
function parseCallbackUrl(text: string): string {
  if (!URL.canParse(text)) throw new InvalidArgumentError(`expected an http(s) URL, got "${text}"`);
  const { protocol } = new URL(text);
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new InvalidArgumentError(`expected an http(s) URL, got a ${protocol} URL`);
  }
  return text;
}

/** The callback part of the simulator's options; the token is read from the environment, never from argv. */
function callbackSettings(
  options: SimulatorCommandOptions,
  env: Readonly<Record<string, string | undefined>>,
): Partial<SimulatorCliOptions> {
  if (options.callbackDelayMax < options.callbackDelayMin) {
    throw new CliError('--callback-delay-max must not be below --callback-delay-min', EXIT_CODES.usage);
  }
  let token: string | undefined;
  if (options.callbackTokenEnv !== undefined) {
    if (options.callbackUrl === undefined) {
      throw new CliError('--callback-token-env needs --callback-url', EXIT_CODES.usage);
    }
    token = env[options.callbackTokenEnv]?.trim();
    if (!token) {
      throw new CliError(
        `${options.callbackTokenEnv} (named by --callback-token-env) is not set or empty`,
        EXIT_CODES.config,
      );
    }
  }
  return {
    ...(options.callbackUrl !== undefined ? { callbackUrl: options.callbackUrl } : {}),
    ...(token ? { callbackToken: token } : {}),
    callbackLossShare: options.callbackLoss,
    callbackDuplicateShare: options.callbackDuplicate,
    callbackReorderShare: options.callbackReorder,
    callbackDelayMinMs: options.callbackDelayMin,
    callbackDelayMaxMs: options.callbackDelayMax,
  };
}
