// A build server as a real machine: sshd in a private mount/pid/uts namespace over an overlay of the host's root.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What every server directory holds; only `upper` is the server's disk (and its snapshots). */
export interface ServerDirs {
  root: string;
  /** The overlay's upper dir: everything the server changed. */
  upper: string;
  work: string;
  merged: string;
  /** sshd config, host keys, cloud-init script: copied into the server's /run (a tmpfs) at boot. */
  boot: string;
}

export function serverDirs(root: string): ServerDirs {
  return { root, upper: join(root, 'upper'), work: join(root, 'work'), merged: join(root, 'merged'), boot: join(root, 'boot') };
}

export async function createServerDirs(root: string): Promise<ServerDirs> {
  const d = serverDirs(root);
  await Promise.all([d.upper, d.work, d.merged, d.boot].map((p) => mkdir(p, { recursive: true, mode: 0o755 })));
  return d;
}

const OVERLAYFS_MAGIC = 0x794c7630;

/**
 * Where server directories go: an overlay upper dir cannot itself sit on overlayfs (the root of
 * most containers), so fall back to /dev/shm there.
 */
export async function defaultComputeRoot(): Promise<string> {
  const base = tmpdir();
  try {
    if ((await statfs(base)).type === OVERLAYFS_MAGIC) return '/dev/shm';
  } catch {
    // statfs unsupported: keep tmpdir
  }
  return base;
}

/** The setup run inside the new namespaces before sshd takes over (as PID 1 of the pid namespace). */
const BOOT_SCRIPT = `set -e
D=$1; M=$D/merged; H=$2
hostname "$H"
mount -t overlay overlay -o "lowerdir=/,upperdir=$D/upper,workdir=$D/work" "$M"
mount --rbind /dev "$M/dev"
mount -t proc proc "$M/proc"
mount -t tmpfs -o mode=755 tmpfs "$M/run"
mount -t tmpfs -o mode=1777 tmpfs "$M/tmp"
mkdir -p "$M/run/sshd" "$M/run/imagesync"
cp "$D"/boot/* "$M/run/imagesync/"
chroot "$M" /bin/sh /run/imagesync/cloud-init.sh
echo imagesync-sandbox-ready >&2
exec chroot "$M" /usr/sbin/sshd -D -e -f /run/imagesync/sshd_config
`;

export class SandboxError extends Error {}

export interface StartSandboxOptions {
  dirs: ServerDirs;
  hostname: string;
  address: string;
  port: number;
  /** Wait this long for the SSH banner. */
  startTimeoutMs?: number;
}

export interface Sandbox {
  /** Host pid of the namespace holder (unshare); SIGKILL to it ends every process of the server. */
  readonly pid: number;
  readonly address: string;
  readonly port: number;
  /** sshd's stderr (its log) and the boot script's errors, last few KB. */
  log(): string;
  readonly exited: boolean;
  /** Kill every process of the server; the namespace and its mounts go with the last one. */
  stop(): Promise<void>;
}

/** Refuse early, with the reason, where namespaces and overlay mounts cannot work. */
export function sandboxUnsupportedReason(): string | undefined {
  if (process.platform !== 'linux') return `the emulator's build servers need Linux mount namespaces; this is ${process.platform}`;
  if (process.getuid?.() !== 0) {
    return "the emulator's build servers need root for mount namespaces: run the emulator as root (or in a container as root)";
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Does an SSH server answer on host:port (its banner, within a second)? */
export function bannerOnce(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = netConnect({ host, port });
    let data = '';
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      if (data.includes('\n')) done(data.startsWith('SSH-2.0-'));
    });
    sock.on('error', () => done(false));
    sock.on('close', () => done(data.startsWith('SSH-2.0-')));
  });
}

async function childrenOf(pid: number): Promise<number[]> {
  return (await processTree()).get(pid) ?? [];
}

/** Pids of every descendant of `pid` (from /proc), deepest last. */
export async function descendants(pid: number): Promise<number[]> {
  const children = await processTree();
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** Parent pid → child pids, from /proc. */
async function processTree(): Promise<Map<number, number[]>> {
  const children = new Map<number, number[]>();
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => undefined);
    if (!stat) continue;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  return children;
}

function alive(pid: number): Promise<boolean> {
  return readFile(`/proc/${pid}/stat`, 'utf8').then(
    (s) => !/^\S+ \(.*\) Z/.test(s),
    () => false,
  );
}

/**
 * Start the server: new mount, uts and pid namespaces (killed with their holder, and with this
 * process through the parent-death signal), the overlay mounted and chrooted into, cloud-init's
 * script run, then sshd on `address:port`. The caller wrote `dirs.boot` first (see cloud-init.ts).
 */
