/**
 * How long does loading a 1,000,000-member watchlist take, and how much memory does it keep?
 * Run: `npx tsx bench/config-load.ts [count]` (default 1,000,000 IDs). Writes a temp config tree, loads it with
 * `loadConfig` and prints wall time plus RSS / heap growth. Pass `--expose-gc` through NODE_OPTIONS for steadier heap
 * numbers.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { loadConfig } from '../src/config/index.js';

const count = Number(process.argv[2] ?? 1_000_000);
const root = mkdtempSync(join(tmpdir(), 'presence-bench-'));

async function writeUsers(path: string): Promise<void> {
  const out = createWriteStream(path);
  const batch: string[] = [];
  for (let index = 0; index < count; index += 1) {
    batch.push(`u${String(index).padStart(6, '0')}`);
    if (batch.length === 10_000) {
      if (!out.write(`${batch.join('\n')}\n`)) await once(out, 'drain');
      batch.length = 0;
    }
  }
  if (batch.length) out.write(`${batch.join('\n')}\n`);
  out.end();
  await once(out, 'finish');
}

const gc = (globalThis as { gc?: () => void }).gc;
const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MiB`;

try {
  mkdirSync(join(root, 'watchlists'));
  writeFileSync(
    join(root, 'presence.yaml'),
    'apps:\n  - name: bench\n    sdkAppId: 1400000000\n    endpoint: http://127.0.0.1:8089\n    identifier: administrator\n',
  );
  writeFileSync(
    join(root, 'watchlists', 'everyone.yaml'),
    'name: everyone\ninterval: 60s\nuserFiles: [users.txt]\n',
  );
  const usersPath = join(root, 'watchlists', 'users.txt');
  await writeUsers(usersPath);

  gc?.();
  const before = process.memoryUsage();
  const startedAt = performance.now();
  const { config } = await loadConfig({
    configPath: join(root, 'presence.yaml'),
    env: { TENCENT_IM_SECRET_KEY: 'bench-secret-key-not-real' },
  });
  const elapsedMs = performance.now() - startedAt;
  const peak = process.memoryUsage();
  gc?.();
  const after = process.memoryUsage();
  const members = config.watchlists[0]!.userIds.length;

  console.log(`user file: ${count.toLocaleString('en-US')} IDs, ${mb(statSync(usersPath).size)}`);
  console.log(
    `loadConfig: ${elapsedMs.toFixed(0)} ms (${Math.round(members / (elapsedMs / 1_000)).toLocaleString('en-US')} IDs/s)`,
  );
  console.log(`members resolved: ${members.toLocaleString('en-US')}`);
  console.log(`RSS: ${mb(before.rss)} -> ${mb(peak.rss)} (+${mb(peak.rss - before.rss)})`);
  console.log(
    `heap used: ${mb(before.heapUsed)} -> ${mb(peak.heapUsed)} right after, ${mb(after.heapUsed)} after GC` +
      ` (+${mb(after.heapUsed - before.heapUsed)} retained, i.e. the member list itself)${gc ? '' : ' [no --expose-gc]'}`,
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
