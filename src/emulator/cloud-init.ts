// cloud-init as the emulator plays it: default user, authorized key, sudo, host keys, and the console log.
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fingerprintSha256, parsePublicKeyLine } from '../ssh/host-keys.js';
import type { ServerDirs } from './sandbox.js';

const execFileP = promisify(execFile);

export const FALLBACK_DEFAULT_USER = 'cloud-user';

export interface HostKey {
  /** cloud-init's label: ECDSA, ED25519. */
  label: string;
  bits: number;
  /** `TYPE BASE64` (no comment). */
  publicKey: string;
  fingerprintSha256: string;
}

const KEY_TYPES: Array<{ type: string; label: string; bits: number; args: string[] }> = [
  { type: 'ecdsa', label: 'ECDSA', bits: 256, args: ['-t', 'ecdsa', '-b', '256'] },
  { type: 'ed25519', label: 'ED25519', bits: 256, args: ['-t', 'ed25519'] },
];

/** Fresh host keys for one server, in its boot dir (sshd reads them from the server's /run). */
export async function generateHostKeys(bootDir: string, hostname: string): Promise<HostKey[]> {
  return Promise.all(
    KEY_TYPES.map(async (k) => {
      const file = join(bootDir, `ssh_host_${k.type}_key`);
      await rm(file, { force: true });
      await rm(`${file}.pub`, { force: true });
      await execFileP('ssh-keygen', ['-q', ...k.args, '-N', '', '-C', `root@${hostname}`, '-f', file]);
      const parsed = parsePublicKeyLine(await readFile(`${file}.pub`, 'utf8'));
      return {
        label: k.label,
        bits: k.bits,
        publicKey: `${parsed.type} ${parsed.blob.toString('base64')}`,
        fingerprintSha256: fingerprintSha256(parsed.blob),
      };
    }),
  );
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface BootFilesOptions {
  dirs: ServerDirs;
  hostname: string;
  user: string;
  /** The keypair's public key; none means nobody can log in (as on a cloud without key_name). */
  publicKey: string | undefined;
  address: string;
  port: number;
  /** The user data's script (userDataPlan), run as root before sshd; given on the first boot only, as cloud-init runs it once per instance. */
  userData?: string | undefined;
  /** The server's other addresses (its other networks): sshd listens there too. */
  alsoListen?: string[] | undefined;
}

/**
 * The user name cloud-init would create: Glance's os_admin_user, else the emulator's default_user,
 * when it is a safe Linux login name; else the fallback.
 */
export function defaultUserOf(properties: Record<string, unknown>): string {
  for (const key of ['os_admin_user', 'default_user']) {
    const v = properties[key];
    if (typeof v === 'string' && /^[a-z_][a-z0-9_-]{0,31}$/.test(v)) return v;
  }
  return FALLBACK_DEFAULT_USER;
}

/**
 * What cloud-init does for the login user, as a shell script run as root inside the server: create
 * the user (home, shell), install the keypair's key from `keysFile`, passwordless sudo, and the
 * hostname in /etc/hosts. Everything it writes lands on the server's disk, as cloud-init's work does.
 */
export function userScript(user: string, hostname: string, keysFile: string): string {
  const u = shQuote(user);
  return `U=${u}; SH=/bin/sh; [ -x /bin/bash ] && SH=/bin/bash
if ! grep -q "^$U:" /etc/passwd; then
  # What useradd -m does, minus its 100+ ms of lastlog/faillog/nscd work: boots must stay fast.
  I=1000
  while grep -q "^[^:]*:[^:]*:$I:" /etc/passwd /etc/group; do I=$((I + 1)); done
  echo "$U:x:$I:$I:$U:/home/$U:$SH" >> /etc/passwd
  echo "$U:*:20000:0:99999:7:::" >> /etc/shadow
  echo "$U:x:$I:" >> /etc/group
  [ ! -f /etc/gshadow ] || echo "$U:!::" >> /etc/gshadow
  mkdir -p "/home/$U"
  [ ! -d /etc/skel ] || cp -a /etc/skel/. "/home/$U/"
  chown -R "$I:$I" "/home/$U"
  chmod 755 "/home/$U"
fi
H=$(grep "^$U:" /etc/passwd | cut -d: -f6)
mkdir -p "$H/.ssh"
# As cloud-init does: the keypair's key is added to the keys the image already has, never replacing them.
A="$H/.ssh/authorized_keys"
touch "$A"
[ ! -s "$A" ] || [ -z "$(tail -c 1 "$A")" ] || echo >> "$A"
while IFS= read -r K || [ -n "$K" ]; do
  [ -z "$K" ] || grep -qxF -- "$K" "$A" || printf '%s\\n' "$K" >> "$A"
done < ${shQuote(keysFile)}
chmod 700 "$H/.ssh"; chmod 600 "$H/.ssh/authorized_keys"; chown -R "$U:" "$H/.ssh"
mkdir -p /etc/sudoers.d
printf '# Created by cloud-init v. 24.4 (imagesync emulator)\\n\\n# User rules for %s\\n%s ALL=(ALL) NOPASSWD:ALL\\n' "$U" "$U" > /etc/sudoers.d/90-cloud-init-users
chmod 440 /etc/sudoers.d/90-cloud-init-users
grep -q " ${hostname}\\$" /etc/hosts 2>/dev/null || printf '127.0.1.1 %s\\n' ${shQuote(hostname)} >> /etc/hosts
`;
}

/**
 * The user data's script (cloud-config write_files and runcmd, or a #! script: see user-data.ts), when
 * `file` exists: run as root, its output in /var/log/cloud-init-output.log as cloud-init's; a
 * failure is logged there and the boot goes on, as cloud-init's does.
 */
export function userDataStep(file: string): string {
  const f = shQuote(file);
  return `if [ -f ${f} ]; then
  mkdir -p /var/log
  chmod 755 ${f} 2>/dev/null || true
  ${f} >> /var/log/cloud-init-output.log 2>&1 || echo "cloud-init: user data script exited $?" >> /var/log/cloud-init-output.log
fi
`;
}

/** Write sshd_config, authorized_keys and cloud-init.sh into the server's boot dir. */
export async function writeBootFiles(o: BootFilesOptions): Promise<void> {
  // Runs chrooted in the server's overlay: everything it writes lands in the server's disk, as cloud-init's work does.
  // An empty /etc/machine-id gets a new id, as systemd does at first boot (a generalized image has one).
  const machineId = `[ -s /etc/machine-id ] || tr -d '-' < /proc/sys/kernel/random/uuid > /etc/machine-id\n`;
  const script = `set -e\n${machineId}${userScript(o.user, o.hostname, '/run/imagesync/authorized_keys')}${userDataStep('/run/imagesync/user-data.sh')}`;
  const config = [
    `ListenAddress ${o.address}:${o.port}`,
    ...(o.alsoListen ?? []).map((a) => `ListenAddress ${a}:${o.port}`),
    'HostKey /run/imagesync/ssh_host_ecdsa_key',
    'HostKey /run/imagesync/ssh_host_ed25519_key',
    'PidFile /run/imagesync/sshd.pid',
    'AuthorizedKeysFile .ssh/authorized_keys',
    'UsePAM no',
    // Home directories come from the host's /home through the overlay, with whatever modes it has.
    'StrictModes no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin no',
    'MaxSessions 20',
    'MaxStartups 50:30:100',
    'LogLevel ERROR',
    'PrintMotd no',
    'UseDNS no',
    'X11Forwarding no',
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
  await Promise.all([
    writeFile(join(o.dirs.boot, 'cloud-init.sh'), script, { mode: 0o644 }),
    writeFile(join(o.dirs.boot, 'sshd_config'), config, { mode: 0o600 }),
    writeFile(join(o.dirs.boot, 'authorized_keys'), o.publicKey ? `${o.publicKey.trim()}\n` : '', { mode: 0o644 }),
    o.userData === undefined ? rm(join(o.dirs.boot, 'user-data.sh'), { force: true }) : writeFile(join(o.dirs.boot, 'user-data.sh'), o.userData, { mode: 0o755 }),
  ]);
}

function syslogTime(ms: number): string {
  const d = new Date(ms);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

function uptime(s: number): string {
  return `[${s.toFixed(6).padStart(12, ' ')}]`;
}

export interface ConsoleBoot {
  hostname: string;
  address: string | undefined;
  mac: string | undefined;
  user: string;
  bootedAtMs: number;
  hostKeys: HostKey[];
  /** The distribution the getty banner names (default Debian GNU/Linux). */
  os?: string;
}

/** Kernel and cloud-init lines up to the point where cloud-init prints the host keys. */
export function bootLines(b: ConsoleBoot): string[] {
  const date = new Date(b.bootedAtMs).toUTCString().replace('GMT', '+0000');
  return [
    `${uptime(0)} Linux version 6.1.0-emulated (imagesync emulator) #1 SMP PREEMPT_DYNAMIC`,
    `${uptime(0)} Command line: BOOT_IMAGE=/boot/vmlinuz root=LABEL=cloudimg-rootfs ro console=tty1 console=ttyS0`,
    `${uptime(0.912345)} EXT4-fs (vda1): mounted filesystem with ordered data mode. Quota mode: none.`,
    `${uptime(2.104512)} cloud-init[312]: Cloud-init v. 24.4 running 'init-local' at ${date}. Up 2.10 seconds.`,
    `${uptime(3.20881)} cloud-init[401]: Cloud-init v. 24.4 running 'init' at ${date}. Up 3.20 seconds.`,
    'ci-info: ++++++++++++++++++++++++++++++++++++++Net device info+++++++++++++++++++++++++++++++++++++++',
    `ci-info: | eth0 | True | ${b.address ?? '.'} | 255.255.252.0 | global | ${b.mac ?? '.'} |`,
    `${uptime(3.401)} cloud-init[401]: Generating public/private ecdsa key pair.`,
    `${uptime(3.402)} cloud-init[401]: Generating public/private ed25519 key pair.`,
    `${uptime(4.01)} cloud-init[512]: Cloud-init v. 24.4 running 'modules:config' at ${date}. Up 4.01 seconds.`,
    `${uptime(4.6)} cloud-init[588]: Cloud-init v. 24.4 running 'modules:final' at ${date}. Up 4.60 seconds.`,
    `ci-info: no authorized SSH keys fingerprints found for user root.`,
  ];
}

/** cloud-init's write-ssh-key-fingerprints output: the blocks clients parse to pin host keys. */
export function hostKeyLines(b: ConsoleBoot, printedAtMs: number): string[] {
  const prefix = `<14>${syslogTime(printedAtMs)} cloud-init: `;
  const sorted = [...b.hostKeys].sort((x, y) => x.label.localeCompare(y.label));
  return [
    `${prefix}#############################################################`,
    `${prefix}-----BEGIN SSH HOST KEY FINGERPRINTS-----`,
    ...sorted.map((k) => `${prefix}${k.bits} ${k.fingerprintSha256} root@${b.hostname} (${k.label})`),
    `${prefix}-----END SSH HOST KEY FINGERPRINTS-----`,
    `${prefix}#############################################################`,
    '-----BEGIN SSH HOST KEY KEYS-----',
    ...sorted.map((k) => `${k.publicKey} root@${b.hostname}`),
    '-----END SSH HOST KEY KEYS-----',
    `${uptime(5.2)} cloud-init[588]: Cloud-init v. 24.4 finished at ${new Date(printedAtMs).toUTCString().replace('GMT', '+0000')}. Datasource DataSourceOpenStackLocal [net,ver=2].  Up 5.20 seconds`,
    '',
    `${b.os ?? 'Debian GNU/Linux'} ${b.hostname} ttyS0`,
    '',
    `${b.hostname} login: `,
  ];
}
