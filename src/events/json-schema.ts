/**
 * JSON Schemas of the published records, generated from the zod schemas in event.ts so they cannot disagree.
 * Committed under `schema/` for consumers in any language; a unit test fails when they are stale
 * (regenerate with `npm run generate`).
 */
import type { z } from 'zod';
import { renderJsonSchema } from '../config/json-schema.js';
import { currentStateSchema, presenceEventSchema } from './event.js';

export const EVENT_JSON_SCHEMA_FILES = {
  event: 'presence-event.schema.json',
  state: 'presence-state.schema.json',
} as const;

export function buildEventJsonSchemas(): Record<keyof typeof EVENT_JSON_SCHEMA_FILES, string> {
  // Output side: what consumers receive.
  const render = (schema: z.ZodType, title: string) => renderJsonSchema(schema, title, 'output');
  return {
    event: render(presenceEventSchema, 'presence-poller event (presence.transition/1)'),
    state: render(currentStateSchema, 'presence-poller current state (presence.state/1)'),
  };
}
