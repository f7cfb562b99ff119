// Helpers shared by the packaged tasks (a file starting with "_" is not a task; it counts in the recipe of every task beside it).
import { shQuote, z, type TaskContext } from '../../task.js';

/** `path` (absolute, as seen on the finished system) under `root`. */
export function under(root: string, path: string): string {
  return root === '/' ? path : `${root.replace(/\/+$/, '')}${path}`;
}

/** Write `content` as root with `mode` unless the file already has exactly that; true when it changed. */
export async function ensureFile(c: TaskContext, path: string, content: string, mode: string): Promise<boolean> {
  const q = shQuote(path);
  const now = await c.sudo(`stat -c %a -- ${q} && cat -- ${q}`, { warn: true });
  if (now.exitCode === 0) {
    const cut = now.stdout.indexOf('\n');
    if (now.stdout.slice(0, cut) === mode.replace(/^0/, '') && now.stdout.slice(cut + 1) === content) return false;
  }
  await c.sudo(`mkdir -p -- ${shQuote(path.slice(0, path.lastIndexOf('/')) || '/')}`);
  await c.put(Buffer.from(content), path, { sudo: true, mode });
  return true;
}

/** args.root of the packaged tasks: an absolute directory, "/" unless a test or a chroot build says otherwise. */
export const absoluteRoot = z
  .string()
  .refine((r) => r.startsWith('/') && !/[\n\0]/.test(r), { error: 'must be an absolute directory path, e.g. "/" or "/mnt/chroot"' })
  .default('/');
