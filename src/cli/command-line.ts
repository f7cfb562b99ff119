// Each command's flags, and the run*(options, deps) call they map onto; command modules load only when their command runs.
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { resolve } from 'node:path';
import type { ComputeBackendChoice } from '../emulator/compute-backend.js';
import type { CliDeps } from './deps.js';
import { MAX_TIMER_MS } from '../duration.js';
import { CI_MODE, display, durationOption, json, lock, LOCK_TO_COMPARE, lockFlag, numberOption, QUIET, SELECTION, selection, TARGET, TASKS_DIR, withCiFlag, type globalOptions } from './options.js';

export type Handler = (deps: CliDeps) => Promise<number>;

/** What a command's definition needs from the parse in progress. */
export interface Parsing {
  /** The command the line names: run once parsing is done. */
  choose(handler: Handler): void;
  /** --manifest, absolute. */
  manifestPath(m: unknown): string;
}

type GlobalArgv = ReturnType<typeof globalOptions>;

const COMPUTE_BACKEND_OPTION = {
  choices: ['auto', 'namespace', 'container'],
  default: 'auto',
  describe: 'What runs the build servers: namespace (root on Linux), container (podman or docker), auto (namespace as root on Linux, else container)',
} as const;

const EMULATOR_EPILOGUE = [
  'Build servers (--compute-backend):',
  '  namespace  sshd in a mount namespace over an overlay of this machine\'s root',
  '             file system. Needs root on Linux. A boot takes ~0.1 s, but every',
  "             source image boots this machine's own distribution.",
  '  container  a podman or docker container per server, rootless, with a real',
  '             root file system per source image (Debian 12, Ubuntu 24.04,',
  '             Ubuntu 22.04 by os_distro/os_version); others (cirros) are not',
  '             seeded. Needs podman (Debian/Ubuntu: scripts/container-host.sh',
  '             install: podman uidmap slirp4netns catatonit runc mmdebstrap)',
  '             or Docker; on macOS Podman or Docker Desktop (untested there).',
  '             First run: each distribution is built once with mmdebstrap from',
  "             its archive (Debian 12 ~1.5-2.5 min, Ubuntu 24.04 ~3 min here),",
  "             or derived from the registry's image without mmdebstrap; cached",
  "             in ~/.cache/imagesync/rootfs and the engine's image store.",
  '             --prepare-only builds them ahead.',
  '  auto       namespace as root on Linux, else container, else one line',
  '             saying what to install.',
  'Addresses: every server has its own 127.0.x.y address, as Nova reports it.',
  "The container backend publishes the container's port 22 there at --ssh-port",
  '(default 2222: rootless engines cannot publish ports below 1024). Put that',
  'port in the manifest\'s emulator target: "build": {"ssh": {"port": 2222}}.',
  'imagesync demo does it by itself.',
  "First boot, as cloud-init does: the keypair's key is added to the keys the",
  "image has for its login user, an empty /etc/machine-id gets a new id, and",
  'SSH host keys are fresh per server (namespace: in its /run) or made where',
  'the image has none (container). So an image built with build.generalize:',
  'false hands its machine-id (container: its host keys too) to every server',
  'booted from it; by default apply generalizes, and none is handed on.',
].join('\n');

type CommandLine = (y: GlobalArgv, p: Parsing) => GlobalArgv;

const validate: CommandLine = (y, p) =>
  y.command(
    'validate',
    'Check the manifest, its tasks and clouds offline: every problem at once',
    (c) => c.options({ ci: CI_MODE }),
    (a) => p.choose(async (d) => (await import('./commands/validate.js')).runValidate({ manifest: p.manifestPath(a.manifest) }, d)),
  );

