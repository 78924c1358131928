import { Writable } from 'node:stream';

/** One parsed log line; `raw` is the text as written. */
export type LogLine = Record<string, unknown> & { raw: string };

/** An in-memory destination for `createLogger` that keeps every line written to it. */
export interface LogCapture {
  stream: Writable;
  /** Every complete line so far, as text. */
  rawLines(): string[];
  /** Every complete line so far, parsed strictly (see `parseLogLine`); throws on the first bad line. */
  lines(): LogLine[];
}

/** Captures log lines in memory so tests read them back, the way pino's own tests do. */
export function captureLogLines(): LogCapture {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  const rawLines = () => text.split('\n').slice(0, -1);
  return { stream, rawLines, lines: () => rawLines().map(parseLogLine) };
}

/**
 * Parses one line as JSON and rejects what `JSON.parse` lets through: a key repeated inside one object (where
 * `JSON.parse` silently keeps the last value, and other parsers keep the first or fail).
 */
export function parseLogLine(raw: string): LogLine {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new Error(`not a JSON line: ${raw}`, { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`not a JSON object: ${raw}`);
  }
  const repeated = findRepeatedKey(raw);
  if (repeated !== undefined) throw new Error(`key "${repeated}" appears twice in one object: ${raw}`);
  return { ...(parsed as Record<string, unknown>), raw };
}

/** Scans valid JSON text and returns the first key that appears twice in the same object, if any. */
function findRepeatedKey(json: string): string | undefined {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const open: Array<Set<string> | null> = [];
  for (let i = 0; i < json.length; i++) {
    const char = json[i];
    if (char === '{') open.push(new Set());
    else if (char === '[') open.push(null);
    else if (char === '}' || char === ']') open.pop();
    else if (char === '"') {
      const start = i;
      for (i++; json[i] !== '"'; i++) if (json[i] === '\\') i++;
      let next = i + 1;
      while (/\s/.test(json[next] ?? '')) next++;
      const keys = open.at(-1);
      if (json[next] === ':' && keys) {
        const key = JSON.parse(json.slice(start, i + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
    }
  }
  return undefined;
}
