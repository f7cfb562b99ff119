// What every command gets from the outside world: streams, environment, paths, the cancellation signal.
import { homedir } from 'node:os';
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
