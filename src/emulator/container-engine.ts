// The container engine the emulator drives: podman (preferred) or docker, found on PATH and checked once.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export type EngineKind = 'podman' | 'docker';

/** What the engine said about itself (podman info / docker info). */
export interface EngineInfo {
  kind: EngineKind;
  /** The engine's binary, resolved from PATH. */
  bin: string;
  version: string;
  rootless: boolean;
  /** Storage driver: overlay is cheap per container; vfs copies the whole image for each one. */
  storageDriver: string;
  /** Global flags every call gets (e.g. `--runtime runc` where crun cannot run). */
  globalArgs: string[];
}

export class ContainerEngineError extends Error {
  readonly code = 'EMULATOR_CONTAINER_ENGINE';
  constructor(
    message: string,
    /** The engine's own stderr, last lines. */
    readonly stderr = '',
  ) {
    super(message);
  }
}

export interface EngineRunOptions {
  input?: Buffer | string;
  timeoutMs?: number;
}

export interface ContainerEngine {
  readonly info: EngineInfo;
  /** Run one engine command; rejects with the engine's stderr when it exits non-zero. */
  run(args: string[], o?: EngineRunOptions): Promise<{ stdout: Buffer; stderr: string }>;
  /** Start an engine command whose stdout the caller streams (export). */
  spawn(args: string[]): ChildProcess;
  /** Run another program as the engine's user (mmdebstrap, tar): the same user namespace and store. */
  runAs(cmd: string, args: string[], o?: EngineRunOptions): Promise<{ stdout: Buffer; stderr: string }>;
  /** The user the engine runs as (the process's own unless `user` was given). */
  readonly user: string | undefined;
}

export interface FindEngineOptions {
  env: NodeJS.ProcessEnv;
  /** podman, docker, or a path; default: podman, else docker, from PATH. */
  prefer?: string;
  /**
   * Run the engine as this user (rootless) although this process is root: `runuser -u USER --`.
   * For tests and CI that run as root but must boot containers the way a user does.
   */
  user?: string;
}

