// How text reaches people, in any layer: paths as they read them, colour or not, every write masked.
import { isAbsolute, relative } from 'node:path';
import type { Redactor } from './redact.js';

/** Colour only on a TTY, never with NO_COLOR or TERM=dumb; --color / --no-color decide when given. */
export function useColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, flag?: boolean): boolean {
  if (flag !== undefined) return flag;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

/** A path as people read it: relative to the working directory when it is below it. */
export function displayPath(cwd: string, file: string): string {
  const rel = relative(cwd, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/** Write to a stream with every known secret masked: the last line of defence. */
export function writeSafe(deps: { redactor: Redactor }, stream: NodeJS.WritableStream, text: string): void {
  stream.write(deps.redactor.text(text));
}
