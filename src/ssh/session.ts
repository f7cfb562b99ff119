// One authenticated SSH connection as the command and transfer code sees it: its client, the channel limit, logging, redaction, clock; keep-alive and close.
import type { NodeSSH } from 'node-ssh';
import type { Client } from 'ssh2';
import { Limiter } from '../pipeline/limit.js';
import type { Redactor } from '../redact.js';
import { SshConnectError } from './errors.js';
import type { CommandLogger } from './log.js';

export interface SshSession {
  /** `user@host:port`, in every message. */
  readonly where: string;
  readonly client: Client;
  readonly ssh: NodeSSH;
  /** Channels (commands, SFTP sessions) in flight at once. */
  readonly channels: Limiter;
  readonly logger?: CommandLogger | undefined;
  /** The password sudo asks for, when it asks (`run --prompt-for-sudo-password`). */
  readonly sudoPassword?: string | undefined;
  redact(text: string): string;
  /** Monotonic ms, for durations. */
  monotonicMs(): number;
  closed(): boolean;
  close(): Promise<void>;
}

export interface SessionOptions {
  /** sshd allows MaxSessions (default 10) and a very short command holds its session briefly after it ends: stay below. */
  maxChannels: number;
  logger?: CommandLogger | undefined;
  redactor?: Redactor | undefined;
  monotonicMs: () => number;
  sudoPassword?: string | undefined;
}

/** After authentication: watch for the connection's end; ssh2's keep-alive (set at connect) notices a dead server. */
export function openSession(ssh: NodeSSH, where: string, o: SessionOptions): SshSession {
  const client = ssh.connection;
  if (!client) throw new SshConnectError(where, 'connection closed right after authentication');
  let closed = false;
  client.on('close', () => {
    closed = true;
  });
  // After 'ready' node-ssh leaves no error listener: an unhandled 'error' event would crash the process.
  client.on('error', () => undefined);
  return {
    where,
    client,
    ssh,
    channels: new Limiter(Math.max(1, o.maxChannels)),
    logger: o.logger,
    sudoPassword: o.sudoPassword,
    redact: (s) => (o.redactor ? o.redactor.text(s) : s),
    monotonicMs: o.monotonicMs,
    closed: () => closed,
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
