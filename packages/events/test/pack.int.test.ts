import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchProject, run, type ScratchProject, typecheckReadmeExample } from './scratch-project.js';

/**
 * The package as a consuming team gets it: `npm pack`, installed from the tarball into a scratch project, the
 * README's consumer example typechecked there, and the tarball holding nothing but what consumers need.
 */
let scratch: string;
let packed: ScratchProject['packed'];

beforeAll(async () => {
  ({ dir: scratch, packed } = await createScratchProject('events-consumer-'));
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
    const result = await typecheckReadmeExample(scratch);
    expect(result, 'README.md has a marked consumer example').toBeDefined();
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
