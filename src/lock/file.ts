// Reading and writing images.lock.json: a missing file is an empty lock; writes are atomic (temp file + rename).
import { randomBytes } from 'node:crypto';
import { chmod, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { errorMessage, ImagesyncError, InputError, UsageError } from '../errors.js';
import { emptyLock, LOCK_FILE_NAME, parseLock, serializeLock, type Lock } from './lock.js';

/**
 * The lock file a command uses: `--lock FILE` (relative to the working directory), none with
 * `--no-lock` (false), else images.lock.json beside the manifest.
 */
export function lockPathFor(manifestFile: string, flag: string | false | undefined, cwd: string): string | undefined {
  if (flag === false) return undefined;
  // yargs gives "" for a bare `--lock`.
  if (flag === '') throw new UsageError('--lock: name the lock file (--lock FILE), or pass --no-lock for none');
  if (typeof flag === 'string') return resolve(cwd, flag);
  return join(dirname(manifestFile), LOCK_FILE_NAME);
}

/** The lock at `path`; a file that does not exist yet is an empty lock. `shown` names it in messages. */
export async function readLockFile(path: string, shown: string = path): Promise<Lock> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return emptyLock();
    if (code === 'EISDIR') throw new InputError(`${shown}: is a directory; --lock names the lock file`, { cause: err });
    throw new InputError(`${shown}: cannot read the lock file (${code ?? String(err)}); check its permissions or pass --no-lock`, { cause: err });
  }
  return parseLock(text, shown);
}

/**
 * Write the lock atomically, mode 0644: readers (git, a concurrent plan) see the old file or the
 * new one, never half of one. An unchanged lock is not rewritten, so its mtime stays. Resolves to
 * whether the file changed.
 */
export async function writeLockFile(path: string, lock: Lock): Promise<boolean> {
  const text = serializeLock(lock);
  const old = await readFile(path, 'utf8').catch(() => undefined);
  if (old === text) return false;
  // Same directory as the target: rename is atomic only within one file system.
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await open(temp, 'wx', 0o644);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    // The umask may have narrowed the mode given to open.
    await chmod(temp, 0o644);
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code ?? errorMessage(err);
    throw new ImagesyncError(`${path}: cannot write the lock file (${code}); check that its directory is writable, or pass --no-lock`, { cause: err });
  }
  return true;
}
