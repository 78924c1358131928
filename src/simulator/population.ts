/**
 * The simulated accounts: users `u000000`.. with 1-3 devices each. A device is Online, PushOnline (mobile platforms
 * only) or Offline; the user's top-level state is derived exactly as Tencent documents it.
 */
import type { DeviceStatus, Platform, PresenceState } from '../tencent/types.js';
import type { Rng } from './prng.js';

/** Platforms that can be PushOnline (the OS keeps offline push alive for them). */
export const MOBILE_PLATFORMS: readonly Platform[] = ['iPhone', 'Android', 'iPad'];
/** Platforms the simulator gives devices, in Tencent's documented spelling. */
export const SIM_PLATFORMS: readonly Platform[] = ['iPhone', 'Android', 'iPad', 'Web', 'PC', 'Mac'];

export function isMobilePlatform(platform: Platform): boolean {
  return MOBILE_PLATFORMS.includes(platform);
}

/** A simulated device; every field is always set (the answer omits Offline devices from `Detail`). */
export type SimDevice = Required<DeviceStatus>;

export interface SimUser {
  readonly id: string;
  /** False: the account was never imported, so the API answers 70107 for it. */
  imported: boolean;
  devices: SimDevice[];
  state: PresenceState;
}

export interface PopulationOptions {
  /** Number of generated users; default 10000. */
  size?: number;
  /** Share of users that are not imported (answered with 70107), 0..1; default 0.01. */
  notImportedShare?: number;
  /** Prefix of generated IDs; default `u` (IDs `u000000`, `u000001`, ...). */
  idPrefix?: string;
}

export const DEFAULT_POPULATION_OPTIONS = {
  size: 10_000,
  notImportedShare: 0.01,
  idPrefix: 'u',
} satisfies Required<PopulationOptions>;

/** Online if any device is Online, else PushOnline if any device is PushOnline, else Offline. */
export function deriveState(devices: readonly DeviceStatus[]): PresenceState {
  let pushOnline = false;
  for (const device of devices) {
    if (device.status === 'Online') return 'Online';
    if (device.status === 'PushOnline') pushOnline = true;
  }
  return pushOnline ? 'PushOnline' : 'Offline';
}

/** Statuses a device on `platform` can have. */
export function allowedStatuses(platform: Platform): readonly PresenceState[] {
  return isMobilePlatform(platform) ? ['Online', 'PushOnline', 'Offline'] : ['Online', 'Offline'];
}

export function randomDevice(rng: Rng, index: number): SimDevice {
  const platform = rng.pick(SIM_PLATFORMS);
  const roll = rng.next();
  let status: PresenceState = roll < 0.35 ? 'Online' : roll < 0.55 ? 'PushOnline' : 'Offline';
  if (status === 'PushOnline' && !isMobilePlatform(platform)) status = 'Offline';
  return {
    platform,
    status,
    isBackground: status !== 'Offline' && rng.next() < 0.3,
    instId: rng.int(1, 2_147_483_647),
    customIdentifier: `device-${index + 1}`,
  };
}

export function createUser(id: string, imported: boolean, devices: SimDevice[]): SimUser {
  return { id, imported, devices, state: deriveState(devices) };
}

export interface Population {
  readonly users: Map<string, SimUser>;
  /** Every generated ID, in order (imported or not). */
  readonly allIds: string[];
  /** IDs of imported users; churn picks from these. */
  readonly importedIds: string[];
}

/** Generates a deterministic population from `rng`. */
export function createPopulation(rng: Rng, options: PopulationOptions = {}): Population {
  const { size, notImportedShare, idPrefix } = { ...DEFAULT_POPULATION_OPTIONS, ...options };
  if (!Number.isSafeInteger(size) || size < 0)
    throw new RangeError('population size must be a non-negative integer');
  if (!(notImportedShare >= 0 && notImportedShare <= 1))
    throw new RangeError('notImportedShare must be in 0..1');
  const width = Math.max(6, String(Math.max(0, size - 1)).length);
  const users = new Map<string, SimUser>();
  const allIds: string[] = [];
  const importedIds: string[] = [];
  for (let i = 0; i < size; i++) {
    const id = `${idPrefix}${String(i).padStart(width, '0')}`;
    const imported = rng.next() >= notImportedShare;
    const deviceCount = rng.int(1, 3);
    const devices: SimDevice[] = [];
    for (let d = 0; d < deviceCount; d++) devices.push(randomDevice(rng, d));
    users.set(id, createUser(id, imported, devices));
    allIds.push(id);
    if (imported) importedIds.push(id);
  }
  return { users, allIds, importedIds };
}
