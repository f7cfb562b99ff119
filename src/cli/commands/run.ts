// `imagesync run TASK -H user@host,...`: one task on many hosts over SSH (Fabric's `fab -H`), per-host results.
import { join, resolve } from 'node:path';
import { ExitCode, UsageError } from '../../errors.js';
import { parseTaskArgs } from '../../run/args.js';
import { NOT_STARTED, runTaskOnHosts, type HostResult } from '../../run/group.js';
import { parseHostSpecs, parseJumpSpecs } from '../../run/hosts.js';
import { loadCredentials } from '../../run/keys.js';
import { formatDuration, prefixedLogger, renderResults, resultsJson } from '../../run/output.js';
import { checkTaskArgs } from '../../manifest/task-args.js';
import { loadTasks } from '../../tasks/loader.js';
import { displayPath, writeSafe } from '../../output.js';
import { type CliDeps } from '../deps.js';
import { readSecret } from '../views/secret.js';

export interface RunCommandOptions {
  task: string;
  /** `-H` values, each `user@host[:port]` or a comma list of them. */
  hosts: string[];
  /** `-i KEY`: an OpenSSH private key file (mode 0600 or stricter). */
  identity?: string | undefined;
  /** Hosts at once; default 5. */
  parallel?: number | undefined;
  /** `--arg key=value`, value parsed as JSON when it parses. */
  args: string[];
  acceptNew?: boolean | undefined;
  /** Default ~/.ssh/known_hosts. */
  knownHosts?: string | undefined;
  tasksDir: string;
  json?: boolean | undefined;
  /** User for specs without `user@`; default $USER. */
  user?: string | undefined;
  /** Environment variable holding the passphrase of an encrypted -i key. */
  passphraseEnv?: string | undefined;
  /** Per host: TCP connect + handshake + auth. Default 20 s. */
  connectTimeoutMs?: number | undefined;
  /** `c.image.name` in the task; default "adhoc". */
  image?: string | undefined;
  /** `-J user@bastion[:port]`, or a comma-separated chain: every host is reached through it. */
  jump?: string | undefined;
  /**
   * Ask for the sudo password once before any host is contacted (on a terminal without echo, else
   * the first line of stdin) and give it to sudo on every host when it asks.
   */
  promptForSudoPassword?: boolean | undefined;
}

export const DEFAULT_PARALLEL = 5;
export const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;

function positiveInt(value: number | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  // yargs gives NaN (or null) for a --parallel that is not a number.
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${flag} ${value}: expected a whole number of at least 1`);
  return value;
}

/** Everything checked before any host is contacted: bad input is exit 3 with nothing touched. */
async function prepare(opts: RunCommandOptions, deps: CliDeps) {
  const parallel = positiveInt(opts.parallel, '--parallel', DEFAULT_PARALLEL);
  if (opts.connectTimeoutMs !== undefined && !(opts.connectTimeoutMs > 0)) {
    throw new UsageError(`--connect-timeout: expected a positive number of seconds`);
  }
  const hosts = parseHostSpecs(opts.hosts, opts.user ?? deps.env.USER);
  const jump = opts.jump === undefined ? undefined : parseJumpSpecs(opts.jump, opts.user ?? deps.env.USER);
  const args = parseTaskArgs(opts.args);
  const tasksDir = resolve(deps.cwd, opts.tasksDir);
  const tasks = await loadTasks(tasksDir, { displayRoot: deps.cwd });
  const task = tasks.get(opts.task);
  if (!task) {
    const shown = displayPath(deps.cwd, tasksDir);
    throw new UsageError(
      tasks.size === 0
        ? `unknown task "${opts.task}": ${shown} has no tasks; add ${shown}/${opts.task}.ts exporting defineTask({ name: "${opts.task}", ... })`
        : `unknown task "${opts.task}"; tasks in ${shown}: ${[...tasks.keys()].sort().join(', ')} (imagesync tasks describes them)`,
    );
  }
  // The task's schema checks --arg before any host is contacted.
  const checked = checkTaskArgs(task, args, []);
  if (!checked.ok) {
    const [first, ...more] = checked.problems.map((p) => `--arg ${p.replace(/^: /, '')}`);
    throw new UsageError(`task ${task.name}: ${first}`, { details: more });
  }
  const credentials = await loadCredentials({
    identity: opts.identity,
    passphraseEnv: opts.passphraseEnv,
    env: deps.env,
    cwd: deps.cwd,
    home: deps.home,
    addSecret: (s) => deps.redactor.add(s),
  });
  const knownHostsFile = opts.knownHosts ? resolve(deps.cwd, opts.knownHosts) : join(deps.home, '.ssh', 'known_hosts');
  // Last: nobody types a password for a command line that is refused anyway.
  const sudoPassword = opts.promptForSudoPassword
    ? await readSecret({ stdin: deps.stdin, stderr: deps.stderr, prompt: 'Sudo password (for every host): ', flag: '--prompt-for-sudo-password' })
    : undefined;
  // Masked wherever it could still turn up: a command's output, an error, the --json report.
  if (sudoPassword !== undefined) deps.redactor.add(sudoPassword);
  return { parallel, hosts, jump, args, task, credentials, knownHostsFile, tasksDir, sudoPassword };
}

export async function runRun(opts: RunCommandOptions, deps: CliDeps): Promise<number> {
  const p = await prepare(opts, deps);
  const writeLine = (line: string): void => writeSafe(deps, deps.stderr, `${line}\n`);
  const results: HostResult[] = await runTaskOnHosts({
    task: p.task,
    args: p.args,
    hosts: p.hosts,
    parallel: p.parallel,
    credentials: { privateKey: p.credentials.privateKey, agent: p.credentials.agent },
    jump: p.jump,
    sudoPassword: p.sudoPassword,
    knownHostsFile: p.knownHostsFile,
    acceptNew: opts.acceptNew ?? false,
    connectTimeoutMs: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    imageName: opts.image ?? 'adhoc',
    signal: deps.signal,
    loggerFor: (host) => prefixedLogger(host.label, writeLine),
    redactor: deps.redactor,
    localCwd: deps.cwd,
    onHostEnd: (r) => writeLine(`[${r.host}] ${r.ok ? 'ok' : `failed: ${r.error ?? ''}`} (${formatDuration(r.durationMs)})`),
  });
  const notStarted = results.filter((r) => r.error === NOT_STARTED).length;
  if (notStarted > 0) writeLine(`imagesync: interrupted: ${notStarted} host${notStarted === 1 ? '' : 's'} not started`);
  writeSafe(deps, deps.stdout, opts.json ? resultsJson(p.task.name, results) : renderResults(p.task.name, results));
  return results.every((r) => r.ok) ? ExitCode.ok : ExitCode.failure;
}
