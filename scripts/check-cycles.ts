/**
 * Fails when imports under src/ form a cycle, between files or between folders (`src/<folder>/`; each top-level
 * file counts as a folder of its own). Folder cycles are what make a layout hard to read: `state` importing `events` while
 * `events` imports `state` means neither can be understood first. Run by `npm run lint`.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const src = resolve(import.meta.dirname, '../src');
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*'(\.[^']+)'/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The folder of a file under src/; a top-level file (main.ts, vocabulary.ts...) is a node of its own. */
function folderOf(file: string): string {
  return relative(src, file).split(sep)[0]!;
}

/** Every cycle found by a depth-first search, each once, as a list of nodes. */
export function findCycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') {
        const cycle = stack.slice(stack.indexOf(next));
        const key = [...cycle].sort().join(' ');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push([...cycle, next]);
        }
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

function importGraphs(): { files: Map<string, Set<string>>; folders: Map<string, Set<string>> } {
  const files = new Map<string, Set<string>>();
  const folders = new Map<string, Set<string>>();
  for (const file of sourceFiles(src)) {
    const from = relative(src, file);
    const targets = new Set<string>();
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = resolve(dirname(file), match[1]!.replace(/\.js$/, '.ts'));
      targets.add(relative(src, target));
      const [a, b] = [folderOf(file), folderOf(target)];
      if (a !== b) {
        if (!folders.has(a)) folders.set(a, new Set());
        folders.get(a)!.add(b);
      }
    }
    files.set(from, targets);
  }
  return { files, folders };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { files, folders } = importGraphs();
  const cycles = [
    ...findCycles(folders).map((cycle) => `folders: ${cycle.join(' -> ')}`),
    ...findCycles(files).map((cycle) => `files: ${cycle.join(' -> ')}`),
  ];
  if (cycles.length > 0) {
    console.error(`import cycles under src/:\n  ${cycles.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`no import cycles under src/ (${files.size} files, ${folders.size} folders)`);
}
