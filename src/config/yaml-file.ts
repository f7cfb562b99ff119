// One parsed YAML config file that can say on which line any key path sits.
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
} from 'yaml';
import { ConfigError } from '../errors.js';

export type KeyPath = ReadonlyArray<string | number>;

export interface YamlFile {
  /** Absolute path. */
  path: string;
  /** The path as messages show it (relative to cwd, or ~/...). */
  display: string;
  /** The plain value of the document (null for an empty file). */
  value: unknown;
  doc: Document.Parsed;
  lines: LineCounter;
}

export interface Located {
  line: number;
  /** true when the whole path exists; false when `line` is that of its nearest ancestor. */
  exact: boolean;
}

/**
 * Parse a YAML (or JSON) config file. Syntax errors become `file:line:col: message`.
 * `redact` scrubs secret values from messages, since a YAML message may quote source text.
 */
export function parseYamlFile(
  path: string,
  display: string,
  text: string,
  redact: (s: string) => string,
): YamlFile {
  const lines = new LineCounter();
  // merge: PyYAML (openstacksdk) honours `<<:` merge keys, so clouds.yaml files in the wild use them.
  const doc = parseDocument(text, {
    lineCounter: lines,
    keepSourceTokens: true,
    prettyErrors: false,
    merge: true,
    uniqueKeys: true,
  });
  const first = doc.errors[0];
  if (first) {
    const pos = lines.linePos(first.pos[0]);
    const line = Math.max(pos.line, 1);
    throw new ConfigError(`${display}:${line}:${pos.col}: ${redact(oneLine(first.message))}`);
  }
  // An alias to a missing anchor parses fine and only fails in toJS(), without a position.
  let badAlias: { line: number; source: string } | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (badAlias === undefined && node.resolve(doc) === undefined) {
        badAlias = { line: lineAt(lines, node.range?.[0] ?? 0), source: node.source };
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (badAlias) {
    throw new ConfigError(
      redact(`${display}:${badAlias.line}: alias *${badAlias.source} refers to no anchor; define &${badAlias.source} before it`),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    throw new ConfigError(`${display}:1: ${redact(oneLine(err instanceof Error ? err.message : String(err)))}`, {
      cause: err,
    });
  }
  return { path, display, value: value ?? null, doc, lines };
}

function oneLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '').trim();
}

function lineAt(lines: LineCounter, offset: number): number {
  return Math.max(lines.linePos(offset).line, 1);
}

/** The line of the key at `path`, or of its nearest existing ancestor's key. */
export function locate(file: YamlFile, path: KeyPath): Located {
  let node: unknown = file.doc.contents;
  let line = 1;
  for (const [i, seg] of path.entries()) {
    if (isAlias(node)) node = node.resolve(file.doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return { line, exact: false };
      const keyNode = pair.key as { range?: [number, number, number] | null };
      if (keyNode.range) line = lineAt(file.lines, keyNode.range[0]);
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg];
      if (item === undefined) return { line, exact: false };
      const range = (item as { range?: [number, number, number] | null }).range;
      if (range) line = lineAt(file.lines, range[0]);
      node = item;
    } else {
      return { line, exact: i === path.length };
    }
  }
  return { line, exact: true };
}

/** The source text of a plain scalar at `path` (so `password: 0123` stays "0123", not 123). */
export function scalarSource(file: YamlFile, path: KeyPath): string | undefined {
  let node: unknown = file.doc.contents;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(file.doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return undefined;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else {
      return undefined;
    }
  }
  if (isAlias(node)) node = node.resolve(file.doc);
  return isScalar(node) && typeof node.source === 'string' ? node.source : undefined;
}

/** True if `path` exists in the file's value. */
export function hasPath(file: YamlFile, path: KeyPath): boolean {
  let v: unknown = file.value;
  for (const seg of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, seg)) return false;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return true;
}

/** The plain value at `path`, undefined when absent. */
export function valueAt(file: YamlFile, path: KeyPath): unknown {
  let v: unknown = file.value;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}
