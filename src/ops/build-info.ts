import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The running build: `version` of the nearest package.json above this module (src/ or dist/src/), and revision. */
export interface BuildInfo {
  version: string;
  /** PRESENCE_REVISION (set by the image build), else "unknown". */
  revision: string;
}

let version: string | undefined;

export function buildInfo(): BuildInfo {
  // The file is read once; the environment is read each time (cheap, and tests may change it).
  return { version: (version ??= readPackageVersion()), revision: readRevision() };
}

function readPackageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const version: unknown = (JSON.parse(readFileSync(candidate, 'utf8')) as { version?: unknown }).version;
      return typeof version === 'string' ? version : 'unknown';
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

function readRevision(): string {
  const revision = process.env.PRESENCE_REVISION?.trim();
  return revision ? revision : 'unknown';
}
