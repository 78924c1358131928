import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  configWatchPaths,
  loadConfig,
  watchConfigFiles,
  type ConfigWatcher,
} from '../../src/config/index.js';
import { removeTrees, SECRET_ENV, writeTree } from './config-tree.js';

afterAll(removeTrees);

let watcher: ConfigWatcher | undefined;
afterEach(() => {
  watcher?.close();
  watcher = undefined;
});

function nextChange(
  start: (onChange: (change: { paths: string[] }) => void) => void,
): Promise<{ paths: string[] }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no change reported within 5s')), 5_000);
    start((change) => {
      clearTimeout(timer);
      resolve(change);
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('watchConfigFiles', () => {
  it('reports a change of presence.yaml once per burst of writes', async () => {
    const root = writeTree();
    const configPath = join(root, 'presence.yaml');
    const calls: string[][] = [];
    const first = nextChange((onChange) => {
      watcher = watchConfigFiles(configPath, {
        debounceMs: 100,
        onChange: (change) => {
          calls.push(change.paths);
          onChange(change);
        },
      });
    });
    for (let index = 0; index < 3; index += 1) writeFileSync(configPath, `# edit ${index}\n${'x: 1\n'}`);
    const change = await first;
    expect(change.paths).toEqual([configPath]);
    await sleep(300);
    expect(calls).toHaveLength(1);
  });

  it('reports a new or changed watchlist file and ignores unrelated files beside presence.yaml', async () => {
    const root = writeTree();
    const change = nextChange((onChange) => {
      watcher = watchConfigFiles(join(root, 'presence.yaml'), { debounceMs: 50, onChange });
    });
    writeFileSync(join(root, 'notes.txt'), 'not config');
    writeFileSync(join(root, 'watchlists', 'ops.yaml'), 'name: ops\nusers: [x]\n');
    expect((await change).paths).toEqual([join(root, 'watchlists', 'ops.yaml')]);
  });

  it('watches user files outside the watchlist directory through configWatchPaths', async () => {
    const root = writeTree({
      'watchlists/vip.yaml': 'name: vip\nuserFiles: [../data/vip.txt]\n',
      'data/vip.txt': 'alice\n',
    });
    const { config } = await loadConfig({ configPath: join(root, 'presence.yaml'), env: SECRET_ENV });
    expect(configWatchPaths(config)).toEqual([
      join(root, 'presence.yaml'),
      join(root, 'watchlists'),
      join(root, 'data', 'vip.txt'),
    ]);
    const change = nextChange((onChange) => {
      watcher = watchConfigFiles(config.configPath, {
        debounceMs: 50,
        onChange,
        paths: configWatchPaths(config),
      });
    });
    writeFileSync(join(root, 'data', 'vip.txt'), 'alice\nbob\n');
    expect((await change).paths).toEqual([join(root, 'data', 'vip.txt')]);
  });

  it('stops reporting after close()', async () => {
    const root = writeTree();
    const calls: unknown[] = [];
    const closed = watchConfigFiles(join(root, 'presence.yaml'), {
      debounceMs: 20,
      onChange: (change) => calls.push(change),
    });
    closed.close();
    writeFileSync(join(root, 'presence.yaml'), 'apps: []\n');
    await sleep(200);
    expect(calls).toEqual([]);
  });
});
