// Real distribution root file systems for container build servers: which one an image boots, and how it is made once.
import { createHash } from 'node:crypto';
import { MachineUnavailableError } from './machine.js';
import type { ContainerEngine } from './container-engine.js';

/** One distribution release the emulator can boot in a container. */
export interface RootfsRecipe {
  /** `debian-12`: the tag's name and the cache file's. */
  name: string;
  /** What the console and messages call it. */
  title: string;
  /** Glance's os_distro / os_version that select it. */
  distro: string;
  version: string;
  /** The registry image a derived image starts from where a registry is reachable. */
  registryImage: string;
  /** mmdebstrap's suite and sources (none: mmdebstrap's own default mirror, with -updates and -security). */
  suite: string;
  sources: string[];
  components: string[];
  /** An archive key to fetch and check by fingerprint (Ubuntu's; Debian's ships with mmdebstrap's host). */
  keyring?: { url: string; fingerprint: string };
}

/**
 * What a cloud image has and the example tasks need: sshd, sudo, apt with its lists (the ci-runner
 * image installs without `apt-get update`, as on a fresh cloud image), ps/sysctl, ip, curl.
 * Not cloud-init: its Python stack more than doubles the image, and the emulator plays its part.
 */
export const PACKAGES = ['openssh-server', 'sudo', 'ca-certificates', 'procps', 'iproute2', 'netbase', 'less', 'curl'];

const UBUNTU_ARCHIVE = 'http://archive.ubuntu.com/ubuntu';
const UBUNTU_SECURITY = 'http://security.ubuntu.com/ubuntu';
/** Ubuntu Archive Automatic Signing Key (2018) <ftpmaster@ubuntu.com>: signs the archive's Release files. */
const UBUNTU_KEY = { url: `${UBUNTU_ARCHIVE}/project/ubuntu-archive-keyring.gpg`, fingerprint: 'F6ECB3762474EDA9D21B7022871920D1991BC93C' };

function ubuntu(version: string, suite: string): RootfsRecipe {
  return {
    name: `ubuntu-${version}`,
    title: `Ubuntu ${version}`,
    distro: 'ubuntu',
    version,
    registryImage: `docker.io/library/ubuntu:${version}`,
    suite,
    components: ['main', 'universe'],
    sources: [
      `deb ${UBUNTU_ARCHIVE} ${suite} main universe`,
      `deb ${UBUNTU_ARCHIVE} ${suite}-updates main universe`,
      `deb ${UBUNTU_SECURITY} ${suite}-security main universe`,
    ],
    keyring: UBUNTU_KEY,
  };
}

export const RECIPES: readonly RootfsRecipe[] = [
  { name: 'debian-12', title: 'Debian 12', distro: 'debian', version: '12', registryImage: 'docker.io/library/debian:12', suite: 'bookworm', sources: [], components: ['main'] },
  ubuntu('24.04', 'noble'),
  ubuntu('22.04', 'jammy'),
];

/** The recipe for an image, from its os_distro and os_version (undefined: no real root file system for it). */
export function recipeFor(properties: Record<string, string>): RootfsRecipe | undefined {
  const distro = (properties.os_distro ?? '').toLowerCase();
  const version = properties.os_version ?? '';
  return RECIPES.find((r) => r.distro === distro && r.version === version);
}

/** Bump when the way images are made changes: a new key, so old caches are not taken for new ones. */
const RECIPE_VERSION = 1;

/** A key over everything that decides the image's content. */
export function recipeKey(r: RootfsRecipe): string {
  return createHash('sha256').update(JSON.stringify({ v: RECIPE_VERSION, r, packages: PACKAGES })).digest('hex').slice(0, 12);
}

/** The engine's tag for a recipe's image. */
export function imageTag(r: RootfsRecipe): string {
  return `localhost/imagesync-rootfs/${r.name}:${recipeKey(r)}`;
}

/** Shell commands that turn a fresh root into what a published cloud image is: no host keys, an empty machine-id. */
export const GENERALIZE_HOOK = 'rm -f "$1"/etc/ssh/ssh_host_*; : > "$1"/etc/machine-id';

/** The Containerfile that derives a cloud-like image from a registry's base image. */
export function containerfile(r: RootfsRecipe): string {
  const root = GENERALIZE_HOOK.replaceAll('"$1"', '');
  return [
    `FROM ${r.registryImage}`,
    `RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${PACKAGES.join(' ')} && ${root}`,
    `LABEL org.imagesync.rootfs=${r.name} org.imagesync.rootfs.key=${recipeKey(r)}`,
    '',
  ].join('\n');
}

/** mmdebstrap's arguments for a recipe, writing `out` (a tar). */
export function mmdebstrapArgs(r: RootfsRecipe, out: string): string[] {
  return [
    '--variant=apt',
    `--include=${PACKAGES.join(',')}`,
    `--components=${r.components.join(',')}`,
    // Keep apt's lists: a fresh cloud image has them, and `apt-get install` works without an update.
    '--skip=cleanup/apt/lists',
    `--customize-hook=${GENERALIZE_HOOK}`,
    r.suite,
    out,
    ...r.sources,
  ];
}

export interface RootfsLog {
  (line: string): void;
}

/**
 * Makes sure the engine has an image for a recipe: already in its store; else from the cache dir's
 * tar (podman import); else built with mmdebstrap from the distribution's archive (no registry
 * needed; unshare mode without root) and cached; else derived from the registry's image.
 * One build per recipe at a time in this process.
 */
