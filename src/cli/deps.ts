// What every command gets from the outside world: streams, environment, paths, the cancellation signal.
import { homedir } from 'node:os';
import { isAbsolute, relative } from 'node:path';
import { Redactor } from '../redact.js';

export interface CliDeps {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  home: string;
  /** For confirmations; absent or not a TTY → no prompt. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
  redactor: Redactor;
}

export function processDeps(signal: AbortSignal): CliDeps {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    home: homedir(),
    signal,
    redactor: new Redactor(),
  };
}

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
export function writeSafe(deps: Pick<CliDeps, 'redactor'>, stream: NodeJS.WritableStream, text: string): void {
  stream.write(deps.redactor.text(text));
}
