import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkUserId, readUserFile } from '../../src/config/index.js';
import { MAX_USER_FILE_BYTES, MAX_USER_FILE_LINE_LENGTH, UserFileError } from '../../src/config/user-ids.js';

const dir = mkdtempSync(join(tmpdir(), 'presence-users-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(text: string | Buffer): Promise<[string, number][]> {
  const path = join(dir, `users-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(path, text);
  const ids: [string, number][] = [];
  await readUserFile(path, (id, line) => ids.push([id, line]));
  return ids;
}

describe('checkUserId', () => {
  it.each([
    ['alice', { ok: true }],
    ['u000001', { ok: true }],
    ['A_b-9', { ok: true }],
    ['x'.repeat(32), { ok: true }],
  ])('accepts %j silently', (id, verdict) => {
    expect(checkUserId(id)).toEqual(verdict);
  });

  it.each([
    ['', 'empty UserID', 1],
    ['x'.repeat(33), 'is 33 bytes; at most 32 are allowed', 33],
    ['@TIM#SYSTEM', 'starts with "@"', 1],
    ['tab\there', 'the control character U+0009', 4],
    ['del\u007f', 'the control character U+007F', 4],
    ['名字', '"名" (U+540D); only printable ASCII is allowed', 1],
  ])('rejects %j', (id, message, column) => {
    const verdict = checkUserId(id);
    expect(verdict.ok).toBe(false);
    expect(verdict).toMatchObject({ column });
    expect(!verdict.ok && verdict.error).toContain(message);
  });

  it.each([
    ['bob.smith', '"." (U+002E)', 4],
    ['a b', '" " (U+0020)', 2],
    ['mail@host', '"@" (U+0040)', 5],
  ])('accepts %j with a warning', (id, message, column) => {
    const verdict = checkUserId(id);
    expect(verdict).toMatchObject({ ok: true, column });
    expect(verdict.warning).toContain(message);
  });
});

describe('readUserFile', () => {
  it('skips comments and blank lines, trims whitespace and counts lines', async () => {
    expect(await readAll('# header\nalice\n\n   \nbob   \n\t carol\t\n  # indented comment\ndave')).toEqual([
      ['alice', 2],
      ['bob', 5],
      ['carol', 6],
      ['dave', 8],
    ]);
  });

  it('reads CRLF files and a UTF-8 byte order mark', async () => {
    expect(await readAll(Buffer.from('\ufeffalice\r\nbob\r\n', 'utf8'))).toEqual([
      ['alice', 1],
      ['bob', 2],
    ]);
  });

  it('keeps lines and multi-byte characters intact across read chunks', async () => {
    // 1 MiB chunks: put a multi-byte character and a line break right at the boundary (10,486 lines of filler,
    // 1,048,575 bytes).
    const filler = `${'x'.repeat(99)}\n`.repeat(10_485) + `${'y'.repeat(74)}\n`;
    const ids = await readAll(`${filler}zoë\nlast\n`);
    expect(ids).toHaveLength(10_488);
    expect(ids.slice(-3)).toEqual([
      ['y'.repeat(74), 10_486],
      ['zoë', 10_487],
      ['last', 10_488],
    ]);
  });

  it('refuses a line longer than the line-length guard, naming the line', async () => {
    const error = await readAll(`alice\n${'x'.repeat(MAX_USER_FILE_LINE_LENGTH + 1)}\nbob\n`).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserFileError);
    expect(error).toMatchObject({ line: 2, message: expect.stringMatching(/line 2 is longer than 4096/) });
  });

  it('refuses an endless device (/dev/zero) by its line length, without reading on', async () => {
    const error = await readUserFile('/dev/zero', () => {}).catch((e: unknown) => e);
    expect(error).toMatchObject({ line: 1, message: expect.stringMatching(/line 1 is longer than/) });
  });

  it('refuses a file larger than the size guard before reading it', async () => {
    const path = join(dir, 'huge.txt');
    writeFileSync(path, '');
    truncateSync(path, MAX_USER_FILE_BYTES + 1); // sparse: no disk used
    const error = await readUserFile(path, () => {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserFileError);
    expect((error as Error).message).toMatch(/is larger than 67108864 bytes/);
  });

  it('rejects with ENOENT for a missing file', async () => {
    await expect(readUserFile(join(dir, 'missing.txt'), () => {})).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