export class RootfsProvider {
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(
    private readonly engine: ContainerEngine,
    private readonly log: RootfsLog,
  ) {}

  /** The image's tag, when the engine's store has it now. */
  async present(r: RootfsRecipe): Promise<boolean> {
    try {
      await this.engine.run(['image', 'inspect', '--format', '{{.Id}}', imageTag(r)], { timeoutMs: 60_000 });
      return true;
    } catch {
      return false;
    }
  }

  /** The image's tag, made if needed. Rejects with MachineUnavailableError saying why it cannot be made. */
  ensure(r: RootfsRecipe): Promise<string> {
    let p = this.inFlight.get(r.name);
    if (!p) {
      p = this.make(r);
      this.inFlight.set(r.name, p);
      // A failure may be passing (the archive was unreachable): the next boot tries again.
      p.catch(() => this.inFlight.delete(r.name));
    }
    return p;
  }

  private async cacheDir(): Promise<string> {
    const { stdout } = await this.engine.runAs('sh', ['-c', 'd="${XDG_CACHE_HOME:-$HOME/.cache}/imagesync/rootfs" && mkdir -p "$d" && echo "$d"']);
    return stdout.toString('utf8').trim();
  }

  private async make(r: RootfsRecipe): Promise<string> {
    const tag = imageTag(r);
    if (await this.present(r)) return tag;
    const started = Date.now();
    const dir = await this.cacheDir();
    const tar = `${dir}/${r.name}-${recipeKey(r)}.tar`;
    const cached = await this.engine.runAs('test', ['-s', tar]).then(
      () => true,
      () => false,
    );
    if (!cached) {
      const mm = await this.engine.runAs('sh', ['-c', 'command -v mmdebstrap']).then(
        () => true,
        () => false,
      );
      if (mm) {
        this.log(`building the ${r.title} root file system with mmdebstrap (first run only: 1.5 to 3 minutes; cached in ${dir})`);
        await this.mmdebstrap(r, tar, dir);
      } else {
        this.log(`deriving the ${r.title} image from ${r.registryImage} (first run only)`);
        try {
          await this.engine.run(['build', '-t', tag, '-'], { input: containerfile(r), timeoutMs: 30 * 60_000 });
        } catch (err) {
          throw new MachineUnavailableError(
            `cannot make a ${r.title} root file system: no mmdebstrap here, and building from ${r.registryImage} failed: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
        this.log(`${r.title} image ready in ${Math.round((Date.now() - started) / 1000)} s (${tag})`);
        return tag;
      }
    }
    await this.engine.run(['import', '--change', `LABEL org.imagesync.rootfs=${r.name}`, tar, tag], { timeoutMs: 30 * 60_000 });
    this.log(`${r.title} image ready in ${Math.round((Date.now() - started) / 1000)} s (${tag})`);
    return tag;
  }

  private async mmdebstrap(r: RootfsRecipe, tar: string, dir: string): Promise<void> {
    // mmdebstrap picks the output format from the extension: the partial file must end in .tar too.
    const partial = `${dir}/.partial-${process.pid}-${r.name}.tar`;
    let keyring: string | undefined;
    try {
      if (r.keyring) keyring = await this.fetchKeyring(r, dir);
      // apt checks signatures as its sandbox user (_apt), who cannot enter a 0700 cache dir: the key
      // goes to a readable temporary copy for the build.
      const script = `set -e
k=$(mktemp -d); trap 'rm -rf "$k"' EXIT; chmod 755 "$k"
if [ -n "$KEYRING" ]; then cp "$KEYRING" "$k/archive.gpg"; chmod 644 "$k/archive.gpg"; set -- --keyring="$k/archive.gpg" "$@"; fi
exec mmdebstrap "$@"`;
      await this.engine.runAs('env', [`KEYRING=${keyring ?? ''}`, 'sh', '-c', script, 'mmdebstrap', ...mmdebstrapArgs(r, partial)], { timeoutMs: 30 * 60_000 });
      await this.engine.runAs('mv', ['-f', partial, tar]);
    } catch (err) {
      await this.engine.runAs('rm', ['-f', partial]).catch(() => undefined);
      throw new MachineUnavailableError(`cannot build the ${r.title} root file system with mmdebstrap: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /**
   * The archive's signing key, fetched over plain HTTP and trusted only through the fingerprint
   * pinned here: the keyring file keeps that one key, so apt verifies the Release file with it.
   */
  private async fetchKeyring(r: RootfsRecipe, dir: string): Promise<string> {
    const k = r.keyring as { url: string; fingerprint: string };
    const out = `${dir}/${r.distro}-archive-${k.fingerprint.slice(-16)}.gpg`;
    const script = `set -e
out=$1; url=$2; fpr=$3
[ -s "$out" ] && exit 0
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
curl -fsSL --max-time 60 -o "$t/keyring.gpg" "$url"
gpg --homedir "$t" --batch --quiet --import "$t/keyring.gpg" 2>/dev/null
gpg --homedir "$t" --batch --with-colons --fingerprint "$fpr" | grep -q "^fpr:::::::::$fpr:"
gpg --homedir "$t" --batch --export "$fpr" > "$t/one.gpg"
[ -s "$t/one.gpg" ]
mv "$t/one.gpg" "$out"`;
    try {
      await this.engine.runAs('sh', ['-c', script, 'keyring', out, k.url, k.fingerprint], { timeoutMs: 120_000 });
    } catch (err) {
      throw new MachineUnavailableError(`cannot get the ${r.title} archive key ${k.fingerprint} from ${k.url}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return out;
  }
}
