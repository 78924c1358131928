/**
 * UserID rules (ARCHITECTURE.md, "UserIDs") and a streaming reader for user files.
 *
 * Tencent's pages disagree on the allowed characters, so: at most 32 bytes of printable ASCII and not starting with
 * `@` (system IDs) is an error otherwise; anything outside `[A-Za-z0-9_-]` is accepted with a warning.
 */
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

export const MAX_USER_ID_BYTES = 32;

const SAFE_USER_ID = /^[A-Za-z0-9_-]{1,32}$/;

export type UserIdVerdict =
  | { ok: true; warning?: undefined }
  | { ok: true; warning: string; column: number }
  | { ok: false; error: string; column: number; warning?: undefined };

/** Checks one UserID. `column` is the 1-based position of the first offending character. */
export function checkUserId(id: string): UserIdVerdict {
  if (SAFE_USER_ID.test(id)) return { ok: true };
  if (id.length === 0) return { ok: false, error: 'empty UserID', column: 1 };
  for (let index = 0; index < id.length; index += 1) {
    const code = id.charCodeAt(index);
    if (code < 0x20 || code > 0x7e) {
      return {
        ok: false,
        error: `UserID ${quoteId(id)} contains ${describeChar(id, index)}; only printable ASCII is allowed`,
        column: index + 1,
      };
    }
  }
  // Printable ASCII is one byte per character.
  if (id.length > MAX_USER_ID_BYTES) {
    return {
      ok: false,
      error: `UserID ${quoteId(id)} is ${id.length} bytes; at most ${MAX_USER_ID_BYTES} are allowed`,
      column: MAX_USER_ID_BYTES + 1,
    };
  }
  if (id.startsWith('@')) {
    return {
      ok: false,
      error: `UserID ${quoteId(id)} starts with "@", which marks Tencent system accounts`,
      column: 1,
    };
  }
  const index = id.search(/[^A-Za-z0-9_-]/);
  return {
    ok: true,
    warning: `UserID ${quoteId(id)} contains ${describeChar(id, index)}; some Tencent APIs accept only letters, digits, "_" and "-"`,
    column: index + 1,
  };
}

function quoteId(id: string): string {
  return JSON.stringify(id.length > 40 ? `${id.slice(0, 40)}…` : id);
}

function describeChar(id: string, index: number): string {
  const code = id.codePointAt(index)!;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return code >= 0x20 && code !== 0x7f
    ? `"${String.fromCodePoint(code)}" (${hex})`
    : `the control character ${hex}`;
}

/** Reads of a user file that kept changing before the loader gives up (a config error, the running set stays). */
const MAX_READ_ATTEMPTS = 5;
/** 64 MiB: two million IDs of 32 bytes. A larger file (or `/dev/zero`) is refused rather than read into memory. */
export const MAX_USER_FILE_BYTES = 64 * 1024 * 1024;
/** A UserID has at most 32 bytes; a line this long is not a list of IDs (a binary file, a wrong path). */
export const MAX_USER_FILE_LINE_LENGTH = 4_096;

/** A user file that cannot be a list of UserIDs; `line` when the problem is on one line. */
export class UserFileError extends Error {
  override readonly name = 'UserFileError';
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

/**
 * Reads a user file and calls `onId(id, line)` for every ID: one per line, blank lines and lines starting with
 * `#` skipped, surrounding whitespace trimmed, LF or CRLF. The file is streamed, and its IDs handed over only once
 * a whole read saw it unchanged (size and mtime before and after, and the bytes read): a file being rewritten in
 * place (`cp`, a shell `>`, most editors) is read again rather than taken half-written. Rejects with the file
 * system error (e.g. ENOENT), or a `UserFileError` when the file is still changing after a few reads, is larger
 * than `MAX_USER_FILE_BYTES` or has a line longer than `MAX_USER_FILE_LINE_LENGTH` (checked while reading, so a
 * device or a huge file never fills memory).
 */
export async function readUserFile(path: string, onId: (id: string, line: number) => void): Promise<number> {
  for (let attempt = 1; attempt <= MAX_READ_ATTEMPTS; attempt += 1) {
    const read = await readUserFileOnce(path);
    if (!read.changed) {
      read.ids.forEach((id, index) => onId(id, read.lines[index]!));
      return read.lineCount;
    }
  }
  throw new UserFileError(`kept changing while it was read (${MAX_READ_ATTEMPTS} attempts)`);
}

interface UserFileRead {
  ids: string[];
  lines: number[];
  lineCount: number;
  /** The file changed between the start and the end of the read. */
  changed: boolean;
}

async function readUserFileOnce(path: string): Promise<UserFileRead> {
  const handle = await open(path, 'r');
  try {
    const before = await handle.stat();
    if (before.size > MAX_USER_FILE_BYTES) throw tooLarge(before.size);
    const ids: string[] = [];
    const lines: number[] = [];
    let bytes = 0;
    let rest = '';
    let line = 0;
    const handleLine = (raw: string) => {
      line += 1;
      if (raw.length > MAX_USER_FILE_LINE_LENGTH) throw tooLong(line);
      const text = line === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1).trim() : raw.trim();
      if (text.length === 0 || text.charCodeAt(0) === 0x23 /* # */) return;
      ids.push(text);
      lines.push(line);
    };
    const stream = handle.createReadStream({ highWaterMark: 1 << 20, autoClose: false, start: 0 });
    const decoder = new StringDecoder('utf8');
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > MAX_USER_FILE_BYTES) throw tooLarge(bytes);
      const text = rest + decoder.write(chunk);
      let start = 0;
      let end = text.indexOf('\n', start);
      while (end !== -1) {
        handleLine(text.slice(start, end));
        start = end + 1;
        end = text.indexOf('\n', start);
      }
      rest = text.slice(start);
      if (rest.length > MAX_USER_FILE_LINE_LENGTH) throw tooLong(line + 1);
    }
    rest += decoder.end();
    if (rest.length > 0) handleLine(rest);
    const after = await handle.stat();
    const changed =
      after.size !== before.size ||
      after.mtimeMs !== before.mtimeMs ||
      (before.isFile() && bytes !== before.size);
    return { ids, lines, lineCount: line, changed };
  } finally {
    await handle.close();
  }
}

function tooLarge(bytes: number): UserFileError {
  return new UserFileError(`is larger than ${MAX_USER_FILE_BYTES} bytes (${bytes} read); split the list`);
}

function tooLong(line: number): UserFileError {
  return new UserFileError(
    `line ${line} is longer than ${MAX_USER_FILE_LINE_LENGTH} characters: not a list of UserIDs (one per line)`,
    line,
  );
}
