/**
 * `createSimulator`: a faithful stand-in for Tencent's `query_online_status` on a local port, with a seeded
 * population, churn, per-app call caps, faults, and a ground-truth log of every change it made. Apps that name a
 * callback URL also receive Tencent's `State.StateChange` callbacks (see `callback-sender.ts`), with their own log.
 *
 * All apps share one population (one set of accounts), which keeps the oracle simple; each app has its own key,
 * admins and call window.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSilentLogger, type Logger } from '../ops/logger.js';
import type { DeviceStatus, PresenceState } from '../tencent/types.js';
import {
  createCallbackSender,
  type CallbackFaults,
  type CallbackLogEntry,
  type CallbackOptions,
  type CallbackStats,
  type CallbackTarget,
} from './callback-sender.js';
import { createChurn } from './churn.js';
import { createFaultPlan, type Fault, type FaultKind, type FaultRates, type LatencyRange } from './faults.js';
import type { GroundTruthEntry } from './ground-truth.js';
import { createPopulation, type PopulationOptions } from './population.js';
import { createRng } from './prng.js';
import { arrivalClock, openFrontDoor, type FrontDoor } from './front-door.js';
import { createRateWindow } from './rate-window.js';
import type { StateFieldName } from './render.js';
import {
  answerCall,
  handleRequest,
  type CallCounters,
  type Reply,
  type ServerContext,
  type SimApp,
} from './server.js';
import { createWorld } from './world.js';

export interface SimulatorAppOptions {
  sdkAppId: number;
  secretKey: string;
  /** Identifiers allowed to call the API; default `['administrator']`. */
  admins?: string[];
  /** The app's cap on admitted calls per sliding second; default 200 (Tencent's default for this API). */
  callsPerSecond?: number;
  /** Where the app's `State.StateChange` callbacks go; default none (no callbacks). */
  callback?: CallbackTarget;
}

export interface SimulatorOptions {
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Port; default 0 (any free port). */
  port?: number;
  /** Simulated apps; default one app, `DEFAULT_SIMULATOR_APP`. */
  apps?: SimulatorAppOptions[];
  /** Seed of the PRNG behind population, churn, latency and probabilistic faults; default 1. */
  seed?: number;
  population?: PopulationOptions;
  /** User changes per second made by the churn process; default 0 (no churn). */
  churnPerSecond?: number;
  /** Added latency per answer, uniform in [minMs, maxMs]; default none. */
  latency?: LatencyRange;
  /** Fault probabilities per admitted call; default none. */
  faultRates?: FaultRates;
  /** Top-level state field name in answers; default `Status`. */
  stateFieldName?: StateFieldName;
  /** Wall clock, Unix ms (UserSig expiry, change log); default `Date.now`. */
  now?: () => number;
  /** Monotonic clock for the call window, ms; default `performance.now`. Not with `frontDoorThread`. */
  monotonicNow?: () => number;
  /**
   * Accept calls in a thread of its own that stamps their arrival for the call window (front-door.ts); default
   * false. For large populations: the main thread's garbage-collection pauses then no longer bunch arrivals.
   */
  frontDoorThread?: boolean;
  /** Ground-truth entries kept; default 1,000,000. */
  maxChangeLogEntries?: number;
  /** Delivery of state-change callbacks (faults, queue bound, timeout); targets are set per app. */
  callbacks?: CallbackOptions;
  logger?: Logger;
}

/** The default app: Tencent's sample SDKAppID with a simulator-only key. */
export const DEFAULT_SIMULATOR_APP = {
  sdkAppId: 1_400_000_000,
  secretKey: 'simulator-only-secret-key-0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  admins: ['administrator'],
  callsPerSecond: 200,
} satisfies Required<Omit<SimulatorAppOptions, 'callback'>>;

export interface AppStats {
  admitted: number;
  rejectedOverCap: number;
  maxCallsInAnyWindow: number;
}

export interface SimulatorStats extends CallCounters {
  /** Highest count of admitted calls in any 1000 ms window, over all apps (each app has its own window). */
  maxCallsInAnyWindow: number;
  /** Per SDKAppID. */
  apps: Record<string, AppStats>;
  /** Changes made by churn so far. */
  churnChanges: number;
  /**
   * Front-door threads that died and were replaced since the start (`frontDoorThread`; calls open on a dead thread
   * were lost). Not reset by `resetStats`: a run that saw one is disturbed.
   */
  frontDoorRestarts: number;
  /** State-change callbacks: produced, sent, delivered, lost, duplicated, failed, dropped. */
  callbacks: CallbackStats;
}

