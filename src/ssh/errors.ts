// Errors of the SSH layer and of local commands (candidates for src/errors.ts once the lead merges them).
import { ImagesyncError, type ImagesyncErrorOptions } from '../errors.js';
import type { CommandResult } from './result.js';

/** Lines of stderr kept on a command error. */
export const STDERR_TAIL_LINES = 10;

function lastLines(text: string, count: number): string[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  return lines.slice(-count);
}

/** Cut `s` to one line of at most `max` characters. */
export function oneLine(s: string, max = 120): string {
  const flat = s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * A command (remote or local) that exited non-zero or was killed. Carries the whole result,
 * as Fabric's UnexpectedExit does; the message is one line ending with the last stderr line.
 */
export class CommandError extends ImagesyncError {
  override readonly code: string = 'COMMAND_FAILED';
  /** `user@host:port` or `local`. */
  readonly where: string;
  readonly result: CommandResult;
  readonly stderrTail: string[];
  constructor(where: string, result: CommandResult, options: ImagesyncErrorOptions = {}) {
    const tail = lastLines(result.stderr, STDERR_TAIL_LINES);
    const how = result.exitCode !== null ? `exited ${result.exitCode}` : `was killed by ${result.signal ?? 'a signal'}`;
    const last = tail.at(-1);
    super(`${where}: "${oneLine(result.command, 80)}" ${how}${last ? `: ${oneLine(last, 160)}` : ''}`, {
      ...options,
      details: options.details ?? tail,
    });
    this.where = where;
    this.result = result;
    this.stderrTail = tail;
  }
}

/** A remote command exited non-zero (unless `warn: true`). */
export class RemoteCommandError extends CommandError {
  override readonly code = 'REMOTE_COMMAND_FAILED';
}

/** A workstation-side command exited non-zero (unless `warn: true`). */
export class LocalCommandError extends CommandError {
  override readonly code = 'LOCAL_COMMAND_FAILED';
}

/** A command ran past its `timeoutMs` (it was signalled and its channel closed) or was aborted. */
export class CommandTimeoutError extends ImagesyncError {
  override readonly code: string = 'COMMAND_TIMEOUT';
  readonly where: string;
  readonly command: string;
  readonly timeoutMs: number | undefined;
  constructor(where: string, command: string, timeoutMs: number | undefined, options: ImagesyncErrorOptions = {}) {
    super(
      timeoutMs === undefined
        ? `${where}: "${oneLine(command, 80)}" was aborted`
        : `${where}: "${oneLine(command, 80)}" timed out after ${timeoutMs} ms and was killed; raise timeoutMs if it is expected to take longer`,
      options,
    );
    this.where = where;
    this.command = command;
    this.timeoutMs = timeoutMs;
  }
}

/** TCP connect, handshake or authentication failed. */
export class SshConnectError extends ImagesyncError {
  override readonly code: string = 'SSH_CONNECT_FAILED';
  readonly where: string;
  constructor(where: string, message: string, options: ImagesyncErrorOptions = {}) {
    super(`${where}: ${message}`, options);
    this.where = where;
  }
}

/** The server refused our key (or the user does not exist there). */
export class SshAuthError extends SshConnectError {
  override readonly code = 'SSH_AUTH_FAILED';
}

/**
 * The host key the server presented is not the one we expect: pinned fingerprints differ,
 * the known_hosts entry changed, or the host is unknown and new keys are not accepted.
 * Raised during key exchange, before any credential is sent.
 */
export class HostKeyMismatchError extends SshConnectError {
  override readonly code = 'SSH_HOST_KEY_MISMATCH';
  readonly host: string;
  readonly expected: string[];
  readonly actual: string;
  constructor(where: string, host: string, expected: string[], actual: string, message: string) {
    super(where, message);
    this.host = host;
    this.expected = expected;
    this.actual = actual;
  }
}

/** An SFTP upload or download failed (missing file, permission, connection lost). */
export class TransferError extends ImagesyncError {
  override readonly code = 'SSH_TRANSFER_FAILED';
  readonly where: string;
  constructor(where: string, message: string, options: ImagesyncErrorOptions = {}) {
    super(`${where}: ${message}`, options);
    this.where = where;
  }
}

/**
 * A jump host (bastion) failed, and which way: its TCP connect or SSH handshake (`connect`), its
 * login (`auth`), or the forward to the next hop (`forward`: the target is not reachable from it).
 * A changed bastion host key is a HostKeyMismatchError whose `where` names the bastion.
 */
export class JumpHostError extends SshConnectError {
  override readonly code = 'SSH_JUMP_HOST_FAILED';
  readonly stage: 'connect' | 'auth' | 'forward';
  constructor(where: string, stage: 'connect' | 'auth' | 'forward', message: string, options: ImagesyncErrorOptions = {}) {
    super(where, message, options);
    this.stage = stage;
  }
}

/** sudo asked again after the password was given: it was refused. Never carries the password. */
export class SudoPasswordError extends ImagesyncError {
  override readonly code = 'SUDO_PASSWORD_REFUSED';
  readonly where: string;
  constructor(where: string, command: string) {
    super(`${where}: sudo refused the password (incorrect password) for "${oneLine(command, 80)}"; check it and run again`);
    this.where = where;
  }
}
