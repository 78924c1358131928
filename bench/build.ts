/**
 * Compiles the service and the bench's child entries to JavaScript under .bench/build, so the worker runs as it
 * does in production (`node dist/...`) rather than through the tsx loader (which adds ~28 MB RSS and JIT noise).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
export const BENCH_DIR = join(ROOT, '.bench');
const BUILD_DIR = join(BENCH_DIR, 'build');

export interface BuildOutput {
  workerEntry: string;
  simulatorEntry: string;
}

function copyLua(fromDir: string, toDir: string): void {
  for (const name of readdirSync(fromDir)) {
    const from = join(fromDir, name);
    if (statSync(from).isDirectory()) copyLua(from, join(toDir, name));
    else if (name.endsWith('.lua')) {
      mkdirSync(toDir, { recursive: true });
      cpSync(from, join(toDir, name));
    }
  }
}

/** `reuse`: keep an existing build (for A/B experiments on a patched copy of the compiled service). */
export function buildChildren(options: { reuse?: boolean } = {}): BuildOutput {
  const out = {
    workerEntry: join(BUILD_DIR, 'bench/worker-child.js'),
    simulatorEntry: join(BUILD_DIR, 'bench/sim-child.js'),
  };
  if (options.reuse && Object.values(out).every((file) => existsSync(file))) return out;
  rmSync(BUILD_DIR, { recursive: true, force: true });
  mkdirSync(BENCH_DIR, { recursive: true });
  const tsconfig = join(BENCH_DIR, 'tsconfig.bench-build.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: '../tsconfig.json',
      compilerOptions: {
        outDir: 'build',
        rootDir: '..',
        declaration: false,
        sourceMap: true,
        noEmitOnError: false,
      },
      include: ['../src', '../bench/worker-child.ts', '../bench/sim-child.ts'],
    }),
  );
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], {
      cwd: ROOT,
      stdio: 'pipe',
    });
  } catch (error) {
    // Type errors still emit JavaScript (noEmitOnError: false); only a missing output is fatal.
    const output = String((error as { stdout?: Buffer }).stdout ?? '');
    console.warn(
      `tsc reported type errors while building the bench (JavaScript emitted anyway):\n${output.trim()}`,
    );
  }
  copyLua(join(ROOT, 'src'), join(BUILD_DIR, 'src'));
  for (const file of Object.values(out)) if (!existsSync(file)) throw new Error(`build produced no ${file}`);
  return out;
}
