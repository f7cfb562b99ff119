// SSH connection to a build server (node-ssh over ssh2): run, sudo, put, get, with host keys checked.
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { NodeSSH } from 'node-ssh';
import type { ClientChannel, SFTPWrapper } from 'ssh2';
import { InputError, errorMessage } from '../errors.js';
import type { Redactor } from '../redact.js';
import {
  CommandTimeoutError,
  HostKeyMismatchError,
  RemoteCommandError,
  SshAuthError,
  SshConnectError,
  TransferError,
} from './errors.js';
import {
  appendKnownHost,
  fingerprintSha256,
  hostKeyAlgorithmsFor,
  keyBlobType,
  knownHostEntries,
  knownHostsName,
  publicKeyLineOf,
  readKnownHosts,
  sameFingerprint,
} from './host-keys.js';
import type { CommandLogger } from './log.js';
import { isEnvName, shQuote, wrapCommand } from './quote.js';
import { normalizeMode, type CommandResult, type PutOptions, type RunOptions, type SudoOptions } from './result.js';

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

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** A small FIFO semaphore, one per connection. */
function createLimiter(max: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  const release = (): void => {
    active--;
    waiting.shift()?.();
  };
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      release();
    }
  };
}

/** TCP connect with TCP_NODELAY: with Nagle on, every command waits 20–40 ms for a delayed ACK. */
function openSocket(host: string, port: number, where: string, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = netConnect({ host, port });
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 10_000);
    const done = (err?: Error): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.removeListener('error', onError);
      sock.removeListener('connect', onConnect);
      if (err) {
        sock.destroy();
        reject(err);
      } else resolve(sock);
    };
    const onConnect = (): void => done();
    const onError = (err: NodeJS.ErrnoException): void =>
      done(
        new SshConnectError(
          where,
          `TCP connect failed (${err.code ?? err.message}); check that the server is up and port ${port} is reachable`,
          { cause: err },
        ),
      );
    const onAbort = (): void => done(abortError(signal!));
    const timer = setTimeout(
      () => done(new SshConnectError(where, `TCP connect timed out after ${timeoutMs} ms; check the address and security groups`)),
      timeoutMs,
    );
    sock.once('connect', onConnect);
    sock.once('error', onError);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface Verifier {
  /** Handed to ssh2 as hostVerifier (raw key blob, async verdict). */
  verify(key: Buffer, verdict: (ok: boolean) => void): void;
  /** Set when the verifier refused: the error to throw instead of ssh2's generic one. */
  failure(): Error | undefined;
  accepted(): PresentedHostKey | undefined;
  /** Restrict the server host key algorithms to types known_hosts has, so a known type is negotiated. */
  algorithms?: string[];
}

async function createVerifier(o: ConnectOptions, where: string): Promise<Verifier> {
  let failure: Error | undefined;
  let accepted: PresentedHostKey | undefined;
  const policy = o.hostKey;
  const base = { failure: () => failure, accepted: () => accepted };

  if (policy.kind === 'fingerprints') {
    if (policy.sha256.length === 0) {
      throw new SshConnectError(where, 'no host key fingerprints are pinned; refusing to connect without a host key check');
    }
    return {
      ...base,
      verify(key, verdict) {
        const actual = fingerprintSha256(key);
        const type = keyBlobType(key);
        if (policy.sha256.some((fp) => sameFingerprint(fp, actual))) {
          accepted = { type, fingerprintSha256: actual };
          verdict(true);
          return;
        }
        failure = new HostKeyMismatchError(
          where,
          o.host,
          policy.sha256,
          actual,
          `host key ${actual} (${type}) is not among the pinned fingerprints ${policy.sha256.join(', ')}; ` +
            'refusing to connect: the server may not be the one that was booted',
        );
        verdict(false);
      },
    };
  }

  const name = knownHostsName(o.host, o.port);
  const entries = knownHostEntries(await readKnownHosts(policy.file), name);
  const plain = entries.filter((e) => e.marker === undefined);
  const revoked = entries.filter((e) => e.marker === '@revoked');
  const knownTypes = [...new Set(plain.map((e) => e.type))];
  return {
    ...base,
    ...(knownTypes.length > 0 ? { algorithms: knownTypes.flatMap(hostKeyAlgorithmsFor) } : {}),
    verify(key, verdict) {
      const actual = fingerprintSha256(key);
      const type = keyBlobType(key);
      const expected = plain.map((e) => fingerprintSha256(e.blob));
      const refuse = (message: string): void => {
        failure = new HostKeyMismatchError(where, o.host, expected, actual, message);
        verdict(false);
      };
      if (revoked.some((e) => e.blob.equals(key))) {
        refuse(`host key ${actual} (${type}) is marked @revoked in ${policy.file}; refusing to connect`);
        return;
      }
      if (plain.some((e) => e.blob.equals(key))) {
        accepted = { type, fingerprintSha256: actual };
        verdict(true);
        return;
      }
      if (plain.length > 0) {
        const lines = plain.map((e) => `${policy.file}:${e.line}`).join(', ');
        refuse(
          `host key CHANGED: ${name} presented ${actual} (${type}) but ${lines} has ${expected.join(', ')}; ` +
            `refusing to connect; if the server was really rebuilt, remove those lines`,
        );
        return;
      }
      if (!policy.acceptNew) {
        refuse(
          `host ${name} is unknown: ${policy.file} has no key for it (server presented ${actual}, ${type}); ` +
            'add its key to known_hosts, or allow accept-new for first contact',
        );
        return;
      }
      appendKnownHost(policy.file, name, key).then(
        () => {
          accepted = { type, fingerprintSha256: actual };
          verdict(true);
        },
        (err: unknown) => {
          failure = new SshConnectError(where, `could not add the host key to ${policy.file}: ${errorMessage(err)}`, {
            cause: err,
          });
          verdict(false);
        },
      );
    },
  };
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
  if (o.signal?.aborted) throw abortError(o.signal);
  try {
    publicKeyLineOf(o.privateKey);
  } catch (err) {
    // Only the parser's message: never any part of the key.
    throw new SshConnectError(
      where,
      `the private key cannot be used (${errorMessage(err)}); pass an unencrypted OpenSSH or PEM private key`,
    );
  }
  const verifier = await createVerifier(o, where);
  const started = Date.now();
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
      readyTimeout: Math.max(1, readyTimeoutMs - (Date.now() - started)),
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
  const accepted = verifier.accepted();
  if (!accepted) {
    // ssh2 only reaches 'ready' after hostVerifier said yes; this guards against a future change.
    ssh.dispose();
    throw new SshConnectError(where, 'the host key was never verified; refusing the connection');
  }
  return createConnection(ssh, o, where, accepted);
}

