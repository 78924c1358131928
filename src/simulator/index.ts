/** Public surface of the Tencent Chat simulator. */
export {
  createSimulator,
  startSimulator,
  DEFAULT_SIMULATOR_APP,
  type Simulator,
  type SimulatorOptions,
  type SimulatorAppOptions,
  type SimulatorStats,
  type AppStats,
  type SimulatedUserState,
} from './simulator.js';
export { runSimulatorFromCli, DEFAULT_SIMULATOR_CLI_OPTIONS, type SimulatorCliOptions } from './main.js';
export type { GroundTruthEntry, ChangeCause } from './ground-truth.js';
export {
  DEFAULT_CALLBACK_OPTIONS,
  type CallbackTarget,
  type CallbackFaults,
  type CallbackOptions,
  type CallbackLogEntry,
  type CallbackFate,
  type CallbackStats,
  type DeliveryFailure,
} from './callback-sender.js';
export { signCallback, verifyCallbackSign } from '../tencent/callback-sign.js';
export {
  STATE_CHANGE_COMMAND,
  DEFAULT_OFFLINE_REASON_WEIGHTS,
  type CallbackAction,
  type CallbackReason,
  type OfflineReason,
  type OfflineReasonWeights,
} from './state-change-callback.js';
export {
  FAULT_KINDS,
  RETRYABLE_CODES,
  type Fault,
  type FaultKind,
  type FaultRates,
  type LatencyRange,
} from './faults.js';
export { createRateWindow, maxInAnyWindow, type RateWindow } from './rate-window.js';
export { deriveState, MOBILE_PLATFORMS, SIM_PLATFORMS, type PopulationOptions } from './population.js';
export { createRng, type Rng } from './prng.js';
export { API_PATHS } from './server.js';
export type { StateFieldName } from './render.js';