export interface SimulatedUserState {
  userId: string;
  imported: boolean;
  state: PresenceState;
  /** Every known device, including Offline ones (the answer's Detail lists only the others). */
  devices: DeviceStatus[];
}

export interface Simulator {
  /** Base URL, e.g. `http://127.0.0.1:34567`; valid after `start()`. */
  readonly url: string;
  /** Bound port; valid after `start()`. */
  readonly port: number;
  start(): Promise<void>;
  /**
   * Resolves (with why) if the simulator can no longer answer calls: its front-door thread died and no new one could
   * listen (front-door.ts). Never settles otherwise. Its front door is closed by then: close the simulator and stop
   * its process (the `simulator` command exits with 1).
   */
  readonly failure: Promise<Error>;
  /** Stops churn and callback delivery, drops held answers and closes every connection. */
  close(): Promise<void>;
  stats(): SimulatorStats;
  resetStats(): void;
  /** Sets a user's devices, or a state (smallest device change); creates/imports the account if needed. */
  setUserState(userId: string, devicesOrState: readonly DeviceStatus[] | PresenceState): void;
  getUserState(userId: string): SimulatedUserState | undefined;
  /** The ground-truth log, oldest first. */
  changeLog(): GroundTruthEntry[];
  /** The log of state-change callbacks produced (sent, lost, dropped...), oldest first. */
  callbackLog(): CallbackLogEntry[];
  /** Sets (or with `undefined` removes) an app's callback target. */
  setCallbackTarget(sdkAppId: number, target: CallbackTarget | undefined): void;
  /** Changes callback faults from now on (fields left out keep their value). */
  setCallbackFaults(faults: CallbackFaults): void;
  /** Queues faults for the next admitted calls, in order. */
  injectFaults(...faults: (Fault | FaultKind)[]): void;
  setFaultRates(rates: FaultRates): void;
  setLatency(latency: LatencyRange): void;
  /** Clears queued faults and fault rates. */
  clearFaults(): void;
  /** Sets the churn rate (users changed per second); 0 pauses. */
  setChurn(changesPerSecond: number): void;
  /** Applies `count` churn changes immediately (deterministic tests). */
  churnNow(count: number): void;
  setStateFieldName(field: StateFieldName): void;
  allUserIds(): string[];
  importedUserIds(): string[];
}

