// Workstation-side commands for build steps and tasks, via zx, with the same result and errors as run().
import { $ } from 'zx';
import { InputError } from '../errors.js';
import type { Redactor } from '../redact.js';
import { CommandTimeoutError, LocalCommandError } from './errors.js';
import type { CommandLogger } from './log.js';
import { isEnvName } from './quote.js';
import type { CommandResult, RunOptions } from './result.js';

export interface LocalOptions extends RunOptions {
  logger?: CommandLogger;
  redactor?: Redactor;
  /** Shell that runs the command; default zx's choice (bash). */
  shell?: string;
  /** Monotonic clock in ms for the duration (performance.now by default). */
  monotonicMs?: () => number;
}

const WHERE = 'local';

/** A TemplateStringsArray holding `command` verbatim: zx quotes interpolated values, and this one must not be. */
function verbatim(command: string): TemplateStringsArray {
  return Object.assign([command], { raw: [command] }) as unknown as TemplateStringsArray;
}

/**
 * Run `command` in a local shell. A zx `$` is made per call with its own options, so no global zx
 * setting is read or changed. The child runs in its own process group, so a timeout or abort kills
 * the whole pipeline and not only the shell.
 */
export async function local(command: string, opts: LocalOptions = {}): Promise<CommandResult> {
  for (const name of Object.keys(opts.env ?? {})) {
    if (!isEnvName(name)) {
      throw new InputError(`local: environment variable name ${JSON.stringify(name)} is not a shell identifier; use letters, digits and _`);
    }
  }
  const redact = (s: string): string => (opts.redactor ? opts.redactor.text(s) : s);
  if (opts.signal?.aborted) throw new CommandTimeoutError(WHERE, redact(command), undefined, { cause: opts.signal.reason });

  const sh = $({
    cwd: opts.cwd ?? process.cwd(),
    env: { ...process.env, ...opts.env },
    nothrow: true,
    quiet: true,
    verbose: false,
    // zx prepends `set -euo pipefail;` by default; remote commands run in a plain `sh -c`, so match that.
    prefix: '',
    postfix: '',
    detached: true,
    ...(opts.shell ? { shell: opts.shell } : {}),
    ...(opts.stdin !== undefined ? { input: opts.stdin } : {}),
  });

  const monotonicMs = opts.monotonicMs ?? (() => performance.now());
  const started = monotonicMs();
  const entry = opts.logger?.start(WHERE, command);
  const proc = sh(verbatim(command));
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (chunk: string) => {
    entry?.stdout(chunk);
    opts.onStdout?.(chunk);
  });
  proc.stderr.on('data', (chunk: string) => {
    entry?.stderr(chunk);
    opts.onStderr?.(chunk);
  });

  let stopped: CommandTimeoutError | undefined;
  const stop = (error: CommandTimeoutError): void => {
    if (stopped) return;
    stopped = error;
    const pid = proc.child?.pid;
    try {
      if (pid !== undefined) process.kill(-pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  const onAbort = (): void => stop(new CommandTimeoutError(WHERE, redact(command), undefined, { cause: opts.signal?.reason }));
  const timer =
    opts.timeoutMs !== undefined
      ? setTimeout(() => stop(new CommandTimeoutError(WHERE, redact(command), opts.timeoutMs)), opts.timeoutMs)
      : undefined;
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  let out;
  try {
    out = await proc;
  } finally {
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  const durationMs = monotonicMs() - started;
  if (stopped) {
    entry?.end({ error: stopped.message, durationMs });
    throw stopped;
  }
  const result: CommandResult = {
    command,
    exitCode: out.exitCode,
    ...(out.signal ? { signal: out.signal } : {}),
    stdout: out.stdout,
    stderr: out.stderr,
    durationMs,
  };
  entry?.end({ exitCode: result.exitCode, signal: result.signal, durationMs });
  if (result.exitCode === 0 || opts.warn) return result;
  throw new LocalCommandError(WHERE, {
    ...result,
    command: redact(result.command),
    stdout: redact(result.stdout),
    stderr: redact(result.stderr),
  });
}
