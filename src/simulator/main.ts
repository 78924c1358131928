/**
 * Entry point for running the simulator as a process (`presence-poller simulate`, wired by the CLI). Options are a
 * plain object so any argument parser can fill them.
 */
import { createLogger, type Logger } from '../ops/logger.js';
import {
  DEFAULT_SIMULATOR_APP,
  startSimulator,
  type Simulator,
  type SimulatorAppOptions,
  type SimulatorOptions,
} from './simulator.js';

export interface SimulatorCliOptions {
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Port; default 8080. */
  port?: number;
  /** Apps; default the simulator's default app (SDKAppID 1400000000, admin `administrator`, 200 calls/s). */
  apps?: SimulatorAppOptions[];
  /** Generated users; default 10000. */
  users?: number;
  /** Share of users not imported (70107), 0..1; default 0.01. */
  notImportedShare?: number;
  /** Users changed per second; default 10. */
  churnPerSecond?: number;
  /** PRNG seed; default 1. */
  seed?: number;
  /** Added latency range per answer, ms; default 0..0. */
  latencyMinMs?: number;
  latencyMaxMs?: number;
  /** Top-level state field name; default `Status`. */
  stateFieldName?: 'Status' | 'State';
  /** `State.StateChange` callbacks go here, for every app without a callback of its own; default none. */
  callbackUrl?: string;
  /** Callback-authentication token (adds `Sign` and `RequestTime`); default none. Never logged. */
  callbackToken?: string;
  /** Share of callbacks lost, 0..1; default 0. */
  callbackLossShare?: number;
  /** Share of callbacks sent twice, 0..1; default 0. */
  callbackDuplicateShare?: number;
  /** Share of callbacks overtaken by the next one, 0..1; default 0. */
  callbackReorderShare?: number;
  /** Delay before each callback, uniform in [min, max] ms; default 0..0. */
  callbackDelayMinMs?: number;
  callbackDelayMaxMs?: number;
  logger?: Logger;
}

export const DEFAULT_SIMULATOR_CLI_OPTIONS = {
  host: '127.0.0.1',
  port: 8080,
  users: 10_000,
  notImportedShare: 0.01,
  churnPerSecond: 10,
  seed: 1,
  latencyMinMs: 0,
  latencyMaxMs: 0,
  callbackLossShare: 0,
  callbackDuplicateShare: 0,
  callbackReorderShare: 0,
  callbackDelayMinMs: 0,
  callbackDelayMaxMs: 0,
} satisfies Partial<SimulatorCliOptions>;

/** Starts the simulator, logs its URL and returns it; the caller closes it (e.g. on SIGTERM). */
export async function runSimulatorFromCli(options: SimulatorCliOptions = {}): Promise<Simulator> {
  const o = { ...DEFAULT_SIMULATOR_CLI_OPTIONS, ...options };
  const logger = options.logger ?? createLogger();
  const simOptions: SimulatorOptions = {
    host: o.host,
    port: o.port,
    seed: o.seed,
    population: { size: o.users, notImportedShare: o.notImportedShare },
    churnPerSecond: o.churnPerSecond,
    latency: { minMs: o.latencyMinMs, maxMs: Math.max(o.latencyMinMs, o.latencyMaxMs) },
    logger,
    // A standalone simulator may hold a large population: arrivals are stamped where GC pauses do not bunch them.
    frontDoorThread: true,
    ...(o.stateFieldName ? { stateFieldName: o.stateFieldName } : {}),
    callbacks: {
      lossShare: o.callbackLossShare,
      duplicateShare: o.callbackDuplicateShare,
      reorderShare: o.callbackReorderShare,
      delay: { minMs: o.callbackDelayMinMs, maxMs: Math.max(o.callbackDelayMinMs, o.callbackDelayMaxMs) },
    },
  };
  if (o.callbackUrl !== undefined) {
    const callback = { url: o.callbackUrl, ...(o.callbackToken ? { token: o.callbackToken } : {}) };
    simOptions.apps = (o.apps ?? [DEFAULT_SIMULATOR_APP]).map((app) => ({ callback, ...app }));
  } else if (o.apps) {
    simOptions.apps = o.apps;
  }
  const simulator = await startSimulator(simOptions);
  logger.info(
    {
      url: simulator.url,
      endpoint: `${simulator.url}/v4/openim/query_online_status`,
      // Origin and path only: a callback URL's query could carry a secret of the receiver's.
      ...(o.callbackUrl
        ? { callbackUrl: displayCallbackUrl(o.callbackUrl), callbackSigned: !!o.callbackToken }
        : {}),
    },
    `Tencent Chat simulator listening on ${simulator.url}`,
  );
  return simulator;
}

function displayCallbackUrl(url: string): string {
  if (!URL.canParse(url)) return '(invalid URL)';
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}
