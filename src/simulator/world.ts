/**
 * The simulated state of every account, and the only place that changes it: each change updates the derived state
 * and appends to the ground-truth log.
 */
import type { DeviceStatus, PresenceState } from '../tencent/types.js';
import {
  createGroundTruthLog,
  type ChangeCause,
  type GroundTruthEntry,
  type GroundTruthLog,
} from './ground-truth.js';
import {
  allowedStatuses,
  createUser,
  deriveState,
  isMobilePlatform,
  type Population,
  type SimDevice,
  type SimUser,
} from './population.js';

/** Told of every change, after it is applied and logged; `before` holds the user's devices before the change. */
export type ChangeListener = (entry: GroundTruthEntry, before: readonly SimDevice[]) => void;

export interface World {
  readonly population: Population;
  readonly log: GroundTruthLog;
  /** Adds a listener for every later change; returns a function that removes it. */
  onChange(listener: ChangeListener): () => void;
  get(userId: string): SimUser | undefined;
  /** Replaces a user's devices (creating and importing the account if needed) and logs the change. */
  setDevices(userId: string, devices: readonly DeviceStatus[], cause: ChangeCause): SimUser;
  /** Moves a user to `state` with the smallest device change that produces it (see `devicesForState`). */
  setState(userId: string, state: PresenceState, cause: ChangeCause): SimUser;
}

export function createWorld(population: Population, now: () => number, maxLogEntries?: number): World {
  const log = createGroundTruthLog(maxLogEntries);
  const listeners = new Set<ChangeListener>();

  function setDevices(userId: string, devices: readonly DeviceStatus[], cause: ChangeCause): SimUser {
    const next = devices.map((device, i) => toSimDevice(device, i));
    for (const device of next) {
      if (!allowedStatuses(device.platform).includes(device.status)) {
        throw new RangeError(
          `a ${device.platform} device cannot be ${device.status} (PushOnline is mobile only)`,
        );
      }
    }
    let user = population.users.get(userId);
    if (!user) {
      user = createUser(userId, true, []);
      population.users.set(userId, user);
      population.allIds.push(userId);
      population.importedIds.push(userId);
    } else if (!user.imported) {
      user.imported = true;
      population.importedIds.push(userId);
    }
    const from = user.state;
    const before = user.devices;
    user.devices = next;
    user.state = deriveState(next);
    const entry: GroundTruthEntry = {
      userId,
      from,
      to: user.state,
      devices: next.map((d) => ({ ...d })),
      atMs: now(),
      cause,
    };
    log.append(entry);
    for (const listener of listeners) listener(entry, before);
    return user;
  }

  return {
    population,
    log,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get: (userId) => population.users.get(userId),
    setDevices,
    setState(userId, state, cause) {
      const current = population.users.get(userId)?.devices ?? [];
      return setDevices(userId, devicesForState(current, state), cause);
    },
  };
}

/**
 * Devices that make the user `state`, changing as little as possible: Online sets the first device Online;
 * PushOnline sets the first mobile device PushOnline (adding an iPhone if there is none) and the others Offline;
 * Offline sets every device Offline. A user without devices gets one (Web, or iPhone for PushOnline).
 */
export function devicesForState(current: readonly SimDevice[], state: PresenceState): SimDevice[] {
  const devices = current.map((d) => ({ ...d }));
  if (state === 'Offline') return devices.map((d) => ({ ...d, status: 'Offline', isBackground: false }));
  if (state === 'Online') {
    if (devices.length === 0) devices.push(toSimDevice({ platform: 'Web', status: 'Online' }, 0));
    (devices[0] as SimDevice).status = 'Online';
    return devices;
  }
  let mobile = devices.findIndex((d) => isMobilePlatform(d.platform));
  if (mobile < 0) {
    devices.push(toSimDevice({ platform: 'iPhone', status: 'PushOnline' }, devices.length));
    mobile = devices.length - 1;
  }
  return devices.map((d, i) => ({ ...d, status: i === mobile ? 'PushOnline' : 'Offline' }));
}

function toSimDevice(device: DeviceStatus, index: number): SimDevice {
  return {
    platform: device.platform,
    status: device.status,
    isBackground: device.isBackground ?? false,
    instId: device.instId ?? 1_000_000 + index,
    customIdentifier: device.customIdentifier ?? `device-${index + 1}`,
  };
}
