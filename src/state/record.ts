import { codeOfState, STATE_CODES, stateOfCode, type PresenceState } from '../vocabulary.js';

/**
 * A decoded state record. The format is defined once, in lua/include/record.lua (the scripts write nearly every
 * record; restore.ts writes restored ones): `<members><state><seq>|<changedAt>|<epoch>[|<deviceHash>]`, base-36
 * numbers, the time relative to the epoch. Records of the first format (`members|state|seq|changedAtMs|
 * deviceHash|epoch`, decimal) are still read.
 */
export interface StoredState {
  watchlistIds: number[];
  /** `null` until the first observation. */
  state: PresenceState | null;
  notFound: boolean;
  seq: number;
  /** 0 until the first observation. */
  observedAtMs: number;
  deviceHash: string;
  epoch: string;
}

const RECORD = /^([\d,]*)([^\d,|])([0-9A-Za-z]+)\|(-?[0-9A-Za-z]*)\|([^|]*)\|?([^|]*)$/;
/** An epoch that is the base of the record's time: base 36, at most 10 digits (exact in a double). */
const EPOCH_BASE = /^[0-9a-z]{1,10}$/;

/** The ms an epoch stands for, the base of the record's time (0 for an epoch that is not base 36). */
function epochMs(epoch: string): number {
  return EPOCH_BASE.test(epoch) ? parseInt(epoch, 36) : 0;
}

export function decodeRecord(record: string): StoredState {
  const match = RECORD.exec(record);
  if (!match) return decodeFirstFormat(record);
  const [, members = '', code = '', seq = '0', changed = '', epoch = '', deviceHash = ''] = match;
  return {
    watchlistIds: members === '' ? [] : members.split(',').map(Number),
    state: stateOfCode(code),
    notFound: code === STATE_CODES.NotFound,
    seq: parseInt(seq, 36),
    observedAtMs: changed === '' ? 0 : epochMs(epoch) + parseInt(changed, 36),
    deviceHash,
    epoch,
  };
}

/** A record written before the compact format: `members|state|seq|changedAtMs|deviceHash|epoch`. */
function decodeFirstFormat(record: string): StoredState {
  const [
    members = '',
    code = STATE_CODES.NeverObserved,
    seq = '0',
    observedAt = '0',
    deviceHash = '',
    epoch = '',
  ] = record.split('|');
  return {
    watchlistIds: members === '' ? [] : members.split(',').map(Number),
    state: stateOfCode(code),
    notFound: code === STATE_CODES.NotFound,
    seq: Number(seq),
    observedAtMs: Number(observedAt),
    deviceHash,
    epoch,
  };
}

/** The inverse of `decodeRecord`, byte for byte what record.lua's `encodeRecord` writes. */
export function encodeRecord(record: StoredState): string {
  const code = record.notFound
    ? STATE_CODES.NotFound
    : record.state === null
      ? STATE_CODES.NeverObserved
      : codeOfState(record.state);
  const changed =
    record.observedAtMs === 0 ? '' : (Math.floor(record.observedAtMs) - epochMs(record.epoch)).toString(36);
  const hash = record.deviceHash === '' ? '' : `|${record.deviceHash}`;
  return `${record.watchlistIds.join(',')}${code}${Math.floor(record.seq).toString(36)}|${changed}|${record.epoch}${hash}`;
}
