// The command line: yargs commands fill an options object and call run*(options, deps); the one top-level catch.
import { setMaxListeners } from 'node:events';
import { resolve } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { ExitCode, ImagesyncError, InputError, UsageError, errorMessage } from '../errors.js';
import { detectCi } from '../report/ci.js';
import { annotationForInputError, formatAnnotations } from '../report/github.js';
import { processDeps, type CliDeps } from './deps.js';
import { nearest } from '../manifest/suggest.js';
import { parseShard } from '../shard/shard.js';
import { imagesyncVersion } from '../version.js';

type Handler = (deps: CliDeps) => Promise<number>;

const COMMANDS = ['validate', 'plan', 'apply', 'show', 'gc', 'merge-reports', 'run', 'tasks', 'emulator', 'demo'];
const NAME_A_COMMAND = `Name a command: ${COMMANDS.slice(0, -1).join(', ')} or ${COMMANDS.at(-1)} (imagesync --help lists them)`;

/** A numeric flag that refuses "abc", "1.5", "" and values below `min` with a message naming the flag. */
function wholeNumber(flag: string, min: number): (v: unknown) => number {
  return (v) => {
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    // An optional flag left out (no default) stays unset.
    if (last === undefined) return undefined as unknown as number;
    if (typeof last === 'number' && Number.isInteger(last) && last >= min) return last;
    const text = String(last ?? '').trim();
    if (!/^-?\d+$/.test(text) || Number(text) < min) {
      // Numbers as typed (--concurrency 1.5); anything else quoted so an empty value is visible.
      const shown = /^-?[\d.]+$/.test(text) ? text : JSON.stringify(text);
      throw new UsageError(`--${flag} ${shown}: expected a whole number ≥ ${min}`);
    }
    return Number(text);
  };
}

function numberOption(flag: string, min: number, def: number, describe: string, extra: Record<string, unknown> = {}) {
  return { type: 'string' as const, requiresArg: true, default: String(def), coerce: wholeNumber(flag, min), describe, ...extra } as unknown as {
    type: 'number';
    default: number;
    describe: string;
  };
}

/** yargs gives `--no-lock` as false on a string option; `--lock` alone as "" (refused later with a hint). */
function lockFlag(v: unknown): string | false | undefined {
  return v === false ? false : v === undefined ? undefined : String(v);
}

function globalOptions(y: Argv) {
  return y
    .option('manifest', { alias: 'm', type: 'string', default: 'images.manifest.json', describe: 'The manifest file', global: true })
    .option('debug', { type: 'boolean', default: false, describe: 'Trace every HTTP call on stderr (secrets redacted)', global: true })
    .option('color', { type: 'boolean', describe: 'Force colour on or off (default: on a TTY, unless NO_COLOR)', global: true })
    .option('ci', {
      type: 'boolean',
      describe: 'CI mode on or off: plain timestamped progress, log groups, GitHub annotations and step summary (default: from CI, GITHUB_ACTIONS, GITLAB_CI)',
      global: true,
    });
}

/** --ci / --no-ci for the code that reads CI from the environment (progress: plain, timestamped lines). */
function withCiFlag(d: CliDeps, flag: boolean | undefined): CliDeps {
  if (flag === undefined) return d;
  const env = { ...d.env };
  if (flag) env.CI = 'true';
  else delete env.CI;
  return { ...d, env };
}

