// SSH connection to a build server (node-ssh over ssh2): connect and authenticate with the host key checked, then run, sudo, put, get.
import type { Duplex } from 'node:stream';
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
import { createTunnel, type JumpHost, type Tunnel } from './jump.js';
import { getFile, putFile } from './transfer.js';
import { createVerifier, type Verifier } from './verifier.js';
import type { HostKeyPolicy, PresentedHostKey } from './host-key-policy.js';

export type { HostKeyPolicy, PresentedHostKey } from './host-key-policy.js';

export interface ConnectOptions {
  host: string;
  port: number;
  username: string;
  /** The key to log in with; with `agent` too, it is offered first. One of them is needed. */
  privateKey?: string | Buffer | undefined;
  /** An ssh-agent's socket ($SSH_AUTH_SOCK): its keys are offered (after `privateKey`). */
  agent?: string | undefined;
  hostKey: HostKeyPolicy;
  /** Reach the server through these jump hosts (OpenSSH's -J), opened and closed with the connection. */
  jump?: readonly JumpHost[] | undefined;
  /** Reach the server through a tunnel the caller keeps open (and closes): one bastion login for many tries. */
  via?: Tunnel | undefined;
  /**
   * For `sudo` on a server that asks for a password: answered when sudo prompts (never sent
   * otherwise), never logged. Without it sudo runs with -n and fails instead of prompting.
   */
  sudoPassword?: string | undefined;
  /** TCP connect + SSH handshake + auth, through the jump hosts too. Default 20 s. */
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
    const what = o.privateKey !== undefined ? (o.agent !== undefined ? `the key and the keys of ssh-agent (${o.agent})` : 'the key') : `the keys of ssh-agent (${o.agent})`;
    return new SshAuthError(
      where,
      `the server refused ${what} for user ${o.username}; check the user name for this image and that the key pair is the one the server was booted with`,
      { cause: err },
    );
  }
  if (e?.level === 'agent') return new SshAuthError(where, `ssh-agent (${o.agent}) failed: ${errorMessage(err)}`, { cause: err });
  if (e?.level === 'client-timeout') {
    return new SshConnectError(where, `no SSH handshake within ${readyTimeoutMs} ms; the server may still be booting`, {
      cause: err,
    });
  }
  return new SshConnectError(where, `SSH connection failed: ${errorMessage(err)}`, { cause: err });
}

/**
 * Connect and authenticate with a private key or an agent's keys, directly or through jump hosts.
 * Every host key is checked during key exchange, before any key is offered, so a mismatch leaks nothing.
 */
export async function connectSsh(o: ConnectOptions): Promise<SshConnection> {
  const target = `${o.username}@${o.host}:${o.port}`;
  const readyTimeoutMs = o.readyTimeoutMs ?? 20_000;
  const monotonicMs = o.monotonicMs ?? (() => performance.now());
  if (o.signal?.aborted) throw abortError(o.signal);
  if (o.privateKey === undefined && o.agent === undefined) throw new SshConnectError(target, 'no key and no ssh-agent to log in with');
  if (o.privateKey !== undefined) {
    try {
      publicKeyLineOf(o.privateKey);
    } catch (err) {
      // Only the parser's message: never any part of the key.
      throw new SshConnectError(target, `the private key cannot be used (${errorMessage(err)}); pass an unencrypted OpenSSH or PEM private key`);
    }
  }
  const owned = o.via === undefined && o.jump?.length ? createTunnel(o.jump, { keepaliveIntervalMs: o.keepaliveIntervalMs, monotonicMs }) : undefined;
  const tunnel = o.via ?? owned;
  // Connect messages say which way it went: "user@10.0.0.5:22 via bastion jump@b:22".
  const where = tunnel ? `${target} via ${tunnel.where}` : target;
  const started = monotonicMs();
  let sock;
  try {
    const verifier = await createVerifier(o, where);
    sock = tunnel
      ? await tunnel.forward(o.host, o.port, { timeoutMs: readyTimeoutMs, signal: o.signal })
      : await openSocket(o.host, o.port, where, readyTimeoutMs, o.signal);
    return await handshake(o, sock, verifier, { target, where, started, readyTimeoutMs, monotonicMs, owned });
  } catch (err) {
    sock?.destroy();
    await owned?.close();
    throw err;
  }
}

interface HandshakeContext {
  target: string;
  where: string;
  started: number;
  readyTimeoutMs: number;
  monotonicMs: () => number;
  owned: Tunnel | undefined;
}

/** The SSH handshake and login over `sock` (TCP, or a jump host's channel), then the session. */
async function handshake(o: ConnectOptions, sock: Duplex, verifier: Verifier, h: HandshakeContext): Promise<SshConnection> {
  const { where, started, readyTimeoutMs, monotonicMs } = h;
  const ssh = new NodeSSH();
  const onAbort = (): void => {
    sock.destroy();
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await ssh.connect({
      sock: sock as never,
      username: o.username,
      ...(o.privateKey !== undefined ? { privateKey: typeof o.privateKey === 'string' ? o.privateKey : o.privateKey.toString('utf8') } : {}),
      ...(o.agent !== undefined ? { agent: o.agent } : {}),
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
  const session = openSession(ssh, h.target, {
    maxChannels: o.maxChannels ?? 5,
    logger: o.logger,
    redactor: o.redactor,
    monotonicMs,
    sudoPassword: o.sudoPassword,
  });
  return {
    host: o.host,
    port: o.port,
    username: o.username,
    where: h.target,
    hostKey,
    run: (command, opts) => runCommand(session, command, opts),
    sudo: (command, opts) => sudoCommand(session, command, opts),
    put: (source, remotePath, opts) => putFile(session, source, remotePath, opts),
    get: (remotePath, localPath) => getFile(session, remotePath, localPath),
    close: async () => {
      await session.close();
      await h.owned?.close();
    },
  };
}
