// Jump hosts (OpenSSH's ProxyJump, Packer's ssh_bastion_*): SSH to each hop in turn over a channel the hop before forwards, every hop's host key checked.
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import { errorMessage } from '../errors.js';
import type { HostKeyPolicy } from './host-key-policy.js';
import { HostKeyMismatchError, JumpHostError, SshConnectError } from './errors.js';
import { abortError, openSocket } from './socket.js';
import { createVerifier } from './verifier.js';

/** One jump host. It logs in with its own key or agent; its host key is checked like any server's. */
export interface JumpHost {
  host: string;
  port: number;
  username: string;
  privateKey?: string | undefined;
  /** An ssh-agent socket ($SSH_AUTH_SOCK). */
  agent?: string | undefined;
  hostKey: HostKeyPolicy;
}

export interface TunnelOptions {
  /** SSH-level keepalive on every hop, so a dead bastion is noticed. Default 15 s; 0 = off. */
  keepaliveIntervalMs?: number;
  /** Monotonic clock in ms, for deadlines (performance.now by default). */
  monotonicMs?: () => number;
}

export interface ForwardOptions {
  /** For connecting the hops (when not connected yet) and opening the forward. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/**
 * A path through one or more jump hosts. It connects on first use and again after the last hop's
 * connection dropped, so a build that waits for its server keeps one bastion login for all its tries.
 */
export interface Tunnel {
  /** `bastion user@host:port`, or the chain `bastion a@b1:22 → c@b2:22`: in every message. */
  readonly where: string;
  /** A channel to host:port, opened by the last hop (its "direct-tcpip"). */
  forward(host: string, port: number, o: ForwardOptions): Promise<Duplex>;
  close(): Promise<void>;
}

/** `user@host:port` as messages show a hop. */
export function hopLabel(h: Pick<JumpHost, 'username' | 'host' | 'port'>): string {
  return `${h.username}@${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}`;
}

interface Ssh2Error extends Error {
  level?: string;
  reason?: number | string;
}

function authHint(hop: JumpHost): string {
  const how = [hop.privateKey !== undefined ? 'the key given for it' : '', hop.agent !== undefined ? `the keys of ssh-agent (${hop.agent})` : '']
    .filter(Boolean)
    .join(' and ');
  return `the bastion refused ${how} for user ${hop.username}; check the bastion's user and that its authorized_keys has that key`;
}

/** Why a hop's SSH login failed, as a JumpHostError (or the verifier's HostKeyMismatchError). */
function hopFailure(err: unknown, hop: JumpHost, where: string, timeoutMs: number): Error {
  if (err instanceof HostKeyMismatchError || err instanceof JumpHostError) return err;
  if (err instanceof SshConnectError) return new JumpHostError(where, 'connect', err.message.slice(err.where.length + 2), { cause: err });
  const e = err as Ssh2Error;
  if (e?.level === 'client-authentication') return new JumpHostError(where, 'auth', authHint(hop), { cause: err });
  if (e?.level === 'agent') return new JumpHostError(where, 'auth', `ssh-agent (${hop.agent}) failed: ${errorMessage(err)}`, { cause: err });
  if (e?.level === 'client-timeout') return new JumpHostError(where, 'connect', `no SSH handshake within ${timeoutMs} ms`, { cause: err });
  return new JumpHostError(where, 'connect', `SSH connection failed: ${errorMessage(err)}`, { cause: err });
}

/** ssh2's "(SSH) Channel open failure: Connection refused" → "Connection refused", with a hint for what a bastion forbids. */
function forwardFailure(err: unknown, target: string, where: string): JumpHostError {
  const e = err as Ssh2Error;
  const said = errorMessage(err).replace(/^\(SSH\) Channel open failure: /, '');
  // RFC 4254 reason 1: SSH_OPEN_ADMINISTRATIVELY_PROHIBITED (AllowTcpForwarding no, PermitOpen).
  const hint = e?.reason === 1 ? '; the bastion forbids forwarding there (its AllowTcpForwarding or PermitOpen)' : '';
  return new JumpHostError(where, 'forward', `${target} is not reachable from the bastion: ${said || 'the channel was refused'}${hint}`, { cause: err });
}

function forwardOut(client: ssh2.Client, host: string, port: number, where: string, timeoutMs: number, signal?: AbortSignal): Promise<Duplex> {
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, channel?: Duplex): void => {
      if (settled) {
        // Opened after we gave up: nobody will use it.
        channel?.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(channel!);
    };
    const onAbort = (): void => finish(abortError(signal!));
    // sshd answers only once its own TCP connect ends: a silently dropped target takes minutes.
    const timer = setTimeout(() => finish(new JumpHostError(where, 'forward', `${target} did not answer the bastion within ${timeoutMs} ms`)), timeoutMs);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      client.forwardOut('127.0.0.1', 0, host, port, (err, channel) => finish(err ? forwardFailure(err, target, where) : undefined, channel));
    } catch (err) {
      // "Not connected": the hop went away between the check and the call.
      finish(new JumpHostError(where, 'connect', `the connection to the bastion closed: ${errorMessage(err)}`, { cause: err }));
    }
  });
}

