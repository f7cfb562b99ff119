// SSH connection to a build server (node-ssh over ssh2): connect and authenticate with the host key checked, then run, sudo, put, get.
import { NodeSSH } from 'node-ssh';
import { errorMessage } from '../errors.js';
import type { Redactor } from '../redact.js';
import { runCommand, sudoCommand } from './commands.js';
import { SshAuthError, SshConnectError } from './errors.js';
import { publicKeyLineOf } from './host-keys.js';
import type { CommandLogger } from './log.js';
import type { CommandResult, PutOptions, RunOptions, SudoOptions } from './result.js';
import { openSession } from './session.js';
import { abortError, openSocket } from './socket.js';
import { getFile, putFile } from './transfer.js';
import { createVerifier } from './verifier.js';

/** How the server's host key is checked; there is deliberately no "accept anything". */
export type HostKeyPolicy =
  /** Fingerprints pinned from the server's console log (cloud-init prints them at first boot). */
  | { kind: 'fingerprints'; sha256: string[] }
  /** An OpenSSH known_hosts file; an unknown host is refused unless acceptNew, a changed key always. */
  | { kind: 'known_hosts'; file: string; acceptNew: boolean };

export interface ConnectOptions {
  host: string;
  port: number;
  username: string;
  privateKey: string | Buffer;
  hostKey: HostKeyPolicy;
  /** TCP connect + SSH handshake + auth. Default 20 s. */
  readyTimeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Channels in flight at once; more calls wait. sshd allows MaxSessions (default 10) and a very
   * short command still holds its session briefly after it ends, so stay well below. Default 5.
   */
  maxChannels?: number;
  /** Receives every command, its output and its end (e.g. a build log). */
  logger?: CommandLogger;
  /** Applied to command text and stderr in error messages. */
  redactor?: Redactor;
  /** SSH-level keepalive, so a dead server is noticed during a long quiet command. Default 15 s; 0 = off. */
  keepaliveIntervalMs?: number;
  /** Monotonic clock in ms: the connect deadline and command durations (performance.now by default). */
  monotonicMs?: () => number;
}

export interface PresentedHostKey {
  type: string;
  fingerprintSha256: string;
}

export interface SshConnection {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  /** `user@host:port`, used in every message. */
  readonly where: string;
  /** The host key the server presented and we accepted. */
  readonly hostKey: PresentedHostKey;
  run(command: string, opts?: RunOptions): Promise<CommandResult>;
  sudo(command: string, opts?: SudoOptions): Promise<CommandResult>;
  put(source: string | Buffer, remotePath: string, opts?: PutOptions): Promise<void>;
  get(remotePath: string, localPath: string): Promise<void>;
  close(): Promise<void>;
}

/** The ssh2 error levels we translate. */
interface Ssh2Error extends Error {
  level?: string;
  code?: string;
}

function translateConnectError(err: unknown, where: string, o: ConnectOptions, readyTimeoutMs: number): Error {
  if (err instanceof SshConnectError) return err;
  const e = err as Ssh2Error;
  if (e?.level === 'client-authentication') {
    return new SshAuthError(
      where,
      `the server refused the key for user ${o.username}; check the user name for this image and that the key pair is the one the server was booted with`,
      { cause: err },
    );
  }
  if (e?.level === 'client-timeout') {
    return new SshConnectError(where, `no SSH handshake within ${readyTimeoutMs} ms; the server may still be booting`, {
      cause: err,
    });
  }
  return new SshConnectError(where, `SSH connection failed: ${errorMessage(err)}`, { cause: err });
}

/**
 * Connect and authenticate with a private key. The host key is checked during key exchange,
 * before the key is offered, so a mismatch leaks nothing.
 */
export async function connectSsh(o: ConnectOptions): Promise<SshConnection> {
  const where = `${o.username}@${o.host}:${o.port}`;
  const readyTimeoutMs = o.readyTimeoutMs ?? 20_000;
  const monotonicMs = o.monotonicMs ?? (() => performance.now());
  if (o.signal?.aborted) throw abortError(o.signal);
  try {
    publicKeyLineOf(o.privateKey);
  } catch (err) {
    // Only the parser's message: never any part of the key.
    throw new SshConnectError(where, `the private key cannot be used (${errorMessage(err)}); pass an unencrypted OpenSSH or PEM private key`);
  }
  const verifier = await createVerifier(o, where);
  const started = monotonicMs();
  const sock = await openSocket(o.host, o.port, where, readyTimeoutMs, o.signal);
  const ssh = new NodeSSH();
  const onAbort = (): void => {
    sock.destroy();
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await ssh.connect({
      sock,
      username: o.username,
      privateKey: typeof o.privateKey === 'string' ? o.privateKey : o.privateKey.toString('utf8'),
      readyTimeout: Math.max(1, Math.round(readyTimeoutMs - (monotonicMs() - started))),
      keepaliveInterval: o.keepaliveIntervalMs ?? 15_000,
      hostVerifier: (key: Buffer, verdict: (ok: boolean) => void) => verifier.verify(key, verdict),
      ...(verifier.algorithms ? { algorithms: { serverHostKey: verifier.algorithms as never } } : {}),
    });
  } catch (err) {
    sock.destroy();
    ssh.dispose();
    if (o.signal?.aborted) throw abortError(o.signal);
    throw verifier.failure() ?? translateConnectError(err, where, o, readyTimeoutMs);
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
  const hostKey = verifier.accepted();
  if (!hostKey) {
    // ssh2 only reaches 'ready' after hostVerifier said yes; this guards against a future change.
    ssh.dispose();
    throw new SshConnectError(where, 'the host key was never verified; refusing the connection');
  }
  const session = openSession(ssh, where, { maxChannels: o.maxChannels ?? 5, logger: o.logger, redactor: o.redactor, monotonicMs });
  return {
    host: o.host,
    port: o.port,
    username: o.username,
    where,
    hostKey,
    run: (command, opts) => runCommand(session, command, opts),
    sudo: (command, opts) => sudoCommand(session, command, opts),
    put: (source, remotePath, opts) => putFile(session, source, remotePath, opts),
    get: (remotePath, localPath) => getFile(session, remotePath, localPath),
    close: () => session.close(),
  };
}