const init: CommandLine = (y, p) =>
  y.command(
    'init',
    'Start a repository: a manifest, an example task with typed args, files/, a tsconfig for tasks/, .gitignore entries and a CI workflow (never over an existing file)',
    (c) =>
      c.options({
        cloud: { type: 'string', requiresArg: true, describe: "Fill the targets with this cloud's regions (those with an image service), read from its catalog: one token request" },
        // Not the --ci of the other commands: here it names the CI system to write a workflow for.
        ci: { type: 'string', choices: ['github', 'gitlab', 'none'], describe: 'CI workflow to write (default: gitlab when .gitlab-ci.yml exists, else github)' },
        'dry-run': { type: 'boolean', default: false, describe: 'List what would be written; write nothing' },
      }),
    (a) =>
      p.choose(async (d) =>
        (await import('./commands/init.js')).runInit({ manifest: p.manifestPath(a.manifest), cloud: a.cloud, ci: a.ci as 'github' | 'gitlab' | 'none' | undefined, dryRun: a['dry-run'] }, d),
      ),
  );

/** What `plan`'s handler reads of the parsed command line (yargs', or the fast path's). */
export interface PlanArgs {
  manifest: string;
  json: boolean;
  'detailed-exitcode': boolean;
  target?: Array<string | number> | undefined;
  shard?: string | undefined;
  junit?: string | undefined;
  ci?: boolean | undefined;
  color?: boolean | undefined;
  debug: boolean;
  quiet: boolean;
  lock?: string | boolean | undefined;
}

/** `plan`'s flags and handler, apart from yargs: the fast path (fast-path.ts) parses its usual command lines without loading it. */
export const PLAN_COMMAND = {
  name: 'plan',
  describe: 'Show, for every wanted image and target, what exists there',
  options: {
    ci: CI_MODE,
    json: json('Print the plan as one JSON object on stdout'),
    'detailed-exitcode': { type: 'boolean', default: false, describe: 'Exit 2 when not in sync (0 in sync, 1 failure)' },
    ...SELECTION,
    quiet: QUIET,
    lock: lock(LOCK_TO_COMPARE),
  },
  run(a: PlanArgs, p: Parsing): void {
    p.choose(async (d) =>
      (await import('./commands/plan.js')).runPlan(
        { manifest: p.manifestPath(a.manifest), json: a.json, detailedExitcode: a['detailed-exitcode'], ...selection(a, d), ...display(a), lock: lockFlag(a.lock) },
        withCiFlag(d, a.ci),
      ),
    );
  },
} as const;

const plan: CommandLine = (y, p) =>
  y.command(
    PLAN_COMMAND.name,
    PLAN_COMMAND.describe,
    (c) => c.options(PLAN_COMMAND.options),
    (a) => PLAN_COMMAND.run(a, p),
  );

const verify: CommandLine = (y, p) =>
  y.command(
    'verify',
    'Check that every target holds the recipe the manifest wants and, for "copy" and "import", the same bytes (sha512)',
    (c) =>
      c.options({
        json: json('Print the verification as one JSON object on stdout'),
        target: TARGET,
        quiet: QUIET,
        ci: CI_MODE,
      }),
    (a) =>
      p.choose(async (d) =>
        (await import('./commands/verify.js')).runVerify(
          { manifest: p.manifestPath(a.manifest), json: a.json, target: a.target?.map(String), debug: a.debug, quiet: a.quiet },
          withCiFlag(d, a.ci),
        ),
      ),
  );

