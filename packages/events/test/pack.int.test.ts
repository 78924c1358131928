import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The package as a consuming team gets it: `npm pack`, installed from the tarball into a scratch project, the
 * README's consumer example typechecked there, and the tarball holding nothing but what consumers need.
 */
const run = promisify(execFile);
const packageDir = resolve(import.meta.dirname, '..');
const repoRoot = resolve(packageDir, '../..');
let scratch: string;
let packed: { filename: string; files: Array<{ path: string }> };

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'events-consumer-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], {
    cwd: packageDir,
    maxBuffer: 16 * 1024 * 1024,
  });
  // prepack (tsc) writes to stdout before npm's JSON: the JSON array is the last thing printed.
  packed = (JSON.parse(stdout.slice(stdout.lastIndexOf('\n[') + 1)) as Array<typeof packed>)[0]!;
  const tarball = join(scratch, packed.filename);
  await writeFile(
    join(scratch, 'package.json'),
    JSON.stringify({ name: 'crm-sync', private: true, type: 'module', dependencies: {} }),
  );
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], {
    cwd: scratch,
    maxBuffer: 16 * 1024 * 1024,
  });
  // The example's own client libraries come from this repository's install instead of the registry.
  for (const name of ['kafkajs', 'ioredis', '@types/node']) {
    await mkdir(join(scratch, 'node_modules', name, '..'), { recursive: true });
    await symlink(join(repoRoot, 'node_modules', name), join(scratch, 'node_modules', name), 'dir');
  }
}, 180_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the packed events package', () => {
  it('holds only dist, schemas, README.md and package.json', () => {
    const paths = packed.files.map((file) => file.path);
    expect(
      paths.filter((path) => !/^(dist\/.+|schemas\/.+\.json|README\.md|package\.json)$/.test(path)),
    ).toEqual([]);
    expect(paths).toEqual(
      expect.arrayContaining([
        'dist/index.js',
        'dist/index.d.ts',
        'schemas/presence.transition.1.schema.json',
        'schemas/presence.state.1.schema.json',
        'README.md',
      ]),
    );
  });

  it('installs with zod as its only dependency', async () => {
    const installed = JSON.parse(
      await readFile(join(scratch, 'node_modules/@presence-poller/events/package.json'), 'utf8'),
    ) as { dependencies?: Record<string, string> };
    expect(Object.keys(installed.dependencies ?? {})).toEqual(['zod']);
    for (const name of ['bullmq', 'kafkajs', 'ioredis']) {
      // Present only as the symlinks made above, never installed as a dependency of the package.
      expect(JSON.stringify(installed)).not.toContain(name);
    }
  });

  it("typechecks the README's consumer example in the scratch project", async () => {
    const readme = await readFile(join(packageDir, 'README.md'), 'utf8');
    const section = /<!-- consumer-example -->\s*```ts\n([\s\S]*?)```\s*<!-- \/consumer-example -->/.exec(
      readme,
    );
    expect(section, 'README.md has a marked consumer example').not.toBeNull();
    await writeFile(join(scratch, 'consumer.ts'), section![1]!);
    await writeFile(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '-p', scratch], { cwd: scratch }).then(
      () => 'no errors',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(result).toBe('no errors');
  });

  it('imports and decodes at run time, and refuses deep imports', async () => {
    const script = `
      import { decode, tombstoneRecordOf } from '@presence-poller/events';
      const decoded = decode(tombstoneRecordOf(1400000000, 'alice'));
      let deep = 'importable';
      try { await import('@presence-poller/events/dist/decode.js'); } catch (error) { deep = error.code; }
      console.log(JSON.stringify({ decoded, deep }));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: scratch });
    expect(JSON.parse(stdout)).toEqual({
      decoded: { type: 'tombstone', sdkAppId: 1400000000, userId: 'alice' },
      deep: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
  });
});
