import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// One Node version everywhere: the one the tests run on is the one the image ships and the one developers get.
const root = resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(resolve(root, file), 'utf8');
const pinned = read('.nvmrc').trim();
const pkg = JSON.parse(read('package.json')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};

describe('the Node version', () => {
  it('is pinned once: .nvmrc, the node dev dependency that npm scripts run on, and the image agree', () => {
    expect(pinned).toMatch(/^24\.\d+\.\d+$/);
    expect(pkg.devDependencies.node).toBe(pinned);
    expect(/^ARG NODE_VERSION=(\S+)$/m.exec(read('Dockerfile'))?.[1]).toBe(pinned);
  });

  it('is the one these tests run on, and satisfies engines', () => {
    expect(process.version).toBe(`v${pinned}`);
    const minimum = /^>=(\d+)\.(\d+)$/.exec(pkg.engines.node);
    expect(minimum).not.toBeNull();
    const [major, minor] = pinned.split('.').map(Number) as [number, number];
    expect(
      major > Number(minimum![1]) || (major === Number(minimum![1]) && minor >= Number(minimum![2])),
    ).toBe(true);
  });
});
