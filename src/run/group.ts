// Run one task on many hosts (Fabric's `fab -H`): a bounded pool that never stops at the first failure.
import { errorMessage } from '../errors.js';
import type { Redactor } from '../redact.js';
import { connectSsh, type SshConnection } from '../ssh/connection.js';
import { fingerprintSha256, knownHostEntries, knownHostsName, readKnownHosts } from '../ssh/host-keys.js';
import type { JumpHost } from '../ssh/jump.js';
import type { CommandLogger } from '../ssh/log.js';
import { runTask } from '../tasks/context.js';
import type { Task, TaskArgs } from '../tasks/define.js';
import type { HostSpec } from './hosts.js';

export interface HostResult {
  /** The host's label (`user@host[:port]`). */
  host: string;
  ok: boolean;
  /** Connect + task, wall clock. */
  durationMs: number;
  /** The first line of the error (redacted). */
  error?: string;
  /** The error itself, for callers that want its code or details. */
  cause?: unknown;
}

export const NOT_STARTED = 'not started: interrupted';

export interface RunGroupOptions {
  hosts: readonly HostSpec[];
  /** Hosts worked on at once; at least 1. */
  parallel: number;
  /** Once aborted, no new host starts and running work is aborted (its result says so). */
  signal: AbortSignal;
  /** The work on one host; `signal` is aborted with the group's. A throw fails this host only. */
  work(host: HostSpec, signal: AbortSignal): Promise<void>;
  onHostEnd?(result: HostResult): void;
  redactor?: Redactor;
  now?: () => number;
}

/** Results in the order of `hosts`, one per host, whatever failed. Never throws for a host's failure. */
export async function runGroup(o: RunGroupOptions): Promise<HostResult[]> {
  const now = o.now ?? (() => performance.now());
  const redact = (s: string): string => (o.redactor ? o.redactor.text(s) : s);
  const results: Array<HostResult | undefined> = new Array(o.hosts.length).fill(undefined);
  let next = 0;

  const runOne = async (host: HostSpec): Promise<HostResult> => {
    const started = now();
    try {
      await o.work(host, o.signal);
      return { host: host.label, ok: true, durationMs: now() - started };
    } catch (err) {
      const first = errorMessage(err).split('\n').find((l) => l.trim() !== '') ?? 'failed';
      return { host: host.label, ok: false, durationMs: now() - started, error: redact(first.trim()), cause: err };
    }
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      if (o.signal.aborted) return;
      const i = next++;
      const host = o.hosts[i];
      if (host === undefined) return;
      const result = await runOne(host);
      results[i] = result;
      o.onHostEnd?.(result);
    }
  };
  const width = Math.max(1, Math.min(Math.floor(o.parallel), o.hosts.length));
  await Promise.all(Array.from({ length: width }, worker));
  return results.map((r, i) => r ?? { host: o.hosts[i]!.label, ok: false, durationMs: 0, error: NOT_STARTED });
}

/** The connection as a task sees it, with the group's signal added to every call, so Ctrl-C kills running commands. */
export function withSignal(conn: Pick<SshConnection, 'run' | 'sudo' | 'put' | 'get'>, signal: AbortSignal): Pick<SshConnection, 'run' | 'sudo' | 'put' | 'get'> {
  const merge = (own: AbortSignal | undefined): AbortSignal => (own ? AbortSignal.any([own, signal]) : signal);
  return {
    run: (command, opts = {}) => conn.run(command, { ...opts, signal: merge(opts.signal) }),
    sudo: (command, opts = {}) => conn.sudo(command, { ...opts, signal: merge(opts.signal) }),
    put: (source, remotePath, opts = {}) => conn.put(source, remotePath, { ...opts, signal: merge(opts.signal) }),
    // get() takes no signal: an abort closes the connection under it instead.
    get: (remotePath, localPath) => conn.get(remotePath, localPath),
  };
}

const ABORT_CLOSE_DELAY_MS = 5_000;

