import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

/**
 * A consuming team's project, made the way they would: `npm pack` of the events package, installed from the tarball
 * into a fresh directory. Shared by the package's own pack test and the pipeline test that consumes with it.
 */
export const run = promisify(execFile);
export const packageDir = resolve(import.meta.dirname, '..');
export const repoRoot = resolve(packageDir, '../..');

export interface ScratchProject {
  dir: string;
  /** What `npm pack --json` said of the tarball. */
  packed: { filename: string; files: Array<{ path: string }> };
}

export async function createScratchProject(prefix: string): Promise<ScratchProject> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: packageDir,
    maxBuffer: 16 * 1024 * 1024,
  });
  // prepack (tsc) writes to stdout before npm's JSON: the JSON array is the last thing printed.
  const packed = (
    JSON.parse(stdout.slice(stdout.lastIndexOf('\n[') + 1)) as Array<ScratchProject['packed']>
  )[0]!;
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'crm-sync', private: true, type: 'module', dependencies: {} }),
  );
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, packed.filename)], {
    cwd: dir,
    maxBuffer: 16 * 1024 * 1024,
  });
  // The consumer's own client libraries come from this repository's install instead of the registry.
  for (const name of ['kafkajs', 'ioredis', '@types/node']) {
    await mkdir(join(dir, 'node_modules', name, '..'), { recursive: true });
    await symlink(join(repoRoot, 'node_modules', name), join(dir, 'node_modules', name), 'dir');
  }
  return { dir, packed };
}

/**
 * Typechecks the README's marked consumer example (between `<!-- consumer-example -->` markers) in the project;
 * resolves 'no errors' or the compiler's output, and `undefined` when the README has no marked example.
 */
export async function typecheckReadmeExample(dir: string): Promise<string | undefined> {
  const readme = await readFile(join(packageDir, 'README.md'), 'utf8');
  const section = /<!-- consumer-example -->\s*```ts\n([\s\S]*?)```\s*<!-- \/consumer-example -->/.exec(
    readme,
  );
  if (!section) return undefined;
  await writeFile(join(dir, 'consumer.ts'), section[1]!);
  await writeFile(
    join(dir, 'tsconfig.json'),
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
  return run(process.execPath, [tsc, '-p', dir], { cwd: dir }).then(
    () => 'no errors',
    (error: { stdout?: string }) => error.stdout ?? String(error),
  );
}
