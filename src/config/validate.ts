/**
 * Runs a zod schema over a parsed file and turns every zod issue into a located, readable `ConfigIssue`.
 */
import type { z } from 'zod';
import type { ConfigLocation, IssueList } from './issues.js';
import { objectKeys, schemaAt } from './schema-walk.js';
import { didYouMean } from './suggest.js';
import type { ConfigPath, YamlSource } from './yaml-source.js';

/** Resolves where the value at a path came from: a YAML node or an environment variable. */
export type Locator = (path: ConfigPath, part?: 'key' | 'value') => ConfigLocation;

export function dottedPath(path: ConfigPath): string {
  return path.join('.');
}

/** A locator for a YAML file (or, without one, for its file name only). */
export function yamlLocator(source: YamlSource | undefined, file: string): Locator {
  return source ? (path, part) => source.locate(path, part) : () => ({ file });
}

/**
 * Validates `data` (the value at `prefix` in the file) and records every problem. Returns the parsed value, or
 * `undefined` when anything was wrong.
 */
export function validateSection<S extends z.ZodType>(
  schema: S,
  data: unknown,
  options: { prefix?: ConfigPath; locate: Locator; issues: IssueList },
): z.output<S> | undefined {
  const prefix = options.prefix ?? [];
  const result = schema.safeParse(data, { error: defaultMessage });
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const path = [...prefix, ...(issue.path as (string | number)[])];
    if (issue.code === 'unrecognized_keys') {
      const allowed = objectKeys(schemaAt(schema, issue.path as (string | number)[]) ?? schema) ?? [];
      for (const key of issue.keys) {
        options.issues.add(
          options.locate([...path, key], 'key'),
          dottedPath([...path, key]),
          'unknown_key',
          `unknown key "${key}"${didYouMean(key, allowed)}; allowed keys: ${allowed.join(', ')}`,
        );
      }
      continue;
    }
    const missing = issue.code === 'invalid_type' && issue.input === undefined;
    options.issues.add(
      options.locate(path, 'value'),
      dottedPath(path),
      missing ? 'missing_value' : 'invalid_value',
      issue.message,
    );
  }
  return undefined;
}

const EXPECTED: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
};

/** Describes a received value without echoing anything that could be a secret. */
export function describeInput(input: unknown): string {
  if (input === null) return 'an empty value';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'number' || typeof input === 'boolean') return `${typeof input} ${String(input)}`;
  if (typeof input === 'string') {
    return input.length <= 24 && /^[\w .:/-]*$/.test(input) ? `"${input}"` : 'a string';
  }
  return typeof input;
}

type RawIssue = z.core.$ZodRawIssue;

/** Readable defaults for zod's issue codes; messages given in the schema take precedence. */
function defaultMessage(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'is required';
      const format = (issue.inst as { _zod?: { def?: { format?: string } } } | undefined)?._zod?.def?.format;
      const expected = format === 'safeint' ? EXPECTED.int : (EXPECTED[issue.expected] ?? issue.expected);
      if (issue.expected === 'int' && typeof issue.input === 'number')
        return `must be an integer, got ${issue.input}`;
      return `must be ${expected}, got ${describeInput(issue.input)}`;
    }
    case 'too_small': {
      const minimum = Number(issue.minimum);
      if (issue.origin === 'string') {
        return minimum <= 1 ? 'must not be empty' : `must be at least ${minimum} characters`;
      }
      if (issue.origin === 'array') return `must have at least ${minimum} entr${minimum === 1 ? 'y' : 'ies'}`;
      return `must be ${issue.inclusive ? 'at least' : 'greater than'} ${minimum}, got ${describeInput(issue.input)}`;
    }
    case 'too_big': {
      const maximum = Number(issue.maximum);
      if (issue.origin === 'string') return `must be at most ${maximum} characters`;
      if (issue.origin === 'array') return `must have at most ${maximum} entries`;
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${maximum}, got ${describeInput(issue.input)}`;
    }
    case 'invalid_value': {
      const choices = issue.values.map(String);
      const got =
        typeof issue.input === 'string' ? `"${issue.input.slice(0, 40)}"` : describeInput(issue.input);
      const hint = typeof issue.input === 'string' ? didYouMean(issue.input, choices) : '';
      return `must be one of ${choices.join(', ')}; got ${got}${hint}`;
    }
    case 'invalid_format':
      return `has an invalid format (expected ${issue.format})`;
    default:
      return undefined;
  }
}
