/**
 * A parsed YAML file that remembers where every value came from, so that any problem found later (by the schema or
 * by a cross-file rule) can be reported with its file, line and column.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { ConfigLocation, IssueList } from './issues.js';

export type ConfigPath = readonly (string | number)[];

export interface YamlSource {
  /** Absolute path of the file. */
  path: string;
  /** The path shown in issues. */
  file: string;
  /** The document as plain JavaScript; `undefined` for an empty file. */
  data: unknown;
  /**
   * The location of the value at `path` (or of its key with `part: 'key'`). A path that does not exist in the file
   * resolves to its deepest existing ancestor, so a missing field points at the object that should hold it.
   */
  locate(path: ConfigPath, part?: 'key' | 'value'): ConfigLocation;
}

/** Parses YAML text; reports syntax errors to `issues` and returns `undefined` when there are any. */
export function parseYamlSource(
  text: string,
  path: string,
  file: string,
  issues: IssueList,
): YamlSource | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  for (const error of doc.errors) {
    const position = error.linePos?.[0];
    // `prettyErrors` appends a copy of the offending source lines; keep only the description, which cannot echo a
    // secret someone pasted into the file.
    const message = error.message.split(/ at line \d+, column \d+/)[0]?.trim() ?? error.message;
    issues.add(
      { file, line: position?.line ?? 1, column: position?.col ?? 1 },
      '',
      'yaml_syntax',
      `YAML: ${message}`,
    );
  }
  if (doc.errors.length > 0) return undefined;

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1_000 });
  } catch (error) {
    issues.add(
      { file, line: 1, column: 1 },
      '',
      'yaml_syntax',
      `YAML: ${(error as Error).message.split('\n')[0]}`,
    );
    return undefined;
  }

  const position = (offset: number): ConfigLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };

  return {
    path,
    file,
    data: data ?? undefined,
    locate(configPath, part = 'value') {
      const found = findNode(doc, configPath);
      // A missing field points at the key of its parent (`sasl:`), or at a list item when the parent is one.
      const node = !found.complete || part === 'key' ? (found.key ?? found.node) : (found.node ?? found.key);
      return node?.range ? position(node.range[0]) : { file, line: 1, column: 1 };
    },
  };
}

/** Reads and parses a YAML file; a missing or unreadable file becomes an issue at `origin` (or the file itself). */
export async function readYamlSource(
  path: string,
  file: string,
  issues: IssueList,
  origin?: { location: ConfigLocation; field: string },
): Promise<YamlSource | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (error as Error).message;
    issues.add(
      origin?.location ?? { file },
      origin?.field ?? '',
      'file_not_found',
      `cannot read ${file}: ${reason}`,
    );
    return undefined;
  }
  return parseYamlSource(text, path, file, issues);
}

interface FoundNode {
  /** The deepest node reached (the value at the full path when `complete`). */
  node: Node | undefined;
  /** The key node of the last segment reached, when it was a map key. */
  key: Node | undefined;
  complete: boolean;
}

function findNode(doc: Document, path: ConfigPath): FoundNode {
  let node = (doc.contents ?? undefined) as Node | undefined;
  let key: Node | undefined;
  for (const [index, segment] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (!pair) return { node, key, complete: false };
      key = pair.key as Node;
      // `key:` with no value has a null value node; point at the key then.
      node = (pair.value ?? undefined) as Node | undefined;
      if (!node) return { node: key, key, complete: index === path.length - 1 };
    } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
      key = undefined;
      node = node.items[segment] as Node;
    } else {
      return { node, key, complete: false };
    }
  }
  return { node, key, complete: true };
}
