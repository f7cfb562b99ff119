// Parses manifest JSON text: syntax errors as line:column, and keys given twice (JSON.parse keeps the last silently).
import type { PathSegment } from './json-path.js';

export interface LineColumn {
  line: number;
  column: number;
}

export interface DuplicateKey {
  /** Path of the object holding the key. */
  path: PathSegment[];
  key: string;
  first: LineColumn;
  second: LineColumn;
}

export type JsonTextResult =
  | { ok: true; value: unknown; duplicateKeys: DuplicateKey[] }
  | { ok: false; at: LineColumn; message: string };

/** 1-based line and column of a character offset. */
export function lineColumnAt(text: string, offset: number): LineColumn {
  const clamped = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < clamped; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: clamped - lineStart + 1 };
}

/**
 * Parse JSON; on a syntax error, keep V8's wording but point at line:column. V8 (Node 20) gives
 * "at position N" for most errors but not for "Unexpected token 'x', "…" is not valid JSON", so
 * the scanner below finds the offset itself when V8 does not say.
 */
export function parseJsonText(raw: string): JsonTextResult {
  // Editors on Windows may save a byte order mark; JSON.parse rejects it, people cannot see it.
  const text = raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const v8 = err instanceof Error ? err.message : String(err);
    const position = /at position (\d+)/.exec(v8);
    let offset: number;
    if (position?.[1] !== undefined) offset = Number(position[1]);
    else if (/Unexpected end of JSON input/.test(v8)) offset = text.trimEnd().length;
    else offset = scanJson(text).errorOffset ?? text.trimEnd().length;
    const message = v8
      .replace(/ (?:in JSON )?at position \d+.*$/s, '')
      .replace(/, (?:\.\.\.)?".*" is not valid JSON$/s, '')
      .replace(/\s+/g, ' ')
      .trim();
    // JSON has no comments, but many editors (JSONC) colour them as if it had: say so plainly.
    const comment = commentAt(text, offset);
    if (comment !== undefined) return { ok: false, at: lineColumnAt(text, comment), message: 'JSON has no comments; remove the // or /* */ comment (use a "description" field to explain an image)' };
    return { ok: false, at: lineColumnAt(text, offset), message: message || 'invalid JSON' };
  }
  return { ok: true, value, duplicateKeys: scanJson(text).duplicateKeys };
}

/** The offset of a `//` or `/*` comment at `offset` (or right after whitespace there), else undefined. */
function commentAt(text: string, offset: number): number | undefined {
  let i = offset;
  while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  return text.startsWith('//', i) || text.startsWith('/*', i) ? i : undefined;
}

interface ScanResult {
  errorOffset?: number;
  duplicateKeys: DuplicateKey[];
}

class ScanError extends Error {
  constructor(readonly offset: number) {
    super(`JSON syntax error at ${offset}`);
  }
}

/** A strict RFC 8259 scanner that records where each key is, to find keys given twice. */
function scanJson(text: string): ScanResult {
  const duplicateKeys: DuplicateKey[] = [];
  let i = 0;

  const skipWs = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const expect = (literal: string): void => {
    for (const ch of literal) {
      if (text[i] !== ch) throw new ScanError(i);
      i++;
    }
  };
  const scanString = (): string => {
    const start = i;
    expect('"');
    while (i < text.length) {
      const ch = text.charCodeAt(i);
      if (ch === 34) {
        i++;
        return JSON.parse(text.slice(start, i)) as string;
      }
      if (ch < 0x20) throw new ScanError(i);
      if (ch === 92) {
        const next = text[i + 1];
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new ScanError(i);
          i += 6;
        } else if (next !== undefined && '"\\/bfnrt'.includes(next)) i += 2;
        else throw new ScanError(i);
      } else i++;
    }
    throw new ScanError(i);
  };
  const scanNumber = (): void => {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (match === null) throw new ScanError(i);
    i += match[0].length;
  };
  const scanValue = (path: PathSegment[]): void => {
    skipWs();
    const ch = text[i];
    if (ch === '{') scanObject(path);
    else if (ch === '[') scanArray(path);
    else if (ch === '"') scanString();
    else if (ch === 't') expect('true');
    else if (ch === 'f') expect('false');
    else if (ch === 'n') expect('null');
    else scanNumber();
  };
  const scanObject = (path: PathSegment[]): void => {
    expect('{');
    const seen = new Map<string, number>();
    skipWs();
    if (text[i] === '}') {
      i++;
      return;
    }
    for (;;) {
      skipWs();
      const keyOffset = i;
      const key = scanString();
      const firstOffset = seen.get(key);
      if (firstOffset !== undefined) {
        duplicateKeys.push({ path, key, first: lineColumnAt(text, firstOffset), second: lineColumnAt(text, keyOffset) });
      } else seen.set(key, keyOffset);
      skipWs();
      expect(':');
      scanValue([...path, key]);
      skipWs();
      if (text[i] === ',') {
        i++;
        continue;
      }
      expect('}');
      return;
    }
  };
  const scanArray = (path: PathSegment[]): void => {
    expect('[');
    skipWs();
    if (text[i] === ']') {
      i++;
      return;
    }
    for (let index = 0; ; index++) {
      scanValue([...path, index]);
      skipWs();
      if (text[i] === ',') {
        i++;
        continue;
      }
      expect(']');
      return;
    }
  };

  try {
    scanValue([]);
    skipWs();
    if (i < text.length) throw new ScanError(i);
    return { duplicateKeys };
  } catch (err) {
    if (err instanceof ScanError) return { errorOffset: err.offset, duplicateKeys };
    throw err;
  }
}