export function createSimulator(options: SimulatorOptions = {}): Simulator {
  if (options.frontDoorThread && options.monotonicNow) {
    throw new RangeError(
      'monotonicNow cannot be set with frontDoorThread: the thread stamps arrivals itself',
    );
  }
  const rng = createRng(options.seed ?? 1);
  const now = options.now ?? Date.now;
  const logger = options.logger ?? createSilentLogger();
  const world = createWorld(createPopulation(rng, options.population), now, options.maxChangeLogEntries);
  const churn = createChurn(world, rng, options.churnPerSecond ?? 0);
  const faults = createFaultPlan(rng, options.faultRates, options.latency);
  const apps = new Map<number, SimApp>();
  const callbackTargets = new Map<number, CallbackTarget>();
  const appList: readonly SimulatorAppOptions[] = options.apps ?? [DEFAULT_SIMULATOR_APP];
  for (const app of appList) {
    if (apps.has(app.sdkAppId)) throw new RangeError(`duplicate simulated app ${app.sdkAppId}`);
    if (app.callback) callbackTargets.set(app.sdkAppId, app.callback);
    apps.set(app.sdkAppId, {
      sdkAppId: app.sdkAppId,
      secretKey: app.secretKey,
      admins: new Set(app.admins ?? DEFAULT_SIMULATOR_APP.admins),
      window: createRateWindow(app.callsPerSecond ?? DEFAULT_SIMULATOR_APP.callsPerSecond),
    });
  }
  // Its own PRNG stream: turning callbacks on or changing their faults leaves population and churn draws unchanged.
  const callbacks = createCallbackSender(
    callbackTargets,
    { ...options.callbacks, seed: options.callbacks?.seed ?? ((options.seed ?? 1) ^ 0x5eedcb) >>> 0 },
    now,
  );
  world.onChange((entry, before) => callbacks.onChange(entry, before));
  let stateField: StateFieldName = options.stateFieldName ?? 'Status';
  const newCounters = (): CallCounters => ({
    calls: 0,
    admitted: 0,
    rejectedOverCap: 0,
    faultsInjected: 0,
    byCode: {},
  });
  const ctx: ServerContext = {
    apps,
    world,
    faults,
    counters: newCounters(),
    stateField: () => stateField,
    now,
    monotonicNow: options.monotonicNow ?? (options.frontDoorThread ? arrivalClock : () => performance.now()),
    pending: new Set<NodeJS.Timeout>(),
    held: new Set<Reply>(),
  };
  const keepAliveTimeoutMs = 30_000;
  const server: Server = createServer((req, res) => handleRequest(ctx, req, res));
  server.keepAliveTimeout = keepAliveTimeoutMs;
  let frontDoor: FrontDoor | undefined;
  let address: AddressInfo | undefined;
  let failed: (error: Error) => void = () => undefined;
  const failure = new Promise<Error>((resolve) => (failed = resolve));

  const requireStarted = (): AddressInfo => {
    if (!address) throw new Error('simulator not started');
    return address;
  };

  return {
    get url() {
      const { address: host, port } = requireStarted();
      return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    },
    get port() {
      return requireStarted().port;
    },
    failure,
    async start() {
      if (address) return;
      const host = options.host ?? '127.0.0.1';
      const port = options.port ?? 0;
      if (options.frontDoorThread) {
        frontDoor = await openFrontDoor(
          { host, port, keepAliveTimeoutMs },
          (call, reply) => answerCall(ctx, call, reply),
          {
            restarted: (reason, restarts) =>
              logger.error(
                { reason, restarts },
                'simulator front-door thread died and was restarted on the same port: calls open on it were lost',
              ),
            failed: (message) => {
              logger.fatal({ message }, 'simulator front door failed: calls are no longer answered');
              failed(new Error(`simulator front door failed: ${message}`));
            },
          },
        );
        address = frontDoor.address;
      } else {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, host, () => {
            server.off('error', reject);
            resolve();
          });
        });
        address = server.address() as AddressInfo;
      }
      churn.start();
      logger.info(
        {
          url: this.url,
          apps: [...apps.keys()],
          users: world.population.allIds.length,
          callbackApps: [...callbackTargets.keys()],
        },
        'simulator up',
      );
    },
    async close() {
      churn.stop();
      await callbacks.close();
      for (const timer of ctx.pending) clearTimeout(timer);
      ctx.pending.clear();
      for (const reply of ctx.held) reply.reset();
      ctx.held.clear();
      await frontDoor?.close();
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
    stats() {
      const perApp: Record<string, AppStats> = {};
      let maxCallsInAnyWindow = 0;
      for (const app of apps.values()) {
        const { admitted, rejected, maxInAnyWindow } = app.window;
        perApp[String(app.sdkAppId)] = {
          admitted,
          rejectedOverCap: rejected,
          maxCallsInAnyWindow: maxInAnyWindow,
        };
        maxCallsInAnyWindow = Math.max(maxCallsInAnyWindow, maxInAnyWindow);
      }
      const c = ctx.counters;
      return {
        ...c,
        byCode: { ...c.byCode },
        maxCallsInAnyWindow,
        apps: perApp,
        churnChanges: churn.changes,
        frontDoorRestarts: frontDoor?.restarts ?? 0,
        callbacks: callbacks.stats(),
      };
    },
    resetStats() {
      ctx.counters = newCounters();
      for (const app of apps.values()) app.window.resetCounters();
      callbacks.resetStats();
    },
    setUserState(userId, devicesOrState) {
      if (typeof devicesOrState === 'string') world.setState(userId, devicesOrState, 'manual');
      else world.setDevices(userId, devicesOrState, 'manual');
    },
    getUserState(userId) {
      const user = world.get(userId);
      if (!user) return undefined;
      return {
        userId,
        imported: user.imported,
        state: user.state,
        devices: user.devices.map((d) => ({ ...d })),
      };
    },
    changeLog: () => world.log.entries(),
    callbackLog: () => callbacks.log(),
    setCallbackTarget: (sdkAppId, target) => {
      if (!apps.has(sdkAppId)) throw new RangeError(`no simulated app ${sdkAppId}`);
      callbacks.setTarget(sdkAppId, target);
    },
    setCallbackFaults: (faults) => callbacks.setFaults(faults),
    injectFaults: (...list) => faults.enqueue(list),
    setFaultRates: (rates) => faults.setRates(rates),
    setLatency: (latency) => faults.setLatency(latency),
    clearFaults: () => faults.clear(),
    setChurn: (rate) => churn.setRate(rate),
    churnNow: (count) => churn.step(count),
    setStateFieldName(field) {
      stateField = field;
    },
    allUserIds: () => [...world.population.allIds],
    importedUserIds: () => [...world.population.importedIds],
  };
}

/** Creates and starts a simulator. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const simulator = createSimulator(options);
  await simulator.start();
  return simulator;
}
