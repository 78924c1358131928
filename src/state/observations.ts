import type { Observation } from './state-store.js';
// Counting coded observations sits beside their type (the state store needs it too); re-exported for the callers
// that read answers.
export { countObserved } from './state-store.js';
import { fnv1a32 } from '../redis/keys.js';
import type { DeviceStatus, OnlineStatusResult } from '../tencent/types.js';
import { ACCOUNT_NOT_FOUND, STATE_CODES, codeOfState } from '../vocabulary.js';

export interface ChunkObservations {
  observations: Observation[];
  /** ErrorList entries other than 70107: those users are left untouched this sweep. */
  otherAccountErrors: Array<{ userId: string; errorCode: number }>;
}

/** Turns a parsed answer into the diff script's input. Users with a transient per-account error are skipped. */
export function toObservations(result: OnlineStatusResult, detail: boolean): ChunkObservations {
  const observations: Observation[] = result.results.map((user) => {
    const devices = detail ? (user.devices ?? []) : undefined;
    return {
      userId: user.userId,
      code: codeOfState(user.state),
      deviceHash: devices ? hashDevices(devices) : '',
      devicesJson: devices ? JSON.stringify(devices) : '',
    };
  });
  const otherAccountErrors: ChunkObservations['otherAccountErrors'] = [];
  for (const error of result.accountErrors) {
    if (error.errorCode === ACCOUNT_NOT_FOUND) {
      observations.push({
        userId: error.userId,
        code: STATE_CODES.NotFound,
        deviceHash: '',
        devicesJson: '',
      });
    } else {
      otherAccountErrors.push(error);
    }
  }
  return { observations, otherAccountErrors };
}

/**
 * 8 hex chars identifying a device list regardless of order. Background flips are left out on purpose: a phone
 * going to the background while staying connected is not a presence change.
 */
export function hashDevices(devices: readonly DeviceStatus[]): string {
  const canonical = devices
    .map((d) => `${d.platform}/${d.status}/${d.instId ?? ''}/${d.customIdentifier ?? ''}`)
    .sort()
    .join(';');
  return fnv1a32(canonical).toString(16).padStart(8, '0');
}
