import { z } from 'zod';

/**
 * The v1 contract: the value of a transitions record (`presence.transition/1`) and of a state record
 * (`presence.state/1`). Each comes in two variants from the same field list:
 * - the reader schema (exported without prefix) accepts additional properties and any `kind` string, so a
 *   consumer keeps working when the producer adds an optional field or a new kind within v1;
 * - the strict schema (`strict...`) refuses anything v1 does not define: the producer's own tests use it.
 */

export const EVENT_SCHEMA_NAME = 'presence.transition/1';
export const STATE_SCHEMA_NAME = 'presence.state/1';
/** `$id` of the transitions JSON Schema and the `ce_dataschema` header of a transitions record. */
export const EVENT_SCHEMA_ID = 'urn:presence-poller:schema:presence.transition:1';
/** `$id` of the state JSON Schema and the `ce_dataschema` header of a state record. */
export const STATE_SCHEMA_ID = 'urn:presence-poller:schema:presence.state:1';

/** The kinds v1 defines today. Readers must expect others (see `decode`'s `unknown_kind` result). */
export const EVENT_KINDS = ['transition', 'snapshot', 'not_found', 'untracked', 'devices'] as const;
export type PresenceEventKind = (typeof EVENT_KINDS)[number];

const KIND_DESCRIPTION =
  'transition: the state changed; snapshot: first observation (from: null); not_found: the API says the ' +
  'account does not exist (to: null); untracked: removed from every watchlist (to: null); devices: the ' +
  'device list changed, the state did not. Readers ignore kinds they do not know.';

/** How a change was seen. Readers must accept values added later within v1. */
export const DETECTION_SOURCES = ['sweep', 'hint', 'callback'] as const;
export type DetectionSource = (typeof DETECTION_SOURCES)[number];

const DETECTED_BY_DESCRIPTION =
  'How the change was seen: sweep: a scheduled sweep of the watchlist called the API; hint: a call made at once ' +
  "for a user named by Tencent's state-change callback; callback: the callback itself, before any call " +
  '(watchlists with trustCallbacks; the next call confirms or corrects it). Absent on untracked events and on ' +
  'snapshots re-published from a known state.';

const presenceStateSchema = z.enum(['Online', 'PushOnline', 'Offline']);
export type PresenceState = z.infer<typeof presenceStateSchema>;

const deviceFields = {
  platform: z
    .string()
    .describe('Normalised platform: iPhone, Android, Web, PC, iPad, Mac, Windows, Linux, Unknown'),
  status: presenceStateSchema,
  isBackground: z.boolean().optional(),
  instId: z.number().int().optional(),
  customIdentifier: z.string().optional(),
};
const DEVICE_DESCRIPTION = 'One logged-in device (only for watchlists with detail: true)';

/** The fields every v1 event has, whatever its kind: enough to dedupe, order and detect gaps. */
function eventFields<D extends z.ZodType, K extends z.ZodType, S extends z.ZodType>(
  device: D,
  kind: K,
  detectedBy: S,
) {
  return {
    schema: z.literal(EVENT_SCHEMA_NAME),
    eventId: z
      .string()

      .describe('<sdkAppId>:<userId>:<epoch>:<seq>: a redelivered event carries the same id'),
    sdkAppId: z.number().int(),
    userId: z.string(),
    kind: kind.describe(KIND_DESCRIPTION),
    from: presenceStateSchema.nullable(),
    to: presenceStateSchema.nullable(),
    seq: z.number().int().positive().describe('Grows by one per user per event within an epoch; 1 first'),
    epoch: z
      .string()

      .describe('When tracking of this user began (base-36 ms); seq restarts at 1 in a new epoch'),
    observedAt: z.iso.datetime().describe('When the API answered with the new state'),
    previousObservedAt: z.iso
      .datetime()
      .nullable()
      .describe('The last observation of the previous state: the change happened between the two'),
    watchlists: z.array(z.string()).describe('Watchlists tracking the user when the event was recorded'),
    devices: z.array(device).optional(),
    detectedBy: detectedBy.optional().describe(DETECTED_BY_DESCRIPTION),
  };
}

function stateFields<D extends z.ZodType>(device: D) {
  return {
    schema: z.literal(STATE_SCHEMA_NAME),
    sdkAppId: z.number().int(),
    userId: z.string(),
    state: presenceStateSchema.nullable().describe('null when the account does not exist'),
    seq: z.number().int().describe('seq of the event that produced this state'),
    epoch: z.string().describe('epoch of the event that produced this state'),
    observedAt: z.iso.datetime(),
    watchlists: z.array(z.string()),
    devices: z.array(device).optional(),
  };
}

const strictDeviceSchema = z.strictObject(deviceFields).describe(DEVICE_DESCRIPTION);
const looseDeviceSchema = z.looseObject(deviceFields).describe(DEVICE_DESCRIPTION);

/** Producer side: exactly v1, nothing more. */
export const strictPresenceEventSchema = z
  .strictObject(eventFields(strictDeviceSchema, z.enum(EVENT_KINDS), z.enum(DETECTION_SOURCES)))
  .describe('A presence-poller event (presence.transition/1)');

/** Reader side: any kind string, additional properties kept. `decode` narrows known kinds to `PresenceEvent`. */
export const presenceEventSchema = z
  .looseObject(eventFields(looseDeviceSchema, z.string(), z.string()))
  .describe('A presence-poller event (presence.transition/1)');

/** Producer side: exactly v1, nothing more. */
export const strictCurrentStateSchema = z
  .strictObject(stateFields(strictDeviceSchema))
  .describe('The latest state of one user (presence.state/1)');

/** Reader side: additional properties kept. */
export const currentStateSchema = z
  .looseObject(stateFields(looseDeviceSchema))
  .describe('The latest state of one user (presence.state/1)');

export type DeviceInfo = z.infer<typeof strictDeviceSchema>;

/**
 * A v1 event of a known kind (`devices` only for watchlists with detail). `detectedBy` may hold a value added after
 * this version of the package: treat unknown values like an absent field.
 */
export type PresenceEvent = Omit<z.infer<typeof strictPresenceEventSchema>, 'detectedBy'> & {
  detectedBy?: DetectionSource | (string & {});
};

/** A v1 event of any kind: what every reader can rely on, including for kinds added after this package. */
export type PresenceEventEnvelope = Omit<PresenceEvent, 'kind'> & { kind: string };

/** The value of a state record: the latest state of one user of one app. */
export type CurrentState = z.infer<typeof strictCurrentStateSchema>;

/** `true` when `kind` is one this version of the package knows. */
export function isKnownKind(kind: string): kind is PresenceEventKind {
  return (EVENT_KINDS as readonly string[]).includes(kind);
}

/** Builds an `eventId`: `<sdkAppId>:<userId>:<epoch>:<seq>` (the same for every delivery of one event). */
export function formatEventId(sdkAppId: number, userId: string, epoch: string, seq: number): string {
  return `${sdkAppId}:${userId}:${epoch}:${seq}`;
}

/**
 * Orders two epochs of one user: negative when `a` began first. Epochs are base-36 millisecond timestamps
 * without leading zeros, so a longer one is later and equal lengths compare as text.
 */
export function compareEpochs(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders two positions `(epoch, seq)` in one user's history: negative when `a` comes first. */
export function comparePositions(
  a: { epoch: string; seq: number },
  b: { epoch: string; seq: number },
): number {
  return compareEpochs(a.epoch, b.epoch) || a.seq - b.seq;
}
