// Task (shipped as imagesync/tasks/harden): harden sshd, kernel defaults, the login banner and file modes; idempotent, every path under args.root.
import { defineTask, shQuote, z, type TaskContext } from '../../task.js';
import { absoluteRoot, ensureFile, under } from './_files.js';

export const HardenArgs = z.strictObject({
  allowPasswordAuth: z.boolean().default(false).describe('true to keep PasswordAuthentication yes (e.g. a console-only image)'),
  applySysctl: z.boolean().default(false).describe('true to load the sysctl settings now, not only at the next boot'),
  root: absoluteRoot.describe('directory the paths are under (for chroots and tests)'),
});
export type HardenArgs = z.output<typeof HardenArgs>;

export const SSHD_DROP_IN = '/etc/ssh/sshd_config.d/50-imagesync-hardening.conf';
export const SYSCTL_DROP_IN = '/etc/sysctl.d/50-imagesync-hardening.conf';
export const BANNER_FILE = '/etc/issue.net';

/** Files and directories that must never be world-writable; only existing ones are touched. */
export const NOT_WORLD_WRITABLE = [
  '/etc/passwd',
  '/etc/group',
  '/etc/shadow',
  '/etc/gshadow',
  '/etc/crontab',
  '/etc/cron.d',
  '/etc/ssh',
  '/etc/sudoers.d',
  '/etc/sysctl.d',
  '/var/log',
];

const MARK = '# Managed by imagesync (task harden); edits here are replaced on the next build.';

export function sshdSettings(allowPasswordAuth: boolean): Array<[string, string]> {
  return [
    ['PasswordAuthentication', allowPasswordAuth ? 'yes' : 'no'],
    ['KbdInteractiveAuthentication', 'no'],
    ['PermitEmptyPasswords', 'no'],
    ['PermitRootLogin', 'no'],
    ['X11Forwarding', 'no'],
    ['MaxAuthTries', '3'],
    ['LoginGraceTime', '30'],
    ['Banner', BANNER_FILE],
  ];
}

export const SYSCTL_SETTINGS: Array<[string, string]> = [
  ['kernel.kptr_restrict', '2'],
  ['kernel.dmesg_restrict', '1'],
  ['fs.protected_hardlinks', '1'],
  ['fs.protected_symlinks', '1'],
  ['net.ipv4.conf.all.rp_filter', '1'],
  ['net.ipv4.conf.default.rp_filter', '1'],
  ['net.ipv4.conf.all.accept_redirects', '0'],
  ['net.ipv4.conf.default.accept_redirects', '0'],
  ['net.ipv4.conf.all.send_redirects', '0'],
  ['net.ipv4.conf.all.accept_source_route', '0'],
  ['net.ipv6.conf.all.accept_redirects', '0'],
  ['net.ipv4.tcp_syncookies', '1'],
];

const BANNER = 'Authorized access only. Activity on this system is logged and may be monitored.\n';

/** The path of sshd, or undefined when this system has none (a minimal image). */
async function findSshd(c: TaskContext): Promise<string | undefined> {
  const r = await c.run('command -v sshd || { test -x /usr/sbin/sshd && echo /usr/sbin/sshd; }', { warn: true });
  const path = r.stdout.trim();
  return r.exitCode === 0 && path !== '' ? path : undefined;
}

/**
 * `sshd -t` then `sshd -T` against the config under root, so a typo fails the build and a setting
 * that an earlier file overrides (sshd keeps the FIRST value it reads; cloud-init's
 * 50-cloud-init.conf sorts before ours and may say PasswordAuthentication yes) is caught.
 * Cloud images often ship without host keys (made at first boot), so a throwaway key is passed when none exists.
 */
