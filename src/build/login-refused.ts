// A refused SSH login during the build's SSH wait: final once the console shows cloud-init finished (or after a grace period when it shows nothing of cloud-init), with a message naming the image's login user.
import { ImagesyncError } from '../errors.js';
import type { GlanceImage } from '../openstack/glance.js';
import type { StepContext } from './runner.js';
import { describeSpec, sourceSpecFor } from './source.js';
import { clocks, timeoutMs, where, type BuildState } from './state.js';

/** The server's key refused for the build's user when waiting longer cannot help. */
export class LoginRefusedError extends ImagesyncError {
  override readonly code = 'SSH_LOGIN_REFUSED';
}

export type CloudInitProgress = 'finished' | 'running' | 'silent';

/** What the console says of cloud-init: its last word ("running" a stage, or "finished"), or nothing. */
export function cloudInitProgress(console: string): CloudInitProgress {
  let last: CloudInitProgress = 'silent';
  for (const m of console.matchAll(/Cloud-init v\. \S+ (running|finished)/g)) last = m[1] === 'finished' ? 'finished' : 'running';
  return last;
}

/**
 * Login users of the distributions' own cloud images, by Glance's os_distro (libosinfo's short
 * names). Only for the message: the image's os_admin_user, when it has one, says it exactly.
 */
const USUAL_USERS: Readonly<Record<string, readonly string[]>> = {
  debian: ['debian'],
  ubuntu: ['ubuntu'],
  fedora: ['fedora'],
  centos: ['centos', 'cloud-user'],
  rhel: ['cloud-user'],
  rocky: ['rocky'],
  almalinux: ['almalinux'],
  arch: ['arch'],
  alpine: ['alpine'],
  freebsd: ['freebsd'],
  cirros: ['cirros'],
};

function quoted(names: readonly string[]): string {
  const q = names.map((n) => JSON.stringify(n));
  return q.length <= 1 ? (q[0] ?? '') : `${q.slice(0, -1).join(', ')} or ${q.at(-1)}`;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

/** `ssh user "debian" was refused by <image>: …` and what the image says its login user is. */
export function refusedLoginMessage(user: string, image: Pick<GlanceImage, 'id' | 'name'> & Record<string, unknown>): string {
  const head = `ssh user ${JSON.stringify(user)} was refused by ${image.name ?? image.id}`;
  const admin = text(image.os_admin_user);
  if (admin !== undefined && admin !== user) return `${head}: the image's os_admin_user is ${JSON.stringify(admin)}`;
  if (admin === user) return `${head}, which is the image's os_admin_user: the image did not install the keypair's key (does its cloud-init read keys from the metadata service?)`;
  const distro = text(image.os_distro);
  const usual = distro === undefined ? undefined : USUAL_USERS[distro.toLowerCase()];
  if (distro === undefined) return `${head}: the image has no os_admin_user or os_distro property; set build.ssh.user to its login user (a distribution's cloud image uses its name: "debian", "ubuntu", "fedora", …)`;
  if (usual === undefined) return `${head}: the image has no os_admin_user property, and os_distro ${JSON.stringify(distro)} has no usual login user; set build.ssh.user to its login user`;
  if (usual.includes(user)) return `${head}: the image has no os_admin_user property, and ${JSON.stringify(user)} is the usual user for os_distro ${JSON.stringify(distro)}: the image did not install the keypair's key for it`;
  return `${head}: the image has no os_admin_user property; for os_distro ${JSON.stringify(distro)} the login user is usually ${quoted(usual)}`;
}

/** The source as the manifest names it for this target, when the resolve step has not found it yet. */
function wantedSource(s: BuildState): Pick<GlanceImage, 'id' | 'name'> {
  const spec = sourceSpecFor(s.image.source, s.target);
  const name = spec.name ?? describeSpec(spec);
  return { id: name, name };
}

/** The console is read at most this often while refusals go on (one Nova call each time). */
const CONSOLE_EVERY_MS = 2_000;

export interface RefusalWatch {
  /** A login was refused: the error to stop with, or undefined to try again. */
  refused(): Promise<LoginRefusedError | undefined>;
}

/**
 * Watches the refusals of one SSH wait. Once the console shows that cloud-init finished, the user
 * exists or never will: the first refusal after that is final. While cloud-init is still running
 * the wait goes on (it may not have made the user yet). When the console says nothing of
 * cloud-init, refusals end the wait after timeouts.loginGraceSeconds.
 */
export function watchRefusals(s: BuildState, ctx: StepContext, user: string): RefusalWatch {
  const { monotonicMs } = clocks(s);
  const graceMs = timeoutMs(s, 'loginGraceSeconds');
  let firstRefusedMs: number | undefined;
  let readMs: number | undefined;
  let progress: CloudInitProgress = 'silent';
  const stop = (why: string): LoginRefusedError => {
    // Why waiting longer cannot help: in the build log, beside the error.
    ctx.log(`login refused: ${why}`);
    return new LoginRefusedError(`${where(s)}: ${refusedLoginMessage(user, s.sourceImage ?? wantedSource(s))}`, { details: [why] });
  };
  return {
    async refused() {
      const now = monotonicMs();
      firstRefusedMs ??= now;
      if (readMs === undefined || now - readMs >= CONSOLE_EVERY_MS) {
        readMs = now;
        try {
          progress = cloudInitProgress(await s.services.nova.consoleOutput(s.serverId!, 2000, ctx.signal));
        } catch (err) {
          if (ctx.signal.aborted) throw err;
          // No console (an API error, a cloud without one): only the grace period can end the wait.
          progress = 'silent';
        }
      }
      if (progress === 'finished') return stop('the console shows that cloud-init finished: the login user it makes is there, and no other will appear');
      if (progress === 'silent' && now - firstRefusedMs >= graceMs) {
        return stop(`refused for ${Math.round((now - firstRefusedMs) / 1000)} s and the console shows nothing of cloud-init (timeouts.loginGraceSeconds: ${graceMs / 1000})`);
      }
      return undefined;
    },
  };
}
