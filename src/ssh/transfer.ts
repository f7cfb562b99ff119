// `put` and `get` over SFTP, within the channel limit; a root-owned destination through a private temp file and `sudo install`.
import type { SFTPWrapper } from 'ssh2';
import { errorMessage } from '../errors.js';
import { runCommand, sudoCommand } from './commands.js';
import { CommandTimeoutError, RemoteCommandError, SshConnectError, TransferError } from './errors.js';
import { shQuote } from './quote.js';
import { normalizeMode, type PutOptions } from './result.js';
import type { SshSession } from './session.js';

function withSftp<T>(session: SshSession, fn: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
  return session.channels.run(async () => {
    if (session.closed()) throw new SshConnectError(session.where, 'connection is closed; cannot transfer files');
    const sftp = await session.ssh.requestSFTP();
    try {
      return await fn(sftp);
    } finally {
      sftp.end();
    }
  });
}

function upload(sftp: SFTPWrapper, source: string | Buffer, remotePath: string, mode?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (typeof source === 'string') sftp.fastPut(source, remotePath, mode ? { mode: parseInt(mode, 8) } : {}, done);
    else sftp.writeFile(remotePath, source, mode ? { mode: parseInt(mode, 8) } : {}, done);
  });
}

function chmodRemote(sftp: SFTPWrapper, remotePath: string, mode: string): Promise<void> {
  return new Promise((resolve, reject) => sftp.chmod(remotePath, parseInt(mode, 8), (err) => (err ? reject(err) : resolve())));
}

export async function putFile(session: SshSession, source: string | Buffer, remotePath: string, opts: PutOptions = {}): Promise<void> {
  const { where } = session;
  const mode = opts.mode !== undefined ? normalizeMode(opts.mode) : undefined;
  const what = typeof source === 'string' ? source : `${source.length} bytes`;
  const started = session.monotonicMs();
  const entry = session.logger?.start(where, `put${opts.sudo ? ' (sudo)' : ''} ${what} -> ${remotePath}${mode ? ` mode ${mode}` : ''}`);
  try {
    if (!opts.sudo) {
      await withSftp(session, async (sftp) => {
        await upload(sftp, source, remotePath, mode);
        // The open mode only applies to a new file; an existing one keeps its mode unless we set it.
        if (mode) await chmodRemote(sftp, remotePath, mode);
      });
    } else {
      // mktemp makes a fresh 0600 file we own, so nobody can swap it between upload and install.
      const tmp = (await runCommand(session, 'mktemp /tmp/imagesync-put.XXXXXXXXXX', { signal: opts.signal })).stdout.trim();
      try {
        await withSftp(session, (sftp) => upload(sftp, source, tmp));
        await sudoCommand(session, `install -m ${mode ?? '0644'} -- ${shQuote(tmp)} ${shQuote(remotePath)}`, { signal: opts.signal });
      } finally {
        await runCommand(session, `rm -f -- ${shQuote(tmp)}`, { warn: true }).catch(() => undefined);
      }
    }
  } catch (err) {
    const error =
      err instanceof RemoteCommandError || err instanceof SshConnectError || err instanceof CommandTimeoutError
        ? err
        : new TransferError(where, `put ${what} -> ${remotePath} failed: ${errorMessage(err)}`, { cause: err });
    entry?.end({ error: errorMessage(error), durationMs: session.monotonicMs() - started });
    throw error;
  }
  entry?.end({ exitCode: 0, durationMs: session.monotonicMs() - started });
}

export async function getFile(session: SshSession, remotePath: string, localPath: string): Promise<void> {
  const started = session.monotonicMs();
  const entry = session.logger?.start(session.where, `get ${remotePath} -> ${localPath}`);
  try {
    await withSftp(session, (sftp) => new Promise<void>((resolve, reject) => sftp.fastGet(remotePath, localPath, (err) => (err ? reject(err) : resolve()))));
  } catch (err) {
    const error = new TransferError(session.where, `get ${remotePath} -> ${localPath} failed: ${errorMessage(err)}`, { cause: err });
    entry?.end({ error: error.message, durationMs: session.monotonicMs() - started });
    throw error;
  }
  entry?.end({ exitCode: 0, durationMs: session.monotonicMs() - started });
}
