// Where loading a task file failed, as `line:column` in that file: from esbuild's syntax errors, the stack, or the import that could not be resolved.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export interface LoadErrorPlace {
  line?: number | undefined;
  column?: number | undefined;
  /** One line: what went wrong, without the file name when the place already says it. */
  message: string;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `import … from 'x'`, `export … from 'x'`, `import 'x'`, `import('x')`, `require('x')`, with their 1-based line and column. */
export function importSpecifiers(source: string): Array<{ specifier: string; line: number; column: number }> {
  const out: Array<{ specifier: string; line: number; column: number }> = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)(['"])([^'"\n]+)\1/g;
  for (const m of source.matchAll(re)) {
    const at = m.index + m[0].length - m[2]!.length - 1;
    const before = source.slice(0, at);
    const line = before.split('\n').length;
    out.push({ specifier: m[2]!, line, column: at - before.lastIndexOf('\n') });
  }
  return out;
}

/**
 * Place and message of an error thrown while importing `file`: esbuild's syntax errors name
 * `file:line:col`; Node names a module it cannot find (then the import naming it is looked up in
 * the source); a throw at load time has the file in its stack when the task is an ES module.
 */
export async function locateLoadError(err: unknown, file: string): Promise<LoadErrorPlace> {
  const text = err instanceof Error ? err.message : String(err);
  const stack = err instanceof Error ? (err.stack ?? '') : '';
  const syntax = new RegExp(`${escape(file)}:(\\d+):(\\d+): ERROR: (.+)`).exec(text);
  // esbuild counts columns from 0; editors and compilers from 1.
  if (syntax) return { line: Number(syntax[1]), column: Number(syntax[2]) + 1, message: syntax[3]!.trim() };
  const first = text.split('\n').find((l) => l.trim() !== '')?.trim().replace(/\?namespace=[\w-]+/g, '') ?? 'unknown error';

  const missing = /Cannot find (?:module|package) '([^']+)'/.exec(text);
  if (missing) {
    const source = await readFile(file, 'utf8').catch(() => '');
    const wanted = missing[1]!;
    const found = importSpecifiers(source).find(
      (i) => i.specifier === wanted || resolve(dirname(file), i.specifier) === wanted || (i.specifier.startsWith('.') && wanted.endsWith(i.specifier.replace(/^\.\//, '/'))),
    );
    const message = first.replace(/ imported from \S+$/, '').replace(/\s*Require stack:.*$/, '');
    if (found) return { line: found.line, column: found.column, message };
    return { message };
  }
  // Only a source-mapped frame (the file itself, not tsx's `?tsx-namespace=` URL of the compiled code) gives a true line.
  const place = new RegExp(`${escape(file)}:(\\d+)(?::(\\d+))?`).exec(stack);
  return { line: place ? Number(place[1]) : undefined, column: place?.[2] ? Number(place[2]) : undefined, message: first };
}