export interface RunTaskOnHostsOptions {
  task: Task;
  args: TaskArgs;
  hosts: readonly HostSpec[];
  parallel: number;
  /** What every host (and jump host) is logged in with: an unencrypted key, an ssh-agent, or both. */
  credentials: { privateKey?: string | undefined; agent?: string | undefined };
  /** `-J`: reach every host through these jump hosts, in order; their keys are checked in the same known_hosts. */
  jump?: readonly HostSpec[] | undefined;
  /** `--prompt-for-sudo-password`: given to sudo when it asks, on every host. */
  sudoPassword?: string | undefined;
  knownHostsFile: string;
  /** Record the key of a host (or jump host) known_hosts has no entry for (a changed key is refused regardless). */
  acceptNew: boolean;
  /** TCP connect + SSH handshake + auth, per host. */
  connectTimeoutMs: number;
  /** What the task sees as `c.image.name`. */
  imageName: string;
  signal: AbortSignal;
  /** A logger per host for commands and log() lines (e.g. prefixedLogger). */
  loggerFor(host: HostSpec): CommandLogger;
  redactor?: Redactor;
  localCwd?: string;
  onHostEnd?(result: HostResult): void;
}

/** known_hosts names (`host` or `[host]:port`) among `hosts` that the file has no entry for. */
async function unknownIn(file: string, hosts: readonly HostSpec[]): Promise<Set<string>> {
  const text = await readKnownHosts(file);
  return new Set(hosts.map((h) => knownHostsName(h.host, h.port)).filter((name) => knownHostEntries(text, name).length === 0));
}

/**
 * Connect to every host (known_hosts checked; unknown hosts refused unless acceptNew), through the
 * jump hosts when given, run the task there, close. `c.target` is `{ cloud: 'adhoc', region: <host
 * label> }`: there is no cloud here.
 */
export function runTaskOnHosts(o: RunTaskOnHostsOptions): Promise<HostResult[]> {
  const hostKey = { kind: 'known_hosts' as const, file: o.knownHostsFile, acceptNew: o.acceptNew };
  const jump: JumpHost[] | undefined = o.jump?.map((h) => ({ host: h.host, port: h.port, username: h.user, ...o.credentials, hostKey }));
  return runGroup({
    hosts: o.hosts,
    parallel: o.parallel,
    signal: o.signal,
    ...(o.redactor ? { redactor: o.redactor } : {}),
    ...(o.onHostEnd ? { onHostEnd: o.onHostEnd } : {}),
    async work(host, signal) {
      const logger = o.loggerFor(host);
      const unknown = await unknownIn(o.knownHostsFile, [...(o.jump ?? []), host]);
      const conn = await connectSsh({
        host: host.host,
        port: host.port,
        username: host.user,
        ...o.credentials,
        hostKey,
        ...(jump ? { jump } : {}),
        ...(o.sudoPassword !== undefined ? { sudoPassword: o.sudoPassword } : {}),
        readyTimeoutMs: o.connectTimeoutMs,
        signal,
        logger,
        ...(o.redactor ? { redactor: o.redactor } : {}),
      });
      // As ssh's "Permanently added ... to the list of known hosts": the user must see first contact.
      if (unknown.size > 0) {
        const text = await readKnownHosts(o.knownHostsFile);
        for (const h of o.jump ?? []) {
          const name = knownHostsName(h.host, h.port);
          const entry = unknown.has(name) ? knownHostEntries(text, name)[0] : undefined;
          if (entry) logger.note(`new jump host ${h.label}: recorded its ${entry.type} key ${fingerprintSha256(entry.blob)} in ${o.knownHostsFile}`);
        }
        if (unknown.has(knownHostsName(host.host, host.port))) {
          logger.note(`new host: recorded its ${conn.hostKey.type} key ${conn.hostKey.fingerprintSha256} in ${o.knownHostsFile}`);
        }
      }
      // An abort first lets each command kill its remote processes (that needs the connection, up
      // to 3 s); whatever still hangs after that (get() has no signal) ends when the connection closes.
      let closer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        closer = setTimeout(() => void conn.close(), ABORT_CLOSE_DELAY_MS);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        await runTask(o.task, {
          connection: withSignal(conn, signal),
          target: { cloud: 'adhoc', region: host.label },
          image: { name: o.imageName },
          args: { ...o.args },
          logger,
          ...(o.redactor ? { redactor: o.redactor } : {}),
          ...(o.localCwd !== undefined ? { localCwd: o.localCwd } : {}),
        });
      } finally {
        signal.removeEventListener('abort', onAbort);
        clearTimeout(closer);
        await conn.close();
      }
    },
  });
}