export async function startSandbox(o: StartSandboxOptions): Promise<Sandbox> {
  const reason = sandboxUnsupportedReason();
  if (reason) throw new SandboxError(reason);
  await writeFile(join(o.dirs.boot, 'boot.sh'), BOOT_SCRIPT, { mode: 0o755 });
  const child: ChildProcess = spawn(
    'setpriv',
    [
      '--pdeathsig',
      'KILL',
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--uts',
      '--pid',
      '--kill-child=SIGKILL',
      'sh',
      join(o.dirs.boot, 'boot.sh'),
      o.dirs.root,
      o.hostname,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    log = (log + d).slice(-8000);
  });
  let exited = false;
  const exitedP = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  child.once('error', (err) => {
    log += `\nspawn setpriv/unshare failed: ${err.message}`;
  });
  const pid = child.pid ?? -1;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // Descendants first, as seen now: a zombie-free check below waits for them to vanish.
      const procs = pid > 0 ? await descendants(pid) : [];
      const init = pid > 0 ? (await childrenOf(pid))[0] : undefined;
      // Kill the namespace's PID 1 (the kernel then kills every process of the namespace) and let
      // unshare reap it and exit: killing unshare first would leave PID 1 a zombie for the host's
      // init to reap, whenever it gets to it.
      if (init !== undefined && !exited) {
        try {
          process.kill(init, 'SIGKILL');
        } catch {
          /* already gone */
        }
        await Promise.race([exitedP, sleep(2000)]);
      }
      // unshare ignores SIGTERM while it waits for its child: only SIGKILL ends it.
      if (!exited) child.kill('SIGKILL');
      await exitedP;
      const deadline = Date.now() + 3000;
      for (const p of procs) {
        while ((await alive(p)) && Date.now() < deadline) await sleep(10);
        if (await alive(p)) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
    })();
    return stopping;
  };
  const timeoutMs = o.startTimeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  const lastLines = (): string => log.trim().split('\n').filter((l) => l !== 'imagesync-sandbox-ready').slice(-3).join(' | ');
  for (;;) {
    if (exited) {
      await stop();
      throw new SandboxError(`server process exited before sshd listened on ${o.address}:${o.port}: ${lastLines() || 'no output'}`);
    }
    if (log.includes('imagesync-sandbox-ready') && (await bannerOnce(o.address, o.port))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new SandboxError(`sshd gave no banner on ${o.address}:${o.port} within ${timeoutMs} ms: ${lastLines() || 'no output'}`);
    }
    await sleep(log.includes('imagesync-sandbox-ready') ? 5 : 10);
  }
  return {
    pid,
    address: o.address,
    port: o.port,
    log: () => log,
    get exited() {
      return exited;
    },
    stop,
  };
}

function run(cmd: string, args: string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'buffer', maxBuffer: 4 * 1024 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new SandboxError(`${cmd} ${args.join(' ')} failed: ${stderr.toString('utf8').trim().split('\n').slice(-2).join(' | ') || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * The server's disk as a tar of its overlay upper dir. Whiteouts (char 0:0) and opaque-dir xattrs
 * travel along, so a file deleted by a build step stays deleted in the next server.
 */
export function tarUpperDir(dirs: ServerDirs): Promise<Buffer> {
  return run('tar', [
    '-C',
    dirs.upper,
    '--numeric-owner',
    '--xattrs',
    '--xattrs-include=trusted.overlay.*',
    '--exclude=./run',
    '--exclude=./tmp',
    '--exclude=./proc',
    '--exclude=./dev',
    '--exclude=./sys',
    '-cf',
    '-',
    '.',
  ]);
}

/** An image's data as a server disk: a tar (ustar magic, or an empty archive of zero blocks). */
export function looksLikeTar(data: Buffer): boolean {
  if (data.length < 512 || data.length % 512 !== 0) return false;
  if (data.subarray(257, 262).toString('latin1') === 'ustar') return true;
  return data.subarray(0, 1024).every((b) => b === 0);
}

export async function extractIntoUpper(dirs: ServerDirs, data: Buffer): Promise<void> {
  await run('tar', ['-C', dirs.upper, '--numeric-owner', '--xattrs', '--xattrs-include=trusted.overlay.*', '-xpf', '-'], data);
}

/** An empty tar: what the emulator's base images carry. */
export const EMPTY_TAR = Buffer.alloc(10240);

export async function removeServerDir(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}

/** Can this process bind `host:port`? (Another process's wildcard listener on the port also blocks it.) */
export function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}
