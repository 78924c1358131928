/**
 * What downstream consumers import: the event and current-state types, their zod schemas and schema ids.
 * Internals (pipeline, config, client) are not part of the public surface.
 */
export {
  EVENT_SCHEMA_ID,
  STATE_SCHEMA_ID,
  currentStateSchema,
  deviceSchema,
  eventIdOf,
  presenceEventSchema,
  type CurrentState,
  type DeviceInfo,
  type PresenceEvent,
  type PresenceEventKind,
} from './events/event.js';
export { cloudEventHeaders } from './events/cloudevents.js';
export { EVENT_KINDS, PRESENCE_STATES, type EventKind, type PresenceState } from './vocabulary.js';