const apply: CommandLine = (y, p) =>
  y.command(
    'apply',
    'Build every missing, outdated or broken image, then plan again',
    (c) =>
      c.options({
        ci: CI_MODE,
        yes: { alias: 'y', type: 'boolean', default: false, describe: 'Do not ask for confirmation (required when not on a terminal)' },
        json: json('Print the report (builds, image ids, durations, the plan after) as JSON on stdout'),
        ...SELECTION,
        concurrency: numberOption('concurrency', 1, 4, 'Builds at once, in total'),
        'per-target': numberOption('per-target', 1, 2, 'Builds at once in one target (the manifest build.concurrency wins)'),
        'keep-on-failure': { type: 'boolean', default: false, describe: 'Keep the server, keypair and private key of a failed build for debugging' },
        timeout: durationOption('timeout', undefined, 'Give up after this long (90, 90s, 45m, 2h): stop every wait and request, clean up, exit 1 (default: no limit)', {
          minMs: 1000,
          maxMs: MAX_TIMER_MS,
        }),
        quiet: QUIET,
        'poll-interval-ms': numberOption('poll-interval-ms', 1, 100, 'Quick poll interval of every wait, in milliseconds (a whole number, not a duration; default: the wait schedule\'s, 100)', { hidden: true, default: undefined }),
        lock: lock('Lock file to write (default images.lock.json beside the manifest); --no-lock: none'),
        'dry-run': { type: 'boolean', default: false, describe: 'Change nothing: show what would be built, healed and (with --keep) deleted' },
        'heal-duplicates': {
          type: 'boolean',
          default: false,
          describe: "Of several images with one name, keep one (the newest active with the manifest's recipe) and rename and hide the others; never deletes",
        },
        keep: numberOption('keep', 0, 0, 'After publishing, delete superseded images of that name beyond the newest N (never one a server uses)', { default: undefined }),
        prune: {
          type: 'boolean',
          default: false,
          describe: 'Retire the images whose names left the manifest (plan: orphaned): rename and hide them; with --keep N, delete all but the newest N retired (never one a server uses)',
        },
      }),
    (a) =>
      p.choose(async (d) => {
        const { withDeadline } = await import('../openstack/wait.js');
        return (await import('./commands/apply.js')).runApply(
          {
            manifest: p.manifestPath(a.manifest),
            yes: a.yes,
            json: a.json,
            ...selection(a, d),
            concurrency: a.concurrency,
            perTarget: a['per-target'],
            keepOnFailure: a['keep-on-failure'],
            ...display(a),
            pollIntervalMs: a['poll-interval-ms'],
            lock: lockFlag(a.lock),
            healDuplicates: a['heal-duplicates'],
            dryRun: a['dry-run'],
            keep: a.keep,
            prune: a.prune,
          },
          { ...withCiFlag(d, a.ci), signal: withDeadline(d.signal, a.timeout) },
        );
      }),
  );

const show: CommandLine = (y, p) =>
  y.command(
    'show <name>',
    'Show one image in every target: id, status, size, the commit, recipe, run and CI run it came from, and whether it matches the lock and the manifest',
    (c) =>
      c.positional('name', { type: 'string', demandOption: true, describe: 'Image name from the manifest' }).options({
        ci: CI_MODE,
        json: json('Print the report as JSON on stdout'),
        target: TARGET,
        lock: lock(LOCK_TO_COMPARE),
        quiet: QUIET,
      }),
    (a) =>
      p.choose(async (d) =>
        (await import('./commands/show.js')).runShow(
          { manifest: p.manifestPath(a.manifest), name: String(a.name), json: a.json, target: a.target?.map(String), lock: lockFlag(a.lock), colour: a.color, debug: a.debug, quiet: a.quiet },
          d,
        ),
      ),
  );

const run: CommandLine = (y, p) =>
  y.command(
    'run <task>',
    'Run a task from tasks/ on hosts over SSH (like fab -H); per-host results',
    (c) =>
      c.positional('task', { type: 'string', demandOption: true, describe: 'Task name (imagesync tasks lists them)' }).options({
        ci: CI_MODE,
        hosts: { alias: 'H', type: 'string', array: true, nargs: 1, demandOption: true, describe: 'user@host[:port] or user@[ipv6]:port; repeatable or comma-separated' },
        identity: {
          alias: 'i',
          type: 'string',
          describe: 'OpenSSH private key file, mode 0600 (default: the keys of ssh-agent ($SSH_AUTH_SOCK), and ~/.ssh/id_ed25519, id_ecdsa or id_rsa)',
        },
        jump: {
          alias: 'J',
          type: 'string',
          requiresArg: true,
          describe: 'Reach every host through this jump host, as ssh -J: user@bastion[:port], or a chain a@b1,c@b2; its host key checked in known_hosts',
        },
        'prompt-for-sudo-password': {
          type: 'boolean',
          default: false,
          describe: 'Ask once for the sudo password (no echo; without a terminal, the first line of stdin) and answer sudo with it on every host; never printed',
        },
        'passphrase-env': { type: 'string', describe: 'Environment variable holding the passphrase of an encrypted key' },
        user: { alias: 'u', type: 'string', describe: 'User for hosts given without user@ (default $USER)' },
        parallel: numberOption('parallel', 1, 5, 'Hosts at once', { alias: 'p' }),
        arg: { alias: 'a', type: 'string', array: true, nargs: 1, default: [] as string[], describe: 'Task argument key=value (JSON value when it parses); repeatable' },
        'accept-new': { type: 'boolean', default: false, describe: 'Record the key of a host known_hosts lacks (a changed key is always refused)' },
        'known-hosts': { type: 'string', describe: 'known_hosts file (default ~/.ssh/known_hosts)' },
        'connect-timeout': durationOption('connect-timeout', '20s', 'TCP connect + SSH handshake + auth per host, its jump hosts included: 20, 20s, 1m', { minMs: 1000, maxMs: MAX_TIMER_MS }),
        image: { type: 'string', describe: 'Image name the task sees as c.image.name (default "adhoc")' },
        'tasks-dir': TASKS_DIR,
        json: json('Print the per-host results as JSON on stdout'),
      }),
    (a) =>
      p.choose(async (d) =>
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
            connectTimeoutMs: a['connect-timeout'],
            image: a.image,
            jump: a.jump,
            promptForSudoPassword: a['prompt-for-sudo-password'],
            tasksDir: resolve(d.cwd, a['tasks-dir']),
            json: a.json,
          },
          d,
        ),
      ),
  );

