import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inspectConfig, type ConfigIssue } from '../../src/config/index.js';

/** A secret that must never show up in any message. */
export const SECRET = '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e';
export const SECRET_ENV = { TENCENT_IM_SECRET_KEY: SECRET };

export const BASE_PRESENCE = `apps:
  - name: demo
    sdkAppId: 1400000000
    endpoint: http://127.0.0.1:8089
    identifier: administrator
`;

export const BASE_VIP = `name: vip
interval: 5s
users: [alice, bob]
`;

/** File contents by path relative to the tree root; `null` leaves a base file out. */
export type TreeFiles = Record<string, string | null>;

const trees: string[] = [];

/** Writes a config tree (base presence.yaml + watchlists/vip.yaml, then `files`) into a fresh temp dir. */
export function writeTree(files: TreeFiles = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'presence-config-'));
  trees.push(root);
  const all: TreeFiles = { 'presence.yaml': BASE_PRESENCE, 'watchlists/vip.yaml': BASE_VIP, ...files };
  mkdirSync(join(root, 'watchlists'), { recursive: true });
  for (const [path, text] of Object.entries(all)) {
    if (text === null) continue;
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** Removes every tree written so far (call from afterAll). */
export function removeTrees(): void {
  for (const root of trees.splice(0)) rmSync(root, { recursive: true, force: true });
}

/** Loads a tree with paths shown relative to its root. */
export async function inspectTree(files: TreeFiles, env: Record<string, string> = SECRET_ENV) {
  const root = writeTree(files);
  return { root, ...(await inspectConfig({ configPath: 'presence.yaml', cwd: root, env })) };
}

/** `n` IDs u000000.. one per line. */
export function userLines(count: number, from = 0): string {
  return (
    Array.from({ length: count }, (_, index) => `u${String(from + index).padStart(6, '0')}`).join('\n') + '\n'
  );
}

/** A compact, readable form for assertion messages. */
export function brief(issues: readonly ConfigIssue[]): string[] {
  return issues.map(
    (issue) =>
      `${issue.file}:${issue.line}:${issue.column} ${issue.field} [${issue.severity}] ${issue.message}`,
  );
}