async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (name.includes('/')) {
    return access(name, constants.X_OK).then(
      () => name,
      () => undefined,
    );
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (
      await access(p, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return p;
  }
  return undefined;
}

function lastLines(s: string, n = 3): string {
  return s.trim().split('\n').filter((l) => l.trim() !== '').slice(-n).join(' | ');
}

/** `cmd args` with the prefix that switches to `user` (root only), and an environment that suits it. */
function wrap(cmd: string, args: string[], user: string | undefined, env: NodeJS.ProcessEnv): { file: string; argv: string[]; env: NodeJS.ProcessEnv } {
  if (!user) return { file: cmd, argv: args, env };
  // runuser sets HOME, USER and LOGNAME; root's XDG_RUNTIME_DIR would point rootless podman at /run/user/0.
  const clean = { ...env };
  delete clean.XDG_RUNTIME_DIR;
  delete clean.DBUS_SESSION_BUS_ADDRESS;
  return { file: 'runuser', argv: ['-u', user, '--', cmd, ...args], env: clean };
}

function runProcess(
  file: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
  what: string,
  o: EngineRunOptions = {},
): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      argv,
      { encoding: 'buffer', maxBuffer: 8 * 1024 * 1024 * 1024, env, cwd: '/', timeout: o.timeoutMs ?? 0, killSignal: 'SIGKILL' },
      (err, stdout, stderrBuf) => {
        const stderr = stderrBuf.toString('utf8');
        if (err) {
          const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${file} not found` : lastLines(stderr) || err.message;
          reject(new ContainerEngineError(`${what} failed: ${why}`, stderr));
        } else resolve({ stdout, stderr });
      },
    );
    if (o.input !== undefined) child.stdin?.end(o.input);
  });
}

/** Is this a cgroup v1 (or hybrid) host? crun refuses hybrid hosts whose unified tree has controllers. */
function needsRunc(cgroupVersion: string, runtime: string): boolean {
  return cgroupVersion === 'v1' && runtime === 'crun';
}

/**
 * Find podman or docker and ask it about itself. Rejects with one line that says what to install
 * (or what is wrong with the engine that was found).
 */
export async function findContainerEngine(o: FindEngineOptions): Promise<ContainerEngine> {
  const candidates = o.prefer ? [o.prefer] : ['podman', 'docker'];
  let bin: string | undefined;
  let kind: EngineKind = 'podman';
  for (const c of candidates) {
    bin = await onPath(c, o.env);
    if (bin) {
      kind = /docker[^/]*$/.test(c) ? 'docker' : 'podman';
      break;
    }
  }
  if (!bin) {
    throw new ContainerEngineError(
      o.prefer
        ? `container engine ${o.prefer} not found on PATH`
        : 'no container engine: install podman (Debian/Ubuntu: apt-get install podman uidmap slirp4netns; macOS: brew install podman && podman machine init --now) or Docker',
    );
  }
  const user = o.user;
  const base = (args: string[]): ReturnType<typeof wrap> => wrap(bin as string, args, user, o.env);
  let info: EngineInfo;
  if (kind === 'podman') {
    const w = base(['info', '--format', 'json']);
    const raw = await runProcess(w.file, w.argv, w.env, `${bin} info`, { timeoutMs: 60_000 });
    const d = JSON.parse(raw.stdout.toString('utf8')) as {
      host?: { cgroupVersion?: string; ociRuntime?: { name?: string }; security?: { rootless?: boolean } };
      store?: { graphDriverName?: string };
      version?: { Version?: string };
    };
    const runtime = d.host?.ociRuntime?.name ?? '';
    const globalArgs: string[] = [];
    if (needsRunc(d.host?.cgroupVersion ?? '', runtime)) {
      if (!(await onPath('runc', o.env)) && !(await onPath('/usr/sbin/runc', o.env))) {
        throw new ContainerEngineError(`podman's runtime crun cannot run containers on this cgroup v1 (hybrid) host: install runc (apt-get install runc)`);
      }
      globalArgs.push('--runtime', 'runc');
    }
    info = {
      kind,
      bin,
      version: d.version?.Version ?? '?',
      rootless: d.host?.security?.rootless ?? false,
      storageDriver: d.store?.graphDriverName ?? '?',
      globalArgs,
    };
  } else {
    const w = base(['info', '--format', '{{json .}}']);
    const raw = await runProcess(w.file, w.argv, w.env, `${bin} info (is the Docker daemon running?)`, { timeoutMs: 60_000 });
    const d = JSON.parse(raw.stdout.toString('utf8')) as { ServerVersion?: string; Driver?: string; SecurityOptions?: string[] };
    info = {
      kind,
      bin,
      version: d.ServerVersion ?? '?',
      rootless: (d.SecurityOptions ?? []).some((s) => s.includes('rootless')),
      storageDriver: d.Driver ?? '?',
      globalArgs: [],
    };
  }
  return {
    info,
    user,
    run(args, ro) {
      const w = base([...info.globalArgs, ...args]);
      return runProcess(w.file, w.argv, w.env, `${kind} ${args[0] ?? ''}`, ro);
    },
    spawn(args) {
      // podman export opens /dev/stdout by name: Node's stdout "pipe" is a socket, which cannot be
      // opened that way (ENXIO), and as another user root's pipe would refuse the open anyway. So
      // the stream goes through a real pipe of the engine user's own shell.
      const w = wrap('bash', ['-c', 'set -o pipefail; "$0" "$@" | cat', bin as string, ...info.globalArgs, ...args], user, o.env);
      return spawn(w.file, w.argv, { env: w.env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    },
    runAs(cmd, args, ro) {
      const w = wrap(cmd, args, user, o.env);
      return runProcess(w.file, w.argv, w.env, cmd, ro);
    },
  };
}
