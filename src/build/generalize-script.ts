// The generalization build.generalize asks for: the built-in one as one POSIX shell script run as root before the snapshot, and its part of the recipe.
import { GENERALIZE_OPERATIONS, type Generalize, type GeneralizeOperation } from '../manifest/schema.js';
import { shQuote } from '../ssh/quote.js';

/**
 * Bump when what the script removes changes: the version is part of every recipe that generalizes
 * with the built-in operations, so each such image is rebuilt once. Wording and refactors do not count.
 */
export const GENERALIZE_VERSION = 1;

/** What build.generalize asks for: nothing, the built-in operations (some kept), or a task and then the build key. */
export type GeneralizePlan =
  | { kind: 'none' }
  | { kind: 'builtin'; operations: GeneralizeOperation[]; kept: GeneralizeOperation[] }
  | { kind: 'task'; task: string; args: Record<string, unknown> };

export function generalizePlan(g: Generalize | undefined): GeneralizePlan {
  if (g === false) return { kind: 'none' };
  if (g === undefined || g === true) return { kind: 'builtin', operations: [...GENERALIZE_OPERATIONS], kept: [] };
  if (g.task !== undefined) return { kind: 'task', task: g.task, args: g.args ?? {} };
  const kept = GENERALIZE_OPERATIONS.filter((op) => g.keep?.includes(op));
  return { kind: 'builtin', operations: GENERALIZE_OPERATIONS.filter((op) => !kept.includes(op)), kept };
}

/**
 * What the recipe hash holds of it (the task's source is hashed with the other tasks): turning it
 * off, keeping an operation or a new GENERALIZE_VERSION makes images outdated.
 */
export function generalizeRecipe(g: Generalize | undefined): unknown {
  const plan = generalizePlan(g);
  if (plan.kind === 'none') return false;
  if (plan.kind === 'task') return { task: plan.task, args: plan.args };
  return { builtin: GENERALIZE_VERSION, ...(plan.kept.length ? { keep: plan.kept } : {}) };
}

/** Homes of the accounts in /etc/passwd that exist as directories (root's and the login user's among them). */
const HOMES = `homes() {
  cut -d: -f6 /etc/passwd | sort -u | while IFS= read -r h; do
    if [ -n "$h" ] && [ -d "$h" ]; then printf '%s\\n' "$h"; fi
  done
}`;

/** Files that hold a shell's, a REPL's or an editor's history of what was typed. */
const HISTORY_FILES = [
  '.bash_history',
  '.zsh_history',
  '.sh_history',
  '.ash_history',
  '.history',
  '.local/share/fish/fish_history',
  '.python_history',
  '.node_repl_history',
  '.mysql_history',
  '.psql_history',
  '.sqlite_history',
  '.lesshst',
  '.viminfo',
];

const OPERATIONS: Record<GeneralizeOperation, (buildKey: string) => string> = {
  // systemd makes a new id at first boot when the file is empty; a missing file is "not yet booted"
  // to some tools, so it is emptied, not removed. dbus keeps a copy that would outlive it.
  'machine-id': () => `if [ -f /etc/machine-id ]; then
  : > /etc/machine-id
  say "machine-id: emptied /etc/machine-id (a new one is made at first boot)"
fi
if [ -f /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then
  if [ -f /etc/machine-id ]; then
    rm -f /var/lib/dbus/machine-id && ln -s /etc/machine-id /var/lib/dbus/machine-id
    say "machine-id: /var/lib/dbus/machine-id is now a link to /etc/machine-id"
  else
    : > /var/lib/dbus/machine-id
    say "machine-id: emptied /var/lib/dbus/machine-id"
  fi
fi
for f in /var/lib/systemd/random-seed /var/lib/systemd/credential.secret; do
  if [ -e "$f" ]; then rm -f "$f"; say "machine-id: removed $f"; fi
done`,
  'cloud-init': () => `if command -v cloud-init >/dev/null 2>&1; then
  cloud-init clean --logs
  say "cloud-init: cloud-init clean --logs (instance state and logs removed: the next boot is a first boot)"
else
  say "cloud-init: not installed, nothing to clean"
fi`,
  // Safe to remove: a build only works on an image whose first boot prints its host keys on the
  // console (cloud-init's block), and that first boot makes the keys that are missing.
  'ssh-host-keys': () => `n=0
for f in /etc/ssh/ssh_host_*; do
  if [ -e "$f" ] || [ -L "$f" ]; then rm -f "$f"; n=$((n + 1)); fi
done
say "ssh-host-keys: removed $n files /etc/ssh/ssh_host_* (each server makes its own at first boot)"`,
  'shell-history': () => `homes | while IFS= read -r h; do
  for n in ${HISTORY_FILES.join(' ')}; do
    if [ -f "$h/$n" ] || [ -L "$h/$n" ]; then rm -f "$h/$n"; say "shell-history: removed $h/$n"; fi
  done
done`,
  // -xdev: what another file system mounts below them is not the image's.
  tmp: () => `for d in /tmp /var/tmp; do
  if [ -d "$d" ] && [ ! -L "$d" ]; then
    find "$d" -xdev -mindepth 1 -delete
    say "tmp: emptied $d"
  fi
done`,
  'login-records': () => `for f in /var/log/wtmp /var/log/btmp /var/log/lastlog; do
  if [ -f "$f" ]; then : > "$f"; say "login-records: emptied $f"; fi
done`,
  'dhcp-leases': () => `for f in /var/lib/dhcp/*.leases /var/lib/dhcp/*.lease /var/lib/dhclient/*.lease /var/lib/dhclient/*.leases /var/lib/NetworkManager/*.lease; do
  if [ -f "$f" ]; then rm -f "$f"; say "dhcp-leases: removed $f"; fi
done`,
  // Only the build's key, matched as a whole field (options before it may differ): keys the image
  // had, or a step added, stay. An authorized_keys left with no key at all goes.
  'build-key': (buildKey) => `KEY=${shQuote(buildKey)}
homes | while IFS= read -r h; do
  for f in "$h/.ssh/authorized_keys" "$h/.ssh/authorized_keys2"; do
    if [ -f "$f" ] && [ ! -L "$f" ] && awk -v k="$KEY" '{ for (i = 1; i <= NF; i++) if ($i == k) found = 1 } END { exit !found }' "$f"; then
      awk -v k="$KEY" '{ for (i = 1; i <= NF; i++) if ($i == k) next; print }' "$f" > "$f.imagesync-new"
      if grep -q '^[[:space:]]*[^#[:space:]]' "$f.imagesync-new"; then
        cat "$f.imagesync-new" > "$f"
        rm -f "$f.imagesync-new"
        say "build-key: removed the build's key from $f (its other keys stay)"
      else
        rm -f "$f" "$f.imagesync-new"
        say "build-key: removed $f (it held only the build's key)"
      fi
    fi
  done
done`,
};

export interface GeneralizeScriptOptions {
  /** The build's public key blob (base64, the second field of its authorized_keys line). */
  buildKey: string;
  /** What to do, in the order of GENERALIZE_OPERATIONS. */
  operations: readonly GeneralizeOperation[];
}

/** The script: stops at the first command that fails, and says in one line per change what it did. */
export function generalizeScript(o: GeneralizeScriptOptions): string {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(o.buildKey)) throw new Error('generalize: the build key must be a base64 key blob');
  const blocks = o.operations.map((op) => OPERATIONS[op](o.buildKey));
  return ['set -eu', 'say() { printf "generalize: %s\\n" "$*"; }', HOMES, ...blocks, ''].join('\n');
}
