import { z } from 'zod';
import type { KafkaMessageLike } from './kafka-records.js';

/**
 * The heartbeat (`presence.heartbeat/1`): every `heartbeat.interval` the service's relay publishes one record per app
 * to the heartbeat topic (compacted, key = SDKAppID), carrying the last completed sweep of each watchlist and the
 * outbox depth. A consumer alerts on silence: no heartbeat for a few intervals means the producer is down or cut off,
 * whereas a quiet transitions topic alone may only mean that nobody changed state.
 *
 * Like the event and state contracts it comes as a reader schema (open to added fields) and a strict one (the
 * producer's own tests).
 */
export const HEARTBEAT_SCHEMA_NAME = 'presence.heartbeat/1';
/** `$id` of the heartbeat JSON Schema. */
export const HEARTBEAT_SCHEMA_ID = 'urn:presence-poller:schema:presence.heartbeat:1';

function heartbeatFields<O extends z.ZodType>(object: (shape: z.ZodRawShape) => O) {
  const watchlist = object({
    name: z.string(),
    members: z.number().int().nonnegative(),
    intervalMs: z.number().int().positive(),
    lastSweepCompletedAt: z.iso
      .datetime()
      .nullable()
      .describe('When the last sweep of every member finished; null before the first'),
  });
  return {
    schema: z.literal(HEARTBEAT_SCHEMA_NAME),
    sdkAppId: z.number().int(),
    sentAt: z.iso.datetime().describe('When this heartbeat was sent'),
    intervalMs: z.number().int().positive().describe('The next heartbeat is due this long after sentAt'),
    producer: z.string().describe('The relay process that sent it (host:pid)'),
    version: z.string().describe('The service version'),
    outbox: object({
      entries: z.number().int().nonnegative().describe('Events recorded but not yet in Kafka'),
      oldestAgeSeconds: z.number().nonnegative().describe('Age of the oldest of them (0: none)'),
    }),
    watchlists: z.array(watchlist),
  };
}

export const heartbeatSchema = z
  .looseObject(heartbeatFields((shape) => z.looseObject(shape)))
  .describe('A presence-poller heartbeat (presence.heartbeat/1)');

export const strictHeartbeatSchema = z
  .strictObject(heartbeatFields((shape) => z.strictObject(shape)))
  .describe('A presence-poller heartbeat (presence.heartbeat/1)');

export type Heartbeat = z.infer<typeof strictHeartbeatSchema>;

/** A heartbeat record's value, validated; `undefined` (with no exception) for anything else. */
export function decodeHeartbeat(message: Pick<KafkaMessageLike, 'value'>): Heartbeat | undefined {
  if (!message.value) return undefined;
  try {
    const parsed = heartbeatSchema.safeParse(JSON.parse(message.value.toString()));
    return parsed.success ? (parsed.data as Heartbeat) : undefined;
  } catch {
    return undefined;
  }
}
