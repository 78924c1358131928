import { z } from 'zod';
import { EVENT_KINDS, PRESENCE_STATES } from '../vocabulary.js';

/**
 * The event published for every observed change: the public contract with downstream consumers.
 * The zod schema is the single source of the TypeScript type and of `schema/presence-event.schema.json`.
 */

export const EVENT_SCHEMA_ID = 'presence.transition/1';
export const STATE_SCHEMA_ID = 'presence.state/1';

const presenceState = z.enum(PRESENCE_STATES);

export const deviceSchema = z
  .object({
    platform: z
      .string()
      .describe('Normalised platform: iPhone, Android, Web, PC, iPad, Mac, Windows, Linux, Unknown'),
    status: presenceState,
    isBackground: z.boolean().optional(),
    instId: z.number().int().optional(),
    customIdentifier: z.string().optional(),
  })
  .describe('One logged-in device (only for watchlists with detail: true)');

export const presenceEventSchema = z
  .object({
    schema: z.literal(EVENT_SCHEMA_ID),
    eventId: z
      .string()
      .describe('Deterministic from (sdkAppId, userId, epoch, seq): a redelivered event carries the same id'),
    sdkAppId: z.number().int(),
    userId: z.string(),
    kind: z
      .enum(EVENT_KINDS)
      .describe(
        'transition: the state changed; snapshot: first observation (from: null); not_found: the API says the ' +
          'account does not exist (to: null); untracked: removed from every watchlist (to: null); devices: the ' +
          'device list changed, the state did not (only for watchlists with deviceEvents: true)',
      ),
    from: presenceState.nullable(),
    to: presenceState.nullable(),
    seq: z.number().int().positive().describe('Grows by one per user per event within a tracking epoch'),
    epoch: z
      .string()
      .describe('When tracking of this user began (base-36 ms); seq restarts at 1 in a new epoch'),
    observedAt: z.iso.datetime().describe('When the API answered with the new state'),
    previousObservedAt: z.iso
      .datetime()
      .nullable()
      .describe('The last observation of the previous state: the change happened between the two'),
    watchlists: z.array(z.string()).describe('Watchlists tracking the user when the event was recorded'),
    devices: z.array(deviceSchema).optional(),
  })
  .describe('A Tencent Cloud Chat presence event published by presence-poller');

export type PresenceEvent = z.infer<typeof presenceEventSchema>;
export type PresenceEventKind = PresenceEvent['kind'];
export type DeviceInfo = z.infer<typeof deviceSchema>;

/** The value of the compacted current-state topic (key = UserID; a tombstone when the user is untracked). */
export const currentStateSchema = z.object({
  schema: z.literal(STATE_SCHEMA_ID),
  sdkAppId: z.number().int(),
  userId: z.string(),
  state: presenceState.nullable().describe('null when the account does not exist'),
  seq: z.number().int(),
  epoch: z.string(),
  observedAt: z.iso.datetime(),
  watchlists: z.array(z.string()),
  devices: z.array(deviceSchema).optional(),
});

export type CurrentState = z.infer<typeof currentStateSchema>;

/** `eventId` = `<sdkAppId>:<userId>:<epoch>:<seq>`. */
export function eventIdOf(sdkAppId: number, userId: string, epoch: string, seq: number): string {
  return `${sdkAppId}:${userId}:${epoch}:${seq}`;
}
