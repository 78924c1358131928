import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EVENT_SCHEMA_ID,
  STATE_SCHEMA_ID,
  buildJsonSchemas,
  currentStateAfter,
  decode,
  JSON_SCHEMA_FILES,
  strictPresenceEventSchema,
  type PresenceEvent,
} from '../src/index.js';

/**
 * Pins v1. The fixture holds records exactly as the service wrote them in December 2026 (value and headers from
 * its outbox relay, before the state-topic and ce_dataschema changes): they must decode and validate forever.
 */
const packageDir = join(import.meta.dirname, '..');
const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'v1-records-2026-12.json'), 'utf8'),
) as Array<{ key: string; value: string; headers: Record<string, string> }>;
const published = Object.fromEntries(
  Object.entries(JSON_SCHEMA_FILES).map(([name, file]) => [
    name,
    JSON.parse(readFileSync(join(packageDir, 'schemas', file), 'utf8')) as { $id: string },
  ]),
) as Record<keyof typeof JSON_SCHEMA_FILES, { $id: string }>;

// Formats are checked by the schemas' own patterns; ajv only needs to know the keyword exists.
const ajv = new Ajv({ allErrors: true, validateFormats: false });
for (const schema of Object.values(published)) ajv.addSchema(schema);
const validate = (id: string, value: unknown) => {
  const ok = ajv.validate(id, value);
  return ok ? 'valid' : ajv.errorsText(ajv.errors);
};

describe('v1 compatibility', () => {
  it('publishes the schemas with their $id, open for readers and strict for the producer', () => {
    expect(published.event.$id).toBe(EVENT_SCHEMA_ID);
    expect(published.state.$id).toBe(STATE_SCHEMA_ID);
    expect(published).toMatchObject({
      event: { additionalProperties: true },
      state: { additionalProperties: true },
      strictEvent: { additionalProperties: false },
      strictState: { additionalProperties: false },
    });
  });

  it('ships schema files that match the zod schemas (regenerate with npm run schemas -w @presence-poller/events)', () => {
    expect(published).toEqual(buildJsonSchemas());
  });

  it.each(fixture.map((record) => [record.key, record] as const))(
    'decodes and validates the event of %s written by the service today',
    (_user, record) => {
      const value = JSON.parse(record.value) as PresenceEvent;
      expect(decode(record)).toEqual({ type: 'event', event: value });
      expect(strictPresenceEventSchema.parse(value)).toEqual(value);
      expect(validate(EVENT_SCHEMA_ID, value)).toBe('valid');
      expect(validate(`${EVENT_SCHEMA_ID}:strict`, value)).toBe('valid');
      const state = currentStateAfter(value);
      if (state) {
        expect(validate(STATE_SCHEMA_ID, state)).toBe('valid');
        expect(validate(`${STATE_SCHEMA_ID}:strict`, state)).toBe('valid');
      }
    },
  );

  it('accepts a v1 event with a field added later, in the helper and the reader schema; the strict one refuses it', () => {
    const record = fixture[0]!;
    const extended = {
      ...(JSON.parse(record.value) as PresenceEvent),
      membershipChangedAt: null,
      tier: 'gold',
    };
    const result = decode({ ...record, value: JSON.stringify(extended) });
    expect(result).toEqual({ type: 'event', event: extended });
    expect(validate(EVENT_SCHEMA_ID, extended)).toBe('valid');
    expect(validate(`${EVENT_SCHEMA_ID}:strict`, extended)).toMatch(/additional properties/);
  });

  it('accepts detectedBy with a value added later; the strict schema refuses it', () => {
    const record = fixture[0]!;
    for (const detectedBy of ['hint', 'webhook-replay']) {
      const event = { ...(JSON.parse(record.value) as PresenceEvent), detectedBy };
      expect(decode({ ...record, value: JSON.stringify(event) })).toEqual({ type: 'event', event });
      expect(validate(EVENT_SCHEMA_ID, event)).toBe('valid');
    }
    const future = { ...(JSON.parse(record.value) as PresenceEvent), detectedBy: 'webhook-replay' };
    expect(validate(`${EVENT_SCHEMA_ID}:strict`, future)).toMatch(/detectedBy/);
  });

  it('accepts a v1 event of a kind added later as unknown_kind; the reader schema takes it too', () => {
    const record = fixture[0]!;
    const future = { ...(JSON.parse(record.value) as PresenceEvent), kind: 'membership' };
    const result = decode({
      ...record,
      value: JSON.stringify(future),
      headers: { ...record.headers, ce_type: 'com.presence-poller.membership.v1' },
    });
    expect(result).toEqual({ type: 'unknown_kind', kind: 'membership', event: future });
    expect(validate(EVENT_SCHEMA_ID, future)).toBe('valid');
    expect(validate(`${EVENT_SCHEMA_ID}:strict`, future)).toMatch(/kind/);
  });

  it('still rejects a value that breaks v1 in the reader schema', () => {
    const broken = { ...(JSON.parse(fixture[0]!.value) as PresenceEvent), seq: '42' };
    expect(validate(EVENT_SCHEMA_ID, broken)).toMatch(/seq/);
  });
});
