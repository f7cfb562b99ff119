// The git commit a manifest directory is at, stamped on every built image as provenance.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** "<sha>", "<sha>-dirty" when tracked files changed, or "none" outside a git checkout (or without git). */
export async function readCommit(dir: string): Promise<string> {
  const run = promisify(execFile);
  try {
    const head = (await run('git', ['-C', dir, 'rev-parse', 'HEAD'])).stdout.trim();
    const dirty = (await run('git', ['-C', dir, 'status', '--porcelain', '--untracked-files=no'])).stdout.trim() !== '';
    return dirty ? `${head}-dirty` : head;
  } catch {
    return 'none';
  }
}
