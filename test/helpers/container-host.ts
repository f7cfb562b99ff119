// Which user boots the container tests' servers: yourself, or (as root) the unprivileged user .ci/run makes.
import { execFileSync } from 'node:child_process';

/** Default name of the unprivileged user (scripts/container-host.sh user NAME makes it). */
export const ROOTLESS_USER = 'imagesync-rootless';

/**
 * undefined when this process is not root (podman runs rootless as you); as root, the user named by
 * IMAGESYNC_ROOTLESS_USER (default imagesync-rootless), which must exist: a missing one fails the
 * test with what to run, never skips it.
 */
export function rootlessUser(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const user = process.env.IMAGESYNC_ROOTLESS_USER || ROOTLESS_USER;
  try {
    execFileSync('id', ['-u', user], { stdio: 'ignore' });
  } catch {
    throw new Error(`no user ${user} for rootless containers: run scripts/container-host.sh install && scripts/container-host.sh user ${user} (as root)`);
  }
  return user;
}

/** Container names the engine has with this label (to assert that none is left). */
export function containersLabelled(label: string, user: string | undefined): string[] {
  const args = ['ps', '--all', '--filter', `label=${label}`, '--format', '{{.Names}}'];
  const out = user ? execFileSync('runuser', ['-u', user, '--', 'podman', ...args], { encoding: 'utf8', cwd: '/' }) : execFileSync('podman', args, { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}