/** Parse argv into one command to run; parsing needs no credentials and contacts nothing. */
async function parse(argv: string[], deps: CliDeps): Promise<Handler | number> {
  const first = argv.find((a) => !a.startsWith('-'));
  if (first !== undefined && argv.indexOf(first) === 0 && !COMMANDS.includes(first)) {
    const near = nearest(first, COMMANDS);
    throw new UsageError(`unknown command "${first}" — ${near ? `did you mean "${near}"?` : `the commands are ${COMMANDS.join(', ')}`}`);
  }
  let chosen: Handler | undefined;
  const manifestPath = (m: unknown) => resolve(deps.cwd, String(m));
  const y = globalOptions(yargs(argv))
    .scriptName('imagesync')
    .usage('$0 <command> [options]\n\nKeep identically named server images in every OpenStack cloud and region.')
    .command(
      'validate',
      'Check the manifest (offline)',
      (c) => c,
      (a) => {
        chosen = async (d) => (await import('./commands/validate.js')).runValidate({ manifest: manifestPath(a.manifest) }, d);
      },
    )
    .command(
      'plan',
      'Show, for every wanted image and target, what exists there',
      (c) =>
        c
          .option('json', { type: 'boolean', default: false, describe: 'Print the plan as one JSON object on stdout' })
          .option('detailed-exitcode', { type: 'boolean', default: false, describe: 'Exit 2 when not in sync (0 in sync, 1 failure)' })
          .option('target', { alias: 't', type: 'string', array: true, requiresArg: true, describe: 'Only this cloud/region (repeatable)' })
          .option('shard', { type: 'string', requiresArg: true, describe: 'Only shard K of N (K/N, e.g. 2/4): the targets left after --target, split into N balanced parts for a CI matrix' })
          .option('junit', { type: 'string', requiresArg: true, describe: 'Also write a JUnit XML report to FILE: one testcase per image and target' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'No progress on stderr' })
          .option('lock', { type: 'string', describe: 'Lock file to compare with (default images.lock.json beside the manifest); --no-lock: none' }),
      (a) => {
        chosen = async (d) =>
          (await import('./commands/plan.js')).runPlan(
            {
              manifest: manifestPath(a.manifest),
              json: a.json,
              detailedExitcode: a['detailed-exitcode'],
              target: a.target?.map(String),
              shard: a.shard === undefined ? undefined : parseShard(a.shard),
              junit: a.junit ? resolve(d.cwd, a.junit) : undefined,
              ci: a.ci,
              colour: a.color,
              debug: a.debug,
              quiet: a.quiet,
              lock: lockFlag(a.lock),
            },
            withCiFlag(d, a.ci),
          );
      },
    )
    .command(
      'apply',
      'Build every missing, outdated or broken image, then plan again',
      (c) =>
        c
          .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Do not ask for confirmation (required when not on a terminal)' })
          .option('json', { type: 'boolean', default: false, describe: 'Print the report (builds, image ids, durations, the plan after) as JSON on stdout' })
          .option('target', { alias: 't', type: 'string', array: true, requiresArg: true, describe: 'Only this cloud/region (repeatable)' })
          .option('shard', { type: 'string', requiresArg: true, describe: 'Only shard K of N (K/N, e.g. 2/4): the targets left after --target, split into N balanced parts for a CI matrix' })
          .option('junit', { type: 'string', requiresArg: true, describe: 'Also write a JUnit XML report to FILE: one testcase per image and target' })
          .option('concurrency', numberOption('concurrency', 1, 4, 'Builds at once, in total'))
          .option('per-target', numberOption('per-target', 1, 2, 'Builds at once in one target (the manifest build.concurrency wins)'))
          .option('keep-on-failure', { type: 'boolean', default: false, describe: 'Keep the server, keypair and private key of a failed build for debugging' })
          .option('timeout', numberOption('timeout', 1, 0, 'Give up after this many seconds: stop every wait and request, clean up, exit 1 (default: no limit)', { default: undefined }))
          .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'No progress on stderr' })
          .option('poll-interval-ms', numberOption('poll-interval-ms', 1, 500, 'First poll interval of every wait', { hidden: true }))
          .option('lock', { type: 'string', describe: 'Lock file to write (default images.lock.json beside the manifest); --no-lock: none' })
          .option('dry-run', { type: 'boolean', default: false, describe: 'Change nothing: show what would be built, healed and (with --keep) deleted' })
          .option('heal-duplicates', { type: 'boolean', default: false, describe: 'Of several images with one name, keep one (the newest active with the manifest\'s recipe) and rename and hide the others; never deletes' })
          .option('keep', numberOption('keep', 0, 0, 'After publishing, delete superseded images of that name beyond the newest N (never one a server uses)', { default: undefined })),
      (a) => {
        chosen = async (d) => {
          const { withDeadline } = await import('../openstack/wait.js');
          return (await import('./commands/apply.js')).runApply(
            {
              manifest: manifestPath(a.manifest),
              yes: a.yes,
              json: a.json,
              target: a.target?.map(String),
              shard: a.shard === undefined ? undefined : parseShard(a.shard),
              junit: a.junit ? resolve(d.cwd, a.junit) : undefined,
              ci: a.ci,
              concurrency: a.concurrency,
              perTarget: a['per-target'],
              keepOnFailure: a['keep-on-failure'],
              colour: a.color,
              debug: a.debug,
              quiet: a.quiet,
              pollIntervalMs: a['poll-interval-ms'],
              lock: lockFlag(a.lock),
              healDuplicates: a['heal-duplicates'],
              dryRun: a['dry-run'],
              keep: a.keep,
            },
            { ...withCiFlag(d, a.ci), signal: withDeadline(d.signal, a.timeout) },
          );
        };
      },
    )
    .command(
      'show <name>',
      'Show one image in every target: id, status, size, the commit, recipe, run and CI run it came from, and whether it matches the lock and the manifest',
      (c) =>
        c
          .positional('name', { type: 'string', demandOption: true, describe: 'Image name from the manifest' })
          .option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON on stdout' })
          .option('target', { alias: 't', type: 'string', array: true, requiresArg: true, describe: 'Only this cloud/region (repeatable)' })
          .option('lock', { type: 'string', describe: 'Lock file to compare with (default images.lock.json beside the manifest); --no-lock: none' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'No progress on stderr' }),
      (a) => {
        chosen = async (d) =>
          (await import('./commands/show.js')).runShow(
            {
              manifest: manifestPath(a.manifest),
              name: String(a.name),
              json: a.json,
              target: a.target?.map(String),
              lock: lockFlag(a.lock),
              colour: a.color,
              debug: a.debug,
              quiet: a.quiet,
            },
            d,
          );
      },
    )
    .command(
      'run <task>',
      'Run a task from tasks/ on hosts over SSH (like fab -H); per-host results',
      (c) =>
        c
          .positional('task', { type: 'string', demandOption: true, describe: 'Task name (imagesync tasks lists them)' })
          .option('hosts', { alias: 'H', type: 'string', array: true, nargs: 1, demandOption: true, describe: 'user@host[:port] or user@[ipv6]:port; repeatable or comma-separated' })
          .option('identity', { alias: 'i', type: 'string', describe: 'OpenSSH private key file, mode 0600 (default ~/.ssh/id_ed25519, id_ecdsa, id_rsa)' })
          .option('passphrase-env', { type: 'string', describe: 'Environment variable holding the passphrase of an encrypted key' })
          .option('user', { alias: 'u', type: 'string', describe: 'User for hosts given without user@ (default $USER)' })
          .option('parallel', numberOption('parallel', 1, 5, 'Hosts at once', { alias: 'p' }))
          .option('arg', { alias: 'a', type: 'string', array: true, nargs: 1, default: [] as string[], describe: 'Task argument key=value (JSON value when it parses); repeatable' })
          .option('accept-new', { type: 'boolean', default: false, describe: 'Record the key of a host known_hosts lacks (a changed key is always refused)' })
          .option('known-hosts', { type: 'string', describe: 'known_hosts file (default ~/.ssh/known_hosts)' })
          .option('connect-timeout', numberOption('connect-timeout', 1, 20, 'Seconds for TCP connect + SSH handshake + auth, per host'))
          .option('image', { type: 'string', describe: 'Image name the task sees as c.image.name (default "adhoc")' })
          .option('tasks-dir', { type: 'string', default: 'tasks', describe: 'Directory of task files' })
          .option('json', { type: 'boolean', default: false, describe: 'Print the per-host results as JSON on stdout' }),
      (a) => {
        chosen = async (d) =>
          (await import('./commands/run.js')).runRun(
            {
              task: String(a.task),
              hosts: (a.hosts ?? []).map(String),
              identity: a.identity,
              passphraseEnv: a['passphrase-env'],
              user: a.user,
              parallel: a.parallel ?? Number.NaN,
              args: (a.arg ?? []).map(String),
              acceptNew: a['accept-new'],
              knownHosts: a['known-hosts'],
              connectTimeoutMs: a['connect-timeout'] * 1000,
              image: a.image,
              tasksDir: resolve(d.cwd, a['tasks-dir']),
              json: a.json,
            },
            d,
          );
      },
    )
    .command(
      'tasks',
      'List the tasks in tasks/ with their descriptions and args',
      (c) =>
        c
          .option('tasks-dir', { type: 'string', default: 'tasks', describe: 'Directory of task files' })
          .option('json', { type: 'boolean', default: false, describe: 'Print the list as JSON' }),
      (a) => {
        chosen = async (d) => (await import('./commands/tasks.js')).runTasks({ tasksDir: resolve(d.cwd, a['tasks-dir']), json: a.json }, d);
      },
    )
    .command(
      'emulator',
      'Serve a local OpenStack-compatible cloud (Keystone, Glance, Nova subset) on loopback',
      (c) =>
        c
          .option('port', numberOption('port', 0, 0, 'Port (0: any free port)'))
          .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to listen on' })
          .option('regions', { type: 'string', default: 'RegionOne,RegionTwo,RegionThree', describe: 'Comma-separated region names' })
          .option('clouds-yaml', { type: 'string', default: '.imagesync/emulator/clouds.yaml', describe: 'Where to write the clouds.yaml of cloud "emulator"' })
          .option('latency-ms', numberOption('latency-ms', 0, 0, 'Latency added to every request'))
          .option('error-rate', { type: 'number', default: 0, describe: 'Fraction of service requests answered 500/503' })
          .option('page-size', numberOption('page-size', 1, 25, "Glance's default page size"))
          .option('filler-images', numberOption('filler-images', 0, 0, 'Extra images per region')),
      (a) => {
        const regions = String(a.regions).split(',').map((r) => r.trim()).filter(Boolean);
        chosen = async (d) => {
          if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new UsageError(`--port ${a.port}: expected a port number 0..65535`);
          if (!regions.length) throw new UsageError('--regions: expected at least one region name');
          if (!(a['error-rate'] >= 0 && a['error-rate'] <= 1)) throw new UsageError(`--error-rate ${a['error-rate']}: expected a fraction between 0 and 1`);
          const { runEmulatorCommand } = await import('../emulator/command.js');
          return runEmulatorCommand(
            {
              port: a.port,
              host: a.host,
              regions,
              cloudsYamlFile: resolve(d.cwd, a['clouds-yaml']),
              latencyMs: a['latency-ms'],
              errorRate: a['error-rate'],
              pageSize: a['page-size'],
              fillerImages: a['filler-images'],
            },
            { stdout: d.stdout, stderr: d.stderr, signal: d.signal },
          );
        };
      },
    )
    .command(
      'merge-reports <reports..>',
      'Join the apply --json reports and lock fragments of a sharded CI run into one report and one lock',
      (c) =>
        c
          .positional('reports', { type: 'string', array: true, demandOption: true, describe: 'The apply --json report of every shard' })
          .option('lock-fragment', { type: 'string', array: true, default: [] as string[], describe: 'The lock files the shards wrote (apply --lock FILE)' })
          .option('lock', { type: 'string', describe: 'The lock to merge them into and write (default images.lock.json beside the manifest)' })
          .option('out', { type: 'string', describe: 'Write the merged report to this file (default: stdout); stdout then gets a summary' })
          .option('markdown', { type: 'boolean', default: false, describe: 'With --out: the summary as Markdown (for $GITHUB_STEP_SUMMARY)' }),
      (a) => {
        chosen = async (d) =>
          (await import('./commands/merge-reports.js')).runMergeReports(
            {
              reports: (a.reports ?? []).map(String),
              lockFragments: (a['lock-fragment'] ?? []).map(String),
              lock: typeof a.lock === 'string' ? a.lock : undefined,
              out: a.out,
              markdown: a.markdown,
              manifest: manifestPath(a.manifest),
            },
            d,
          );
      },
    )
    .command(
      'gc',
      'Delete the temporary servers, keypairs, snapshots and floating IPs that crashed or killed runs left behind',
      (c) =>
        c
          .option('older-than', { type: 'string', default: '6h', describe: 'A run with no journal here (another machine, CI) counts as dead after this long: 30m, 2h, 1d' })
          .option('dry-run', { type: 'boolean', default: false, describe: 'List what would be deleted; change nothing' })
          .option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON on stdout' })
          .option('target', { alias: 't', type: 'string', array: true, requiresArg: true, describe: 'Only this cloud/region (repeatable)' })
          .option('poll-interval-ms', { type: 'number', default: 1000, hidden: true }),
      (a) => {
        chosen = async (d) =>
          (await import('./commands/gc.js')).runGc(
            {
              manifest: manifestPath(a.manifest),
              olderThan: a['older-than'],
              dryRun: a['dry-run'],
              json: a.json,
              target: a.target?.map(String),
              debug: a.debug,
              pollIntervalMs: a['poll-interval-ms'],
            },
            d,
          );
      },
    )
    .command(
      'demo',
      'Start the local emulator cloud in-process and run plan against it with this manifest',
      (c) => c.option('json', { type: 'boolean', default: false }),
      (a) => {
        chosen = async (d) => {
          // The demo runs plan and apply as typed: it gets them here, since a command never imports another.
          const [commands, planCommand, applyCommand] = await Promise.all([import('./commands/demo.js'), import('./commands/plan.js'), import('./commands/apply.js')]);
          return commands.runDemo({ manifest: manifestPath(a.manifest), json: a.json, colour: a.color }, d, { plan: planCommand.runPlan, apply: applyCommand.runApply });
        };
      },
    )
    .demandCommand(1, NAME_A_COMMAND)
    .recommendCommands()
    .strict()
    .version(imagesyncVersion())
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, (deps.stdout as { columns?: number }).columns ?? 100))
    .exitProcess(false)
    .fail((msg, err) => {
      // Our own errors (from a coerce) pass through; yargs' own (YError) become usage errors, exit 3.
      if (err instanceof ImagesyncError) throw err;
      throw new UsageError(err?.message ?? msg ?? 'invalid command line');
    });
  let helpShown = false;
  await y.parseAsync(argv, {}, (err, _argv, output) => {
    if (output && !err) {
      deps.stdout.write(output + '\n');
      helpShown = true;
    }
  });
  if (chosen) return chosen;
  if (helpShown) return ExitCode.ok;
  throw new UsageError(NAME_A_COMMAND);
}

