import type { PresenceEvent } from './event.js';

/**
 * CloudEvents 1.0 binary-mode Kafka headers, so consumers can route and dedupe without parsing the value.
 * `ce_type` is `com.presence-poller.<kind>.v1`.
 */
export function cloudEventHeaders(event: PresenceEvent): Record<string, string> {
  return {
    ce_specversion: '1.0',
    ce_id: event.eventId,
    ce_source: `presence-poller/${event.sdkAppId}`,
    ce_type: `com.presence-poller.${event.kind}.v1`,
    ce_time: event.observedAt,
    ce_subject: event.userId,
    'content-type': 'application/json',
  };
}
