import { z } from 'zod';
import {
  EVENT_SCHEMA_ID,
  STATE_SCHEMA_ID,
  currentStateSchema,
  presenceEventSchema,
  strictCurrentStateSchema,
  strictPresenceEventSchema,
} from './contract.js';
import { HEARTBEAT_SCHEMA_ID, heartbeatSchema, strictHeartbeatSchema } from './heartbeat.js';

/**
 * The JSON Schemas shipped under `schemas/`, rendered from the zod schemas so the two cannot disagree
 * (`npm run schemas` writes them; a test fails when the committed files are stale). Draft-07.
 */
export const JSON_SCHEMA_FILES = {
  event: 'presence.transition.1.schema.json',
  state: 'presence.state.1.schema.json',
  strictEvent: 'presence.transition.1.strict.schema.json',
  strictState: 'presence.state.1.strict.schema.json',
  heartbeat: 'presence.heartbeat.1.schema.json',
  strictHeartbeat: 'presence.heartbeat.1.strict.schema.json',
} as const;

/** Every shipped JSON Schema, keyed like `JSON_SCHEMA_FILES`. */
export function buildJsonSchemas(): Record<keyof typeof JSON_SCHEMA_FILES, object> {
  return {
    event: render(presenceEventSchema, EVENT_SCHEMA_ID, 'presence-poller event (presence.transition/1)'),
    state: render(currentStateSchema, STATE_SCHEMA_ID, 'presence-poller current state (presence.state/1)'),
    strictEvent: render(
      strictPresenceEventSchema,
      `${EVENT_SCHEMA_ID}:strict`,
      'presence-poller event (presence.transition/1), strict: exactly the v1 fields and kinds',
    ),
    strictState: render(
      strictCurrentStateSchema,
      `${STATE_SCHEMA_ID}:strict`,
      'presence-poller current state (presence.state/1), strict: exactly the v1 fields',
    ),
    heartbeat: render(
      heartbeatSchema,
      HEARTBEAT_SCHEMA_ID,
      'presence-poller heartbeat (presence.heartbeat/1)',
    ),
    strictHeartbeat: render(
      strictHeartbeatSchema,
      `${HEARTBEAT_SCHEMA_ID}:strict`,
      'presence-poller heartbeat (presence.heartbeat/1), strict: exactly the v1 fields',
    ),
  };
}

function render(schema: z.ZodType, id: string, title: string): object {
  const { $schema, ...rest } = z.toJSONSchema(schema, {
    io: 'output',
    target: 'draft-7',
    // zod writes an open object as `additionalProperties: {}`; `true` says the same and reads plainly.
    override: ({ jsonSchema }) => {
      const extra = jsonSchema.additionalProperties;
      if (typeof extra === 'object' && Object.keys(extra).length === 0)
        jsonSchema.additionalProperties = true;
    },
  });
  return { $schema, $id: id, title, ...rest };
}
