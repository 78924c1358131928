import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The service's own package as `npm pack` makes it (prepack builds dist/ first): only what runs the service, and
 * `exports` that keep every internal module out of reach of `import`.
 */
const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
let paths: string[];
let scratch: string;

beforeAll(async () => {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json'], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  // prepack's own output comes before npm's JSON: the JSON array is the last thing printed.
  const [packed] = JSON.parse(stdout.slice(stdout.lastIndexOf('\n[') + 1)) as Array<{
    files: Array<{ path: string }>;
  }>;
  paths = packed!.files.map((file) => file.path);
  scratch = await mkdtemp(join(tmpdir(), 'service-consumer-'));
  await mkdir(join(scratch, 'node_modules'));
  // As an installed dependency: node_modules/presence-poller is the package directory.
  await symlink(root, join(scratch, 'node_modules', 'presence-poller'), 'dir');
}, 180_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the packed service', () => {
  it('holds the compiled service, its entry types and the config schemas, nothing else', () => {
    const unexpected = paths.filter(
      (path) =>
        !/^(dist\/src\/.+\.js|dist\/src\/index\.d\.ts|schema\/[^/]+\.schema\.json|README\.md|package\.json)$/.test(
          path,
        ),
    );
    expect(unexpected).toEqual([]);
    expect(paths).toEqual(
      expect.arrayContaining([
        'dist/src/cli.js',
        'dist/src/index.js',
        'dist/src/index.d.ts',
        'dist/src/main.js',
        'dist/src/generated/lua-scripts.js',
        'schema/presence.schema.json',
        'package.json',
      ]),
    );
    expect(paths.filter((path) => /(^|\/)(test|bench|scripts)\/|\.map$/.test(path))).toEqual([]);
  });

  it('lets a dependent import the entry point and refuses a deep import', async () => {
    await writeFile(
      join(scratch, 'probe.mjs'),
      [
        "const entry = await import('presence-poller');",
        "console.log('entry', typeof entry.presenceEventSchema.safeParse);",
        'for (const deep of ["presence-poller/dist/src/main.js", "presence-poller/src/main.ts"]) {',
        '  try {',
        '    await import(deep);',
        "    console.log('imported', deep);",
        '  } catch (error) {',
        "    console.log('refused', error.code);",
        '  }',
        '}',
      ].join('\n'),
    );
    const { stdout } = await run(process.execPath, ['probe.mjs'], { cwd: scratch });
    expect(stdout.trim().split('\n')).toEqual([
      'entry function',
      'refused ERR_PACKAGE_PATH_NOT_EXPORTED',
      'refused ERR_PACKAGE_PATH_NOT_EXPORTED',
    ]);
  });
});