async function checkSshd(c: TaskContext, sshd: string, root: string, wanted: Array<[string, string]>): Promise<string | undefined> {
  const config = shQuote(under(root, '/etc/ssh/sshd_config'));
  const keys = shQuote(under(root, '/etc/ssh'));
  const script = [
    'set -e',
    `tmp=$(mktemp -d)`,
    `trap 'rm -rf "$tmp"' EXIT`,
    `set -- -f ${config}`,
    `if ! ls ${keys}/ssh_host_*_key >/dev/null 2>&1; then ssh-keygen -q -t ed25519 -N '' -f "$tmp/k"; set -- "$@" -h "$tmp/k"; fi`,
    `${shQuote(sshd)} -t "$@"`,
    `${shQuote(sshd)} -T "$@"`,
  ].join('\n');
  const r = await c.sudo(script, { warn: true });
  if (r.exitCode !== 0) {
    // sshd ends with "terminating, 1 bad configuration options": the line naming file:line is the useful one.
    const lines = r.stderr.trim().split('\n');
    const why = lines.find((l) => /line \d+:/.test(l)) ?? lines.at(-1) ?? `exit ${r.exitCode}`;
    return `sshd -t rejects the configuration: ${why.trim()}`;
  }
  const effective = new Map(
    r.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 2)
      .map((f) => [f[0]!.toLowerCase(), f.slice(1).join(' ')] as const),
  );
  const wrong = wanted.filter(([k, v]) => effective.has(k.toLowerCase()) && effective.get(k.toLowerCase())!.toLowerCase() !== v.toLowerCase());
  if (wrong.length === 0) return undefined;
  return (
    `sshd's effective ${wrong.map(([k, v]) => `${k} is ${effective.get(k.toLowerCase())} (wanted ${v})`).join(', ')}: ` +
    `an earlier file in ${under(root, '/etc/ssh/sshd_config.d')}/ or sshd_config sets it first (sshd keeps the first value); remove it there`
  );
}

export default defineTask({
  name: 'harden',
  description: [
    'Harden sshd and kernel defaults, add a login banner, remove world-writable bits (idempotent)',
    `Writes ${SSHD_DROP_IN} and ${SYSCTL_DROP_IN}, checks sshd's effective config with sshd -t/-T when sshd is installed.`,
  ].join('\n'),
  args: HardenArgs,
  module: import.meta.url,
  async run(c, { allowPasswordAuth, root, applySysctl }) {
    const wanted = sshdSettings(allowPasswordAuth);
    const sshdDropIn = under(root, SSHD_DROP_IN);
    const sysctlDropIn = under(root, SYSCTL_DROP_IN);

    const previous = await c.sudo(`cat -- ${shQuote(sshdDropIn)}`, { warn: true });
    const sshdText = `${MARK}\n${wanted.map(([k, v]) => `${k} ${v}`).join('\n')}\n`;
    const changed: string[] = [];
    if (await ensureFile(c, sshdDropIn, sshdText, '0644')) changed.push(SSHD_DROP_IN);
    if (await ensureFile(c, under(root, BANNER_FILE), BANNER, '0644')) changed.push(BANNER_FILE);
    const sysctlText = `${MARK}\n${SYSCTL_SETTINGS.map(([k, v]) => `${k} = ${v}`).join('\n')}\n`;
    if (await ensureFile(c, sysctlDropIn, sysctlText, '0644')) changed.push(SYSCTL_DROP_IN);

    const paths = NOT_WORLD_WRITABLE.map((p) => shQuote(under(root, p))).join(' ');
    const fixed = await c.sudo(
      `for p in ${paths}; do if [ -e "$p" ] && [ ! -L "$p" ] && [ -n "$(find "$p" -maxdepth 0 -perm -0002)" ]; then chmod o-w -- "$p" && echo "$p"; fi; done`,
    );
    for (const p of fixed.stdout.split('\n').filter((l) => l !== '')) changed.push(`o-w ${p}`);

    const sshd = await findSshd(c);
    const config = under(root, '/etc/ssh/sshd_config');
    const hasConfig = (await c.sudo(`test -f ${shQuote(config)}`, { warn: true })).exitCode === 0;
    if (sshd && hasConfig) {
      const problem = await checkSshd(c, sshd, root, wanted);
      if (problem !== undefined) {
        if (problem.startsWith('sshd -t')) {
          // Never leave a config that stops sshd from starting: that locks everyone out of the server.
          if (previous.exitCode === 0) await c.put(Buffer.from(previous.stdout), sshdDropIn, { sudo: true, mode: '0644' });
          else await c.sudo(`rm -f -- ${shQuote(sshdDropIn)}`);
        }
        throw new Error(`harden: ${problem}`);
      }
      c.log(`harden: sshd accepts the configuration (${sshd} -t), effective settings match`);
    } else {
      c.log(`harden: warning: ${sshd ? `${config} not found` : 'sshd not installed'}; the sshd drop-in was written but not checked`);
    }

    if (applySysctl && root === '/') {
      const r = await c.sudo(`sysctl -p ${shQuote(SYSCTL_DROP_IN)}`, { warn: true });
      if (r.exitCode !== 0) c.log(`harden: warning: sysctl -p failed (${r.stderr.trim().split('\n').at(-1) ?? ''}); the settings apply at next boot`);
    }
    c.log(changed.length ? `harden: changed ${changed.join(', ')}` : 'harden: already hardened, nothing changed');
  },
});
