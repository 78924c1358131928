/**
 * @presence-poller/events: the presence-poller Kafka contract and a consumer helper. See README.md.
 */
export {
  DETECTION_SOURCES,
  EVENT_KINDS,
  EVENT_SCHEMA_ID,
  EVENT_SCHEMA_NAME,
  STATE_SCHEMA_ID,
  STATE_SCHEMA_NAME,
  compareEpochs,
  comparePositions,
  currentStateSchema,
  formatEventId,
  isKnownKind,
  presenceEventSchema,
  strictCurrentStateSchema,
  strictPresenceEventSchema,
  type CurrentState,
  type DetectionSource,
  type DeviceInfo,
  type PresenceEvent,
  type PresenceEventEnvelope,
  type PresenceEventKind,
  type PresenceState,
} from './contract.js';
export {
  CLOUDEVENTS_SPEC_VERSION,
  JSON_CONTENT_TYPE,
  STATE_CE_TYPE,
  currentStateAfter,
  eventTypeOf,
  kindOfType,
  parseStateKey,
  sourceOf,
  stateKeyOf,
  stateRecordOf,
  tombstoneRecordOf,
  transitionRecordOf,
  type KafkaMessageLike,
  type ProducedRecord,
} from './kafka-records.js';
export {
  decode,
  type DecodeError,
  type DecodeErrorCode,
  type DecodeResult,
  type DecodedEvent,
  type DecodedState,
  type DecodedTombstone,
  type DecodedUnknownKind,
} from './decode.js';
export {
  createDeduper,
  createMemoryDedupeStore,
  createRedisDedupeStore,
  type DedupeRedisClient,
  type DedupeStore,
  type Deduper,
  type MemoryDedupeStoreOptions,
  type RedisDedupeStoreOptions,
} from './dedupe.js';
export {
  createGapDetector,
  type EventPosition,
  type GapCheck,
  type GapDetector,
  type GapDetectorOptions,
} from './gap-detector.js';
export { createPresenceView, type ApplyOutcome, type PresenceView } from './presence-view.js';
export {
  followTransitions,
  readStateTopic,
  type FollowTransitionsOptions,
  type ReadStateTopicOptions,
  type RecordConsumer,
  type RecordOrigin,
  type TopicOffsetsAdmin,
} from './bootstrap.js';
export { buildJsonSchemas, JSON_SCHEMA_FILES } from './json-schemas.js';
export {
  decodeHeartbeat,
  heartbeatSchema,
  strictHeartbeatSchema,
  HEARTBEAT_SCHEMA_ID,
  HEARTBEAT_SCHEMA_NAME,
  type Heartbeat,
} from './heartbeat.js';
