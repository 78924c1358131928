/**
 * The service's public surface: the v1 contract, re-exported from the events package (packages/events), which is
 * what consumers should install on its own. Internals (pipeline, config, client) are not part of it.
 */
export {
  EVENT_KINDS,
  EVENT_SCHEMA_ID,
  EVENT_SCHEMA_NAME,
  STATE_SCHEMA_ID,
  STATE_SCHEMA_NAME,
  currentStateSchema,
  formatEventId,
  presenceEventSchema,
  type CurrentState,
  type DeviceInfo,
  type PresenceEvent,
  type PresenceEventKind,
  type PresenceState,
} from '@presence-poller/events';
