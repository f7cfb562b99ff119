// Result and option types shared by remote (SSH) and local (zx) commands.
import { InputError } from '../errors.js';

/** What one command did. Output is exactly what the command wrote (not trimmed). */
export interface CommandResult {
  command: string;
  /** null when the command was killed by a signal. */
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface RunOptions {
  /** Return the result instead of throwing when the exit code is not 0. */
  warn?: boolean;
  /** Exported before the command; values are quoted, names must be shell identifiers. */
  env?: Record<string, string>;
  /** Directory to run in (quoted). */
  cwd?: string;
  /** Kill the command and throw CommandTimeoutError after this long. */
  timeoutMs?: number;
  onStdout?(chunk: string): void;
  onStderr?(chunk: string): void;
  signal?: AbortSignal;
  /** Written to the command's stdin, which is then closed. */
  stdin?: string;
}

export interface SudoOptions extends RunOptions {
  /** Run as this user (`sudo -u`) instead of root. */
  user?: string;
}

export interface PutOptions {
  /** File mode, octal: 0o644 or '0644'. Default: what SFTP creates (umask), or 0644 with sudo. */
  mode?: number | string;
  /** Write as root: upload to a private temp file, then `sudo install -m MODE`. */
  sudo?: boolean;
  signal?: AbortSignal;
}

/** The mode as four octal digits (for `install -m` and chmod); throws InputError on anything else. */
export function normalizeMode(mode: number | string): string {
  const text = typeof mode === 'number' ? mode.toString(8) : mode.replace(/^0o/, '');
  if (!/^[0-7]{3,4}$/.test(text)) {
    throw new InputError(`file mode ${JSON.stringify(String(mode))} is not an octal mode such as 0644`);
  }
  return text.padStart(4, '0');
}