function createConnection(ssh: NodeSSH, o: ConnectOptions, where: string, hostKey: PresentedHostKey): SshConnection {
  const client = ssh.connection;
  if (!client) throw new SshConnectError(where, 'connection closed right after authentication');
  const limit = createLimiter(Math.max(1, o.maxChannels ?? 5));
  const redact = (s: string): string => (o.redactor ? o.redactor.text(s) : s);

  let closed = false;
  client.on('close', () => {
    closed = true;
  });
  // After 'ready' node-ssh leaves no error listener: an unhandled 'error' event would crash the process.
  client.on('error', () => undefined);

  /**
   * Kill a timed-out or aborted command and everything it started. sshd's "signal" request only
   * reaches the session leader (the shell), and a child such as `sleep` or `apt-get` would live on;
   * so a second channel finds the processes carrying the command's marker and kills their whole
   * sessions (sshd runs each command in its own session; sudo with use_pty makes another one, hence
   * root for sudo commands). Best effort: needs pgrep/pkill (procps) on the server.
   */
  const killRemote = async (channel: ClientChannel, killAs: 'user' | 'root', marker: string): Promise<void> => {
    // The [x] bracket keeps the pattern from matching the killer's own command line.
    const pattern = shQuote(`${marker.slice(0, -1)}[${marker.slice(-1)}]`);
    const script = `for p in $(pgrep -f ${pattern}); do pkill -KILL -s "$p"; kill -KILL "$p"; done 2>/dev/null; true`;
    const wire = killAs === 'root' ? `sudo -n -- sh -c ${shQuote(script)}` : script;
    await new Promise<void>((resolve) => {
      if (closed) return resolve();
      const timer = setTimeout(resolve, 3_000);
      try {
        client.exec(wire, (err, killer) => {
          if (err) {
            clearTimeout(timer);
            resolve();
            return;
          }
          killer.resume();
          killer.stderr.resume();
          killer.on('close', () => {
            clearTimeout(timer);
            resolve();
          });
          killer.end();
        });
      } catch {
        // The connection is closing ("Not connected"): nothing left to kill through it.
        clearTimeout(timer);
        resolve();
      }
    });
    // ssh2's Channel.signal() does nothing once stdin is ended (always, here): go one level down.
    const internals = channel as unknown as { outgoing?: { id?: number; state?: string }; _client?: { _protocol?: { signal(id: number, sig: string): void } } };
    try {
      if (internals.outgoing?.state === 'open' && internals.outgoing.id !== undefined) internals._client?._protocol?.signal(internals.outgoing.id, 'KILL');
    } catch {
      /* channel already gone */
    }
    try {
      channel.close();
    } catch {
      /* already closed */
    }
  };

  /**
   * Run `wire` on a new channel. `marker` is a no-op first line of the command that names its
   * processes, so a timeout can find and kill them all (see killRemote).
   */
  const exec = (wire: string, display: string, logAs: string, opts: RunOptions, killAs: 'user' | 'root', marker: string): Promise<CommandResult> =>
    limit(
      () =>
        new Promise<CommandResult>((resolve, reject) => {
          if (closed) {
            reject(new SshConnectError(where, `connection is closed; cannot run "${redact(display)}"`));
            return;
          }
          if (opts.signal?.aborted) {
            reject(new CommandTimeoutError(where, redact(display), undefined, { cause: opts.signal.reason }));
            return;
          }
          const started = performance.now();
          const entry = o.logger?.start(where, logAs);
          client.exec(wire, (err, channel: ClientChannel) => {
            if (err) {
              const error = new SshConnectError(where, `could not open a channel for "${redact(display)}": ${err.message}`, {
                cause: err,
              });
              entry?.end({ error: error.message, durationMs: performance.now() - started });
              reject(error);
              return;
            }
            const out = new StringDecoder('utf8');
            const errDec = new StringDecoder('utf8');
            let stdout = '';
            let stderr = '';
            let exitCode: number | null = null;
            let exitSignal: string | undefined;
            let settled = false;
            let timer: NodeJS.Timeout | undefined;

            const onOut = (chunk: string): void => {
              if (chunk === '') return;
              stdout += chunk;
              entry?.stdout(chunk);
              opts.onStdout?.(chunk);
            };
            const onErr = (chunk: string): void => {
              if (chunk === '') return;
              stderr += chunk;
              entry?.stderr(chunk);
              opts.onStderr?.(chunk);
            };
            const cleanup = (): void => {
              if (timer) clearTimeout(timer);
              opts.signal?.removeEventListener('abort', onAbort);
            };
            const kill = (error: Error): void => {
              if (settled) return;
              settled = true;
              cleanup();
              // Wait (bounded) for the kill, so a caller that closes the connection next does not leave it half done.
              void killRemote(channel, killAs, marker).finally(() => {
                entry?.end({ error: error.message, durationMs: performance.now() - started });
                reject(error);
              });
            };
            const onAbort = (): void =>
              kill(new CommandTimeoutError(where, redact(display), undefined, { cause: opts.signal?.reason }));

            channel.on('data', (d: Buffer) => onOut(out.write(d)));
            channel.stderr.on('data', (d: Buffer) => onErr(errDec.write(d)));
            channel.on('exit', (code: number | null, sig?: string) => {
              if (typeof code === 'number') exitCode = code;
              else if (sig) exitSignal = sig.startsWith('SIG') ? sig : `SIG${sig}`;
            });
            channel.on('close', () => {
              if (settled) return;
              settled = true;
              cleanup();
              onOut(out.end());
              onErr(errDec.end());
              const durationMs = performance.now() - started;
              const result: CommandResult = {
                command: display,
                exitCode,
                ...(exitSignal ? { signal: exitSignal } : {}),
                stdout,
                stderr,
                durationMs,
              };
              entry?.end({ exitCode, signal: exitSignal, durationMs });
              if (exitCode === null && !exitSignal) {
                reject(
                  new SshConnectError(where, `"${redact(display)}" ended without an exit status; the connection may have dropped`),
                );
                return;
              }
              if (exitCode === 0 || opts.warn) {
                resolve(result);
                return;
              }
              reject(
                new RemoteCommandError(where, {
                  ...result,
                  command: redact(result.command),
                  stdout: redact(result.stdout),
                  stderr: redact(result.stderr),
                }),
              );
            });

            if (opts.timeoutMs !== undefined) {
              const ms = opts.timeoutMs;
              timer = setTimeout(() => kill(new CommandTimeoutError(where, redact(display), ms)), ms);
            }
            opts.signal?.addEventListener('abort', onAbort, { once: true });
            // Always end stdin: a command that reads it (cat, apt prompts) would otherwise wait forever.
            if (opts.stdin !== undefined) channel.end(opts.stdin);
            else channel.end();
          });
        }),
    );

  const checkEnv = (opts: RunOptions): void => {
    for (const name of Object.keys(opts.env ?? {})) {
      if (!isEnvName(name)) {
        throw new InputError(`${where}: environment variable name ${JSON.stringify(name)} is not a shell identifier; use letters, digits and _`);
      }
    }
  };

  const newMarker = (): string => `imagesync-run-${randomBytes(8).toString('hex')}`;

  const run = async (command: string, opts: RunOptions = {}): Promise<CommandResult> => {
    checkEnv(opts);
    const marker = newMarker();
    return exec(`: ${marker}\n${wrapCommand(command, opts)}`, command, command, opts, 'user', marker);
  };

  const sudoWire = (command: string, user?: string): string =>
    `sudo -n${user !== undefined ? ` -u ${shQuote(user)}` : ''} -- sh -c ${shQuote(command)}`;

  const sudo = async (command: string, opts: SudoOptions = {}): Promise<CommandResult> => {
    checkEnv(opts);
    const marker = newMarker();
    // cwd and env go inside the root shell: sudo resets the environment it was given.
    const inner = `: ${marker}\n${wrapCommand(command, opts)}`;
    const label = opts.user !== undefined ? `sudo -u ${opts.user}: ${command}` : `sudo: ${command}`;
    return exec(sudoWire(inner, opts.user), command, label, { ...opts, cwd: undefined, env: undefined }, 'root', marker);
  };

  const withSftp = <T>(fn: (sftp: SFTPWrapper) => Promise<T>): Promise<T> =>
    limit(async () => {
      if (closed) throw new SshConnectError(where, 'connection is closed; cannot transfer files');
      const sftp = await ssh.requestSFTP();
      try {
        return await fn(sftp);
      } finally {
        sftp.end();
      }
    });

  const upload = (sftp: SFTPWrapper, source: string | Buffer, remotePath: string, mode?: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (typeof source === 'string') {
        sftp.fastPut(source, remotePath, mode ? { mode: parseInt(mode, 8) } : {}, done);
      } else {
        sftp.writeFile(remotePath, source, mode ? { mode: parseInt(mode, 8) } : {}, done);
      }
    });

  const chmodRemote = (sftp: SFTPWrapper, remotePath: string, mode: string): Promise<void> =>
    new Promise((resolve, reject) => sftp.chmod(remotePath, parseInt(mode, 8), (err) => (err ? reject(err) : resolve())));

  const put = async (source: string | Buffer, remotePath: string, opts: PutOptions = {}): Promise<void> => {
    const mode = opts.mode !== undefined ? normalizeMode(opts.mode) : undefined;
    const what = typeof source === 'string' ? source : `${source.length} bytes`;
    const label = `put${opts.sudo ? ' (sudo)' : ''} ${what} -> ${remotePath}${mode ? ` mode ${mode}` : ''}`;
    const started = performance.now();
    const entry = o.logger?.start(where, label);
    const fail = (err: unknown): unknown => {
      const error =
        err instanceof RemoteCommandError || err instanceof SshConnectError || err instanceof CommandTimeoutError
          ? err
          : new TransferError(where, `put ${what} -> ${remotePath} failed: ${errorMessage(err)}`, { cause: err });
      entry?.end({ error: errorMessage(error), durationMs: performance.now() - started });
      return error;
    };
    try {
      if (!opts.sudo) {
        await withSftp(async (sftp) => {
          await upload(sftp, source, remotePath, mode);
          // The open mode only applies to a new file; an existing one keeps its mode unless we set it.
          if (mode) await chmodRemote(sftp, remotePath, mode);
        });
      } else {
        // mktemp makes a fresh 0600 file we own, so nobody can swap it between upload and install.
        const tmp = (await run('mktemp /tmp/imagesync-put.XXXXXXXXXX', { signal: opts.signal })).stdout.trim();
        try {
          await withSftp((sftp) => upload(sftp, source, tmp));
          await sudo(`install -m ${mode ?? '0644'} -- ${shQuote(tmp)} ${shQuote(remotePath)}`, { signal: opts.signal });
        } finally {
          await run(`rm -f -- ${shQuote(tmp)}`, { warn: true }).catch(() => undefined);
        }
      }
    } catch (err) {
      throw fail(err);
    }
    entry?.end({ exitCode: 0, durationMs: performance.now() - started });
  };

  const get = async (remotePath: string, localPath: string): Promise<void> => {
    const started = performance.now();
    const entry = o.logger?.start(where, `get ${remotePath} -> ${localPath}`);
    try {
      await withSftp(
        (sftp) =>
          new Promise<void>((resolve, reject) => sftp.fastGet(remotePath, localPath, (err) => (err ? reject(err) : resolve()))),
      );
    } catch (err) {
      const error = new TransferError(where, `get ${remotePath} -> ${localPath} failed: ${errorMessage(err)}`, { cause: err });
      entry?.end({ error: error.message, durationMs: performance.now() - started });
      throw error;
    }
    entry?.end({ exitCode: 0, durationMs: performance.now() - started });
  };

  return {
    host: o.host,
    port: o.port,
    username: o.username,
    where,
    hostKey,
    run,
    sudo,
    put,
    get,
    async close() {
      if (closed) return;
      await new Promise<void>((resolve) => {
        client.once('close', () => resolve());
        client.end();
        // A peer that never answers our disconnect must not hold the build up.
        setTimeout(() => {
          client.destroy();
          resolve();
        }, 2_000).unref();
      });
    },
  };
}