/** Log in to one hop over `sock` (TCP for the first, a forwarded channel after). */
async function loginHop(hop: JumpHost, sock: Duplex, where: string, timeoutMs: number, keepaliveIntervalMs: number, signal?: AbortSignal): Promise<ssh2.Client> {
  const verifier = await createVerifier(hop, where);
  const client = new ssh2.Client();
  const onAbort = (): void => {
    sock.destroy();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      // A close before 'ready' without an error (the peer hung up during the handshake).
      client.once('close', () => reject(new Error('the bastion closed the connection during the handshake')));
      client.connect({
        sock: sock as never,
        username: hop.username,
        ...(hop.privateKey !== undefined ? { privateKey: hop.privateKey } : {}),
        ...(hop.agent !== undefined ? { agent: hop.agent } : {}),
        readyTimeout: Math.max(1, Math.round(timeoutMs)),
        keepaliveInterval: keepaliveIntervalMs,
        hostVerifier: (key: Buffer, verdict: (ok: boolean) => void) => verifier.verify(key, verdict),
        ...(verifier.algorithms ? { algorithms: { serverHostKey: verifier.algorithms as never } } : {}),
      });
    });
  } catch (err) {
    sock.destroy();
    client.end();
    if (signal?.aborted) throw abortError(signal);
    throw verifier.failure() ?? hopFailure(err, hop, where, timeoutMs);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  // After 'ready' an unhandled 'error' event would crash the process; 'close' tells the tunnel.
  client.removeAllListeners('error');
  client.removeAllListeners('close');
  client.on('error', () => undefined);
  return client;
}

export function createTunnel(hops: readonly JumpHost[], o: TunnelOptions = {}): Tunnel {
  if (hops.length === 0) throw new Error('createTunnel: no jump hosts');
  const monotonicMs = o.monotonicMs ?? (() => performance.now());
  const keepaliveIntervalMs = o.keepaliveIntervalMs ?? 15_000;
  const whereOf = (i: number): string => `bastion ${hopLabel(hops[i]!)}`;
  const where = `bastion ${hops.map(hopLabel).join(' → ')}`;
  let clients: ssh2.Client[] = [];
  let connecting: Promise<ssh2.Client> | undefined;
  let closed = false;

  const endAll = (list: ssh2.Client[]): void => {
    // The last hop first: each rides on a channel of the one before.
    for (const c of [...list].reverse()) c.end();
  };

  const connectChain = async (timeoutMs: number, signal?: AbortSignal): Promise<ssh2.Client> => {
    const deadline = monotonicMs() + timeoutMs;
    const left = (): number => Math.max(1, deadline - monotonicMs());
    const made: ssh2.Client[] = [];
    try {
      for (const [i, hop] of hops.entries()) {
        const prev = made[i - 1];
        const hopWhere = whereOf(i);
        // The first hop over TCP (TCP_NODELAY on: every command of the build crosses this socket);
        // the next ones over a channel the hop before forwards to them.
        const sock = prev
          ? await forwardOut(prev, hop.host, hop.port, whereOf(i - 1), left(), signal)
          : await openSocket(hop.host, hop.port, hopWhere, left(), signal).catch((err: unknown) => {
              throw hopFailure(err, hop, hopWhere, left());
            });
        made.push(await loginHop(hop, sock, hopWhere, left(), keepaliveIntervalMs, signal));
      }
    } catch (err) {
      endAll(made);
      throw err;
    }
    const last = made.at(-1)!;
    for (const c of made) {
      // Any hop gone takes the path with it: the next forward logs in again.
      c.once('close', () => {
        if (clients === made) {
          endAll(made);
          clients = [];
          connecting = undefined;
        }
      });
    }
    clients = made;
    return last;
  };

  return {
    where,
    async forward(host, port, f) {
      if (closed) throw new SshConnectError(where, 'the tunnel is closed');
      if (!connecting) {
        connecting = connectChain(f.timeoutMs, f.signal);
        // A failed login is tried again by the next forward, not remembered.
        connecting.catch(() => (connecting = undefined));
      }
      const last = await connecting;
      if (closed) {
        endAll(clients);
        throw new SshConnectError(where, 'the tunnel is closed');
      }
      return forwardOut(last, host, port, `bastion ${hopLabel(hops.at(-1)!)}`, f.timeoutMs, f.signal);
    },
    async close() {
      closed = true;
      const list = clients;
      clients = [];
      connecting = undefined;
      if (list.length === 0) return;
      await new Promise<void>((resolve) => {
        list[0]!.once('close', () => resolve());
        endAll(list);
        // A bastion that never answers our disconnect must not hold the build up.
        setTimeout(() => {
          for (const c of list) c.destroy();
          resolve();
        }, 2_000).unref();
      });
    },
  };
}