const tasks: CommandLine = (y, p) =>
  y.command(
    'tasks',
    'List the tasks in tasks/ with their descriptions and args',
    (c) => c.options({ 'tasks-dir': TASKS_DIR, json: json('Print the list as JSON'), ci: CI_MODE }),
    (a) => p.choose(async (d) => (await import('./commands/tasks.js')).runTasks({ tasksDir: resolve(d.cwd, a['tasks-dir']), json: a.json }, d)),
  );

const emulator: CommandLine = (y, p) =>
  y.command(
    'emulator',
    'Serve a local OpenStack-compatible cloud (Keystone, Glance, Nova subset) on loopback',
    (c) =>
      c.options({
        ci: CI_MODE,
        port: numberOption('port', 0, 0, 'Port (0: any free port)'),
        host: { type: 'string', default: '127.0.0.1', describe: 'Address to listen on' },
        regions: { type: 'string', default: 'RegionOne,RegionTwo,RegionThree', describe: 'Comma-separated region names' },
        'clouds-yaml': { type: 'string', default: '.imagesync/emulator/clouds.yaml', describe: 'Where to write the clouds.yaml of cloud "emulator"' },
        'latency-ms': numberOption('latency-ms', 0, 0, 'Latency added to every request'),
        'error-rate': { type: 'number', default: 0, describe: 'Fraction of service requests answered 500/503' },
        'page-size': numberOption('page-size', 1, 25, "Glance's default page size"),
        'filler-images': numberOption('filler-images', 0, 0, 'Extra images per region'),
        'compute-backend': COMPUTE_BACKEND_OPTION,
        'ssh-port': {
          ...numberOption('ssh-port', 1, 0, "Port of every build server's sshd at its own 127.0.x.y address (default: 22 namespace, 2222 container); the manifest's emulator target sets the same as build.ssh.port"),
          default: undefined,
        },
        'container-engine': { type: 'string', describe: 'podman, docker, or a path to either (default: podman, else docker)' },
        'prepare-only': {
          type: 'string',
          describe: 'Build the root file systems of these seeded images (comma-separated names; none given: all) for the container backend, then exit; the first run takes minutes',
        },
      })
      .epilogue(EMULATOR_EPILOGUE),
    (a) => {
      const regions = String(a.regions).split(',').map((r) => r.trim()).filter(Boolean);
      p.choose(async (d) => {
        if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new UsageError(`--port ${a.port}: expected a port number 0..65535`);
        if (!regions.length) throw new UsageError('--regions: expected at least one region name');
        if (!(a['error-rate'] >= 0 && a['error-rate'] <= 1)) throw new UsageError(`--error-rate ${a['error-rate']}: expected a fraction between 0 and 1`);
        if (a['ssh-port'] !== undefined && a['ssh-port'] > 65535) throw new UsageError(`--ssh-port ${a['ssh-port']}: expected a port number 1..65535`);
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
            computeBackend: a['compute-backend'] as ComputeBackendChoice,
            ...(a['ssh-port'] !== undefined ? { sshPort: a['ssh-port'] } : {}),
            ...(a['container-engine'] !== undefined ? { containerEngine: a['container-engine'] } : {}),
            ...(a['prepare-only'] !== undefined ? { prepareOnly: String(a['prepare-only']).split(',').map((n) => n.trim()).filter(Boolean) } : {}),
          },
          { stdout: d.stdout, stderr: d.stderr, signal: d.signal },
        );
      });
    },
  );

