// What every command gets from the outside world: streams, environment, paths, the cancellation signal, the machine (clock, host, pids, git).
import { homedir } from 'node:os';
import { Redactor } from '../redact.js';
import { localSystem, type SystemDeps } from '../system/system.js';

/** The machine's part is optional: a test pins what it needs (the clock, say), the rest is this machine. */
export interface CliDeps extends Partial<SystemDeps> {
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
    ...localSystem(),
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
