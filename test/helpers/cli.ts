// Run the CLI in-process with captured streams, a temp working directory and a clean environment.
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { Redactor } from '../../src/redact.js';
import type { CliDeps } from '../../src/cli/deps.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(
  argv: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; home?: string; signal?: AbortSignal; /** Pretend stdin and stderr are a terminal; type this answer. */ tty?: { answer: string } },
): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough() as PassThrough & { isTTY?: boolean };
  let stdin: (PassThrough & { isTTY?: boolean }) | undefined;
  if (opts.tty) {
    stdin = new PassThrough();
    stdin.isTTY = true;
    stderr.isTTY = true;
    // Answer once the question is on the screen, as a person would.
    stderr.on('data', (c: Buffer) => {
      if (c.toString().includes('[y/N]')) stdin!.write(`${opts.tty!.answer}\n`);
    });
  }
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  const deps: CliDeps = {
    stdout,
    stderr,
    ...(stdin ? { stdin } : {}),
    // Never the developer's own OS_* variables or clouds.yaml.
    env: { PATH: process.env.PATH, NO_COLOR: '1', ...opts.env },
    cwd: opts.cwd,
    home: opts.home ?? opts.cwd,
    signal: opts.signal ?? new AbortController().signal,
    redactor: new Redactor(),
  };
  const code = await main(argv, deps);
  return { code, stdout: out, stderr: err };
}

/** The flags of `imagesync run`, as a test names them. */
export interface RunTaskFlags {
  task: string;
  hosts: string[];
  args?: string[];
  identity?: string;
  knownHosts?: string;
  acceptNew?: boolean;
  parallel?: number;
  json?: boolean;
  connectTimeoutSeconds?: number;
  image?: string;
  passphraseEnv?: string;
  tasksDir?: string;
}

/** `run TASK -H … --arg … …`: the argv a person would type for these flags. */
export function runTaskArgv(o: RunTaskFlags): string[] {
  return [
    'run',
    o.task,
    ...o.hosts.flatMap((h) => ['-H', h]),
    ...(o.args ?? []).flatMap((a) => ['--arg', a]),
    ...(o.identity !== undefined ? ['-i', o.identity] : []),
    ...(o.knownHosts !== undefined ? ['--known-hosts', o.knownHosts] : []),
    ...(o.acceptNew ? ['--accept-new'] : []),
    ...(o.parallel !== undefined ? ['--parallel', String(o.parallel)] : []),
    ...(o.json ? ['--json'] : []),
    ...(o.connectTimeoutSeconds !== undefined ? ['--connect-timeout', String(o.connectTimeoutSeconds)] : []),
    ...(o.image !== undefined ? ['--image', o.image] : []),
    ...(o.passphraseEnv !== undefined ? ['--passphrase-env', o.passphraseEnv] : []),
    ...(o.tasksDir !== undefined ? ['--tasks-dir', o.tasksDir] : []),
  ];
}