const mergeReports: CommandLine = (y, p) =>
  y.command(
    'merge-reports <reports..>',
    'Join the apply --json reports and lock fragments of a sharded CI run into one report and one lock',
    (c) =>
      c.positional('reports', { type: 'string', array: true, demandOption: true, describe: 'The apply --json report of every shard' }).options({
        ci: CI_MODE,
        'lock-fragment': { type: 'string', array: true, default: [] as string[], describe: 'The lock files the shards wrote (apply --lock FILE)' },
        lock: lock('The lock to merge them into and write (default images.lock.json beside the manifest)'),
        out: { type: 'string', describe: 'Write the merged report to this file (default: stdout); stdout then gets a summary' },
        markdown: { type: 'boolean', default: false, describe: 'With --out: the summary as Markdown (for $GITHUB_STEP_SUMMARY)' },
      }),
    (a) =>
      p.choose(async (d) =>
        (await import('./commands/merge-reports.js')).runMergeReports(
          {
            reports: (a.reports ?? []).map(String),
            lockFragments: (a['lock-fragment'] ?? []).map(String),
            lock: typeof a.lock === 'string' ? a.lock : undefined,
            out: a.out,
            markdown: a.markdown,
            manifest: p.manifestPath(a.manifest),
          },
          d,
        ),
      ),
  );

const gc: CommandLine = (y, p) =>
  y.command(
    'gc',
    'Delete the temporary servers, keypairs, snapshots and floating IPs that crashed or killed runs left behind',
    (c) =>
      c.options({
        ci: CI_MODE,
        'older-than': { type: 'string', default: '6h', describe: 'A run with no journal here (another machine, CI) counts as dead after this long: 90 (seconds), 30m, 2h, 1d' },
        'dry-run': { type: 'boolean', default: false, describe: 'List what would be deleted; change nothing' },
        json: json('Print the report as JSON on stdout'),
        target: TARGET,
        'poll-interval-ms': { type: 'number', default: 1000, hidden: true, describe: 'Poll interval of the deletions, in milliseconds (a whole number, not a duration)' },
      }),
    (a) =>
      p.choose(async (d) =>
        (await import('./commands/gc.js')).runGc(
          {
            manifest: p.manifestPath(a.manifest),
            olderThan: a['older-than'],
            dryRun: a['dry-run'],
            json: a.json,
            target: a.target?.map(String),
            debug: a.debug,
            pollIntervalMs: a['poll-interval-ms'],
          },
          d,
        ),
      ),
  );

const demo: CommandLine = (y, p) =>
  y.command(
    'demo',
    'Start the local emulator cloud in-process and run plan against it with this manifest',
    (c) => c.options({ json: { type: 'boolean', default: false }, 'compute-backend': COMPUTE_BACKEND_OPTION, ci: CI_MODE }).epilogue(EMULATOR_EPILOGUE),
    (a) =>
      p.choose(async (d) => {
        // The demo runs plan and apply as typed: it gets them here, since a command never imports another.
        const [commands, planCommand, applyCommand] = await Promise.all([import('./commands/demo.js'), import('./commands/plan.js'), import('./commands/apply.js')]);
        return commands.runDemo(
          { manifest: p.manifestPath(a.manifest), json: a.json, colour: a.color, computeBackend: a['compute-backend'] as ComputeBackendChoice },
          d,
          { plan: planCommand.runPlan, apply: applyCommand.runApply },
        );
      }),
  );

/** Every command, in the order `imagesync --help` lists them. */
export const COMMAND_LINES: CommandLine[] = [init, validate, plan, apply, verify, show, run, tasks, emulator, mergeReports, gc, demo];
