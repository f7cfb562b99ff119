// First boot inside a container build server, as cloud-init and sshd-keygen do it, and the console lines it leaves.
import { fingerprintSha256, parsePublicKeyLine } from '../ssh/host-keys.js';
import { userDataStep, userScript, type HostKey } from './cloud-init.js';
import { WHITEOUT_PREFIX } from './layer-tar.js';

/** Where the emulator's boot files appear inside the container (a read-only bind mount). */
export const BOOT_MOUNT = '/run/imagesync-boot';
const BEGIN = '-----BEGIN IMAGESYNC HOST KEYS-----';
const END = '-----END IMAGESYNC HOST KEYS-----';

/**
 * The container's command (PID 1's child, under the engine's init). Per boot, in order:
 * 1. first boot of a server made from a snapshot: apply the snapshot's layer (whiteouts delete,
 *    then the files are unpacked with their owners and modes);
 * 2. an empty or missing /etc/machine-id gets a new id (systemd's first-boot rule);
 * 3. cloud-init's user work: login user, the keypair's key, sudo; the user data's script (first boot);
 * 4. missing SSH host keys are generated (`ssh-keygen -A`, as sshd-keygen does: keys the image
 *    carries are kept, so an image that was not generalized hands its keys to every server);
 * 5. the public host keys go to the console between markers, then sshd runs in the foreground.
 */
export function containerBootScript(user: string, hostname: string): string {
  return `set -e
B=${BOOT_MOUNT}
echo "imagesync-boot $(cat $B/boot-id)"
if [ -f $B/layer.tar ]; then
  tar -tf $B/layer.tar | while IFS= read -r p; do
    p=\${p#./}; n=\${p##*/}
    case "$n" in ${WHITEOUT_PREFIX}*) d=\${p%"$n"}; rm -rf -- "/$d\${n#${WHITEOUT_PREFIX}}" ;; esac
  done
  tar -C / --numeric-owner --xattrs --xattrs-include='*' -xpf $B/layer.tar --exclude='${WHITEOUT_PREFIX}*'
  echo "imagesync: snapshot layer applied"
fi
if [ ! -s /etc/machine-id ]; then
  tr -d '-' < /proc/sys/kernel/random/uuid > /etc/machine-id
  echo "imagesync: new machine-id $(cat /etc/machine-id)"
fi
${userScript(user, hostname, `${BOOT_MOUNT}/authorized_keys`)}
${userDataStep(`${BOOT_MOUNT}/user-data.sh`)}
ssh-keygen -A
echo "imagesync-os $(. /etc/os-release 2>/dev/null && echo "\${PRETTY_NAME:-$NAME}")"
echo '${BEGIN}'
for k in /etc/ssh/ssh_host_*_key; do
  [ -f "$k.pub" ] || continue
  echo "$(ssh-keygen -l -f "$k.pub" | cut -d' ' -f1) $(cut -d' ' -f1,2 "$k.pub")"
done
echo '${END}'
mkdir -p /run/sshd && chmod 755 /run/sshd
exec /usr/sbin/sshd -D -e
`;
}

const LABELS: Record<string, string> = { 'ssh-rsa': 'RSA', 'ecdsa-sha2-nistp256': 'ECDSA', 'ecdsa-sha2-nistp384': 'ECDSA', 'ecdsa-sha2-nistp521': 'ECDSA', 'ssh-ed25519': 'ED25519' };

/** What the console of the boot `bootId` says: undefined until the host key block is complete. */
export function parseBootConsole(log: string, bootId: string): { hostKeys: HostKey[]; lines: string[]; os?: string } | undefined {
  const start = log.lastIndexOf(`imagesync-boot ${bootId}`);
  if (start === -1) return undefined;
  const text = log.slice(start);
  const b = text.indexOf(BEGIN);
  const e = text.indexOf(END);
  if (b === -1 || e === -1 || e < b) return undefined;
  const hostKeys: HostKey[] = [];
  for (const line of text.slice(b + BEGIN.length, e).split('\n')) {
    const m = /^(\d+) (\S+ \S+)$/.exec(line.trim());
    if (!m) continue;
    const parsed = parsePublicKeyLine(m[2] as string);
    hostKeys.push({
      label: LABELS[parsed.type] ?? parsed.type.toUpperCase(),
      bits: Number(m[1]),
      publicKey: `${parsed.type} ${parsed.blob.toString('base64')}`,
      fingerprintSha256: fingerprintSha256(parsed.blob),
    });
  }
  const before = text.slice(0, b).split('\n').filter((l) => l.trim() !== '');
  const os = before.find((l) => l.startsWith('imagesync-os '))?.slice('imagesync-os '.length).trim();
  return { hostKeys, lines: before.filter((l) => !/^imagesync-(boot|os) /.test(l)), ...(os ? { os } : {}) };
}