/** Run one command line; resolves to the exit code. Never throws. */
export async function main(argv: string[], deps?: CliDeps): Promise<number> {
  const controller = new AbortController();
  // Every in-flight request listens on the run's signal: dozens at once is normal, not a leak.
  setMaxListeners(0, controller.signal);
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) {
      process.stderr.write(`imagesync: ${sig} again: exiting now\n`);
      process.exit(130);
    }
    process.stderr.write(`imagesync: ${sig}: stopping (cleaning up; press Ctrl-C again to exit at once)\n`);
    controller.abort(new ImagesyncError(`interrupted by ${sig}`));
  };
  const d = deps ?? processDeps(controller.signal);
  if (!deps) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    const handler = await parse(argv, d);
    if (typeof handler === 'number') return handler;
    return await handler(d);
  } catch (err) {
    return reportError(err, d);
  } finally {
    if (!deps) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

export function reportError(err: unknown, d: CliDeps): number {
  const safe = (s: string) => d.redactor.text(s);
  if (err instanceof ImagesyncError) {
    // In GitHub Actions, bad input also becomes an annotation on the file and line it names.
    if (err instanceof InputError && detectCi(d.env).provider === 'github') {
      const a = annotationForInputError(err, { cwd: d.cwd, workspace: d.env.GITHUB_WORKSPACE });
      if (a) d.stderr.write(safe(formatAnnotations([a])));
    }
    d.stderr.write(safe(`imagesync: ${err.message}\n`));
    for (const line of err.details) d.stderr.write(safe(`  ${line}\n`));
    if (d.env.IMAGESYNC_DEBUG_STACK) d.stderr.write(safe(`${err.stack}\n`));
    return err.exitCode;
  }
  d.stderr.write(safe(`imagesync: unexpected error: ${errorMessage(err)}\n`));
  d.stderr.write(safe(`${(err as Error)?.stack ?? ''}\n`));
  return ExitCode.failure;
}
