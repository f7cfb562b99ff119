// `imagesync run` in-process for the CLI tests: runRun with captured streams, errors through the CLI's one top-level catch.
import { PassThrough } from 'node:stream';
import { runRun, type RunCommandOptions } from '../../src/cli/commands/run.js';
import type { CliDeps } from '../../src/cli/deps.js';
import { reportError } from '../../src/cli/main.js';
import { Redactor } from '../../src/redact.js';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunContext {
  /** The working and home directory (no ~/.ssh keys unless the test puts them there). */
  dir: string;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** What stdin holds (it is then closed); undefined: a stdin that never ends. */
  stdin?: string;
}

export async function runCaptured(opts: RunCommandOptions, ctx: RunContext): Promise<Captured> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  const stdin = new PassThrough();
  if (ctx.stdin !== undefined) stdin.end(ctx.stdin);
  const deps: CliDeps = {
    stdout,
    stderr,
    stdin,
    env: { PATH: process.env.PATH, ...ctx.env },
    cwd: ctx.dir,
    home: ctx.dir,
    signal: ctx.signal ?? new AbortController().signal,
    redactor: new Redactor(),
  };
  let code: number;
  try {
    code = await runRun(opts, deps);
  } catch (e) {
    code = reportError(e, deps);
  }
  return { code, stdout: out, stderr: err };
}
