// Run the real `openstack` client (python-openstackclient) against a clouds.yaml, in a clean environment.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

export interface OpenstackRun {
  args: string[];
  code: number;
  stdout: string;
  stderr: string;
}

export interface OpenstackCli {
  /** Run `openstack ARGS`; never throws for a non-zero exit. */
  run(args: string[]): Promise<OpenstackRun>;
  /** Run `openstack ARGS -f json` and parse stdout; throws with the command and its stderr on failure. */
  json<T = any>(args: string[]): Promise<T>;
  /** Run `openstack ARGS`; throws with the command and its stderr on failure. */
  ok(args: string[]): Promise<OpenstackRun>;
}

export interface OpenstackCliOptions {
  cloudsYaml: string;
  cloud: string;
  /** HOME of the client (its caches); a temporary directory of the caller. */
  home: string;
  /** Per-command deadline (default 180 s: `server create --wait` on a busy machine). */
  timeoutMs?: number;
}

const SEARCH = ['/usr/bin', '/usr/local/bin', '/bin'];

/** Where Debian's `openstack` is, or undefined. */
export function findOpenstackBinary(path = process.env.PATH ?? ''): string | undefined {
  for (const dir of [...path.split(':').filter(Boolean), ...SEARCH]) {
    const file = join(dir, 'openstack');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The `openstack` binary, or an error that says how to install it (a missing client fails, never skips). */
export function requireOpenstackBinary(): string {
  const bin = findOpenstackBinary();
  if (!bin) {
    throw new Error(
      'the `openstack` client is not installed: run `bash scripts/openstack-loopback.sh install` (as root; it installs python3-openstackclient) or `apt-get install -y python3-openstackclient`',
    );
  }
  return bin;
}

export function createOpenstackCli(opts: OpenstackCliOptions): OpenstackCli {
  const bin = requireOpenstackBinary();
  // Never the developer's own OS_* variables, clouds.yaml or a pyenv python (Debian's client needs Debian's python).
  const env: NodeJS.ProcessEnv = {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: opts.home,
    LANG: 'C.UTF-8',
    OS_CLIENT_CONFIG_FILE: opts.cloudsYaml,
    OS_CLOUD: opts.cloud,
    PYTHONWARNINGS: 'ignore',
  };
  const run = (args: string[]): Promise<OpenstackRun> =>
    new Promise((resolve) => {
      const child = execFile(bin, args, { env, timeout: opts.timeoutMs ?? 180_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ args, code, stdout, stderr: err && err.killed ? `${stderr}\n(killed after ${opts.timeoutMs ?? 180_000} ms)` : stderr });
      });
      // `image create` without --file reads the image data from a stdin that is not a terminal.
      child.stdin?.end();
    });
  const ok = async (args: string[]): Promise<OpenstackRun> => {
    const r = await run(args);
    if (r.code !== 0) throw new Error(`openstack ${args.join(' ')} exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return r;
  };
  return {
    run,
    ok,
    async json(args) {
      const r = await ok([...args, '-f', 'json']);
      try {
        return JSON.parse(r.stdout);
      } catch {
        throw new Error(`openstack ${args.join(' ')} -f json printed no JSON: ${r.stdout.slice(0, 300)}`);
      }
    },
  };
}

/** The last meaningful line of a failed command's stderr (the client's error message). */
export function errorLine(r: OpenstackRun): string {
  const lines = r.stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines[lines.length - 1] ?? `exit ${r.code}`;
}
