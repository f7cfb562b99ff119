// imagesync as a user gets it: `npm pack`, installed into a fresh git repository, `init`, a task with typed args, `tsc --strict`, validate, plan and apply against the emulator, then an orphan and an outdated image that says why — all as a non-root user.
import { execFile, type ExecFileException } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { assertBuilt, ROOT } from '../helpers/built.js';
import { rootlessUser } from '../helpers/container-host.js';
import { readTar } from '../helpers/tar.js';

/** Who plays the user: as root, the unprivileged user the container backend boots its servers as; else yourself. */
const user = rootlessUser();
let emulator: Emulator;
let work: string;
let repo: string;
let home: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A command in the user's repository, as the user, with a clean environment (no OS_* of ours). */
async function as(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const clean = { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: home, NO_COLOR: '1', OS_CLIENT_CONFIG_FILE: join(work, 'clouds.yaml'), npm_config_update_notifier: 'false', ...env };
  const [file, argv] = user ? ['runuser', ['-u', user, '--', 'env', '-i', ...Object.entries(clean).map(([k, v]) => `${k}=${v}`), cmd, ...args]] : [cmd, args];
  return new Promise((done) =>
    execFile(file, argv as string[], { cwd: repo, env: user ? { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } : clean, maxBuffer: 32 * 2 ** 20, timeout: 15 * 60_000 }, (err: ExecFileException | null, stdout, stderr) =>
      // A command that could not start (no such file) has a string code: say so in stderr.
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr: err && typeof err.code !== 'number' ? `${stderr}${err.message}` : stderr }),
    ),
  );
}

// `--` so npx passes every flag on (it would take `--version` or `--cloud` for itself).
const imagesync = (...args: string[]) => as('npx', ['--no', '--', 'imagesync', ...args]);
const manifestFile = () => join(repo, 'images.manifest.json');
const readManifest = async () => JSON.parse(await readFile(manifestFile(), 'utf8'));
/** Write a file of the repository as the user would own it. */
async function put(path: string, text: string): Promise<void> {
  const file = join(repo, path);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
  if (user) {
    const { uid, gid } = await stat(repo);
    await chown(file, uid, gid);
  }
}

const STAMP_TASK = `// A task of the user's own, its args typed by a schema.
import { defineTask, z } from 'imagesync/task';

export default defineTask({
  name: 'stamp',
  description: 'Write a label and a count to /opt/stamp',
  args: z.strictObject({ label: z.string().min(1), count: z.number().int().positive() }),
  async run(c, { label, count }) {
    const doubled: number = count * 2;
    await c.sudo(\`mkdir -p /opt/stamp && echo \${label}-\${doubled} > /opt/stamp/label\`);
  },
});
`;

beforeAll(async () => {
  await assertBuilt();
  emulator = await startEmulator({ regions: ['RegionOne', 'RegionTwo'], computeBackend: 'container', ...(user ? { containerUser: user } : {}) });
  // The first run on a machine builds Debian 12's root file system (minutes); CI builds it before the tests.
  await emulator.prepareImages(['debian-12-genericcloud']);
  work = await mkdtemp(join(tmpdir(), 'imagesync-package-'));
  await chmod(work, 0o755);
  repo = join(work, 'infra');
  await mkdir(repo);
  home = user ? (await promisify(execFile)('sh', ['-c', `getent passwd ${user} | cut -d: -f6`])).stdout.trim() : userInfo().homedir;
  await emulator.writeCloudsYaml(join(work, 'clouds.yaml'));
  await chmod(join(work, 'clouds.yaml'), 0o644);

  const run = promisify(execFile);
  // `npm pack` of what the repository has built (assertBuilt): the same tarball `npm publish` would send.
  const packed = JSON.parse((await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT })).stdout) as Array<{ filename: string }>;
  const tgz = join(work, packed[0]!.filename);
  await run('git', ['init', '-q'], { cwd: repo });
  // The user's own TypeScript beside imagesync, as init advises (the version this repository is checked with):
  // nothing in the user's repository comes from this one's node_modules.
  const typescript = `typescript@${(JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies.typescript}`;
  // Installed with this machine's npm cache, which `npm ci` filled: --prefer-offline takes every tarball from
  // it and asks the registry only for package metadata it lacks (ranges to resolve); then handed to the user.
  await run('npm', ['install', '--save-dev', '--prefer-offline', '--no-audit', '--no-fund', tgz, typescript], { cwd: repo, timeout: 10 * 60_000 });
  if (user) await run('chown', ['-R', `${user}:${user}`, work]);
  // Unpacked from the tarball, not linked to this repository.
  expect(await realpath(join(repo, 'node_modules/imagesync'))).toBe(join(repo, 'node_modules/imagesync'));
}, 30 * 60_000);

afterAll(async () => {
  await emulator?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

it('as a user: install the package, init, a typed task under tsc --strict, validate, plan, apply, an orphan and an outdated image that says why', async () => {
  // ---- init writes a starter whose $schema resolves into the installed package, with the cloud's regions
  {
    const r = await imagesync('init', '--cloud', 'emulator', '--ci', 'github');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Targets: cloud "emulator", regions RegionOne, RegionTwo (from its catalog).');
    const m = await readManifest();
    expect(m.$schema).toBe('./node_modules/imagesync/schema/images.manifest.schema.json');
    expect(JSON.parse(await readFile(join(repo, m.$schema), 'utf8')).title).toBe('imagesync manifest');
    expect(m.targets).toEqual([{ cloud: 'emulator', regions: ['RegionOne', 'RegionTwo'] }]);
    expect(await readFile(join(repo, '.github/workflows/imagesync.yml'), 'utf8')).toBe(await readFile(join(ROOT, 'examples/github-actions.yml'), 'utf8'));
    // npm install wrote package.json without "type": init says what that costs; this user follows the advice.
    expect(r.stdout).toContain('add "type": "module" to package.json');
    const pkg = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8'));
    await put('package.json', `${JSON.stringify({ ...pkg, type: 'module' }, null, 2)}\n`);
  }

  // ---- a task with typed args, and one re-exported from the package, type-check under tsc --strict
  {
    await put('tasks/stamp.ts', STAMP_TASK);
    await put('tasks/harden.ts', "export { default } from 'imagesync/tasks/harden';\n");
    const ok = await as('npx', ['--no', '--', 'tsc', '--noEmit', '--strict', '-p', '.']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    // The args' types are checked: a count used as text is an error.
    await put('tasks/wrong.ts', STAMP_TASK.replace("name: 'stamp'", "name: 'wrong'").replace('const doubled: number = count * 2;', 'const doubled: string = count;'));
    const bad = await as('npx', ['--no', '--', 'tsc', '--noEmit', '--strict', '-p', '.']);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toContain("tasks/wrong.ts(9,11): error TS2322: Type 'number' is not assignable to type 'string'.");
    await rm(join(repo, 'tasks/wrong.ts'));
  }

  // ---- validate checks the tasks and each step's args offline: a bad one by its JSON path, a task that throws at its line
  {
    const m = await readManifest();
    // The container backend publishes each server's sshd on its own port: the one change the emulator needs.
    m.targets[0].build = { ssh: { port: emulator.sshPort }, timeouts: { bootSeconds: 600, sshSeconds: 120, snapshotSeconds: 300, stepSeconds: 300 } };
    m.images.push({
      name: 'debian-12-tools',
      source: { image: 'debian-12-genericcloud' },
      build: { steps: [{ task: 'stamp', args: { label: 'tools', count: '2' } }, { task: 'harden' }] },
      regions: ['RegionOne'],
    });
    await put('images.manifest.json', `${JSON.stringify(m, null, 2)}\n`);
    const total = emulator.stats.total;
    const bad = await imagesync('validate');
    expect(bad.code).toBe(3);
    expect(bad.stderr).toBe('imagesync: images.manifest.json: images[1].build.steps[0].args.count: expected a number, got string\n');

    m.images[1].build.steps[0].args.count = 2;
    await put('images.manifest.json', `${JSON.stringify(m, null, 2)}\n`);
    await put('tasks/broken.ts', "const n: number = 3;\n\nthrow new Error(`not ready: ${n}`);\n");
    const broken = await imagesync('validate');
    expect(broken.code).toBe(3);
    expect(broken.stderr).toBe('imagesync: tasks/broken.ts:3:7: cannot be loaded: not ready: 3\n');
    await rm(join(repo, 'tasks/broken.ts'));

    const ok = await imagesync('validate');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^images\.manifest\.json: valid — 2 images, 2 targets, 3 tasks\n/);
    expect(emulator.stats.total, 'requests').toBe(total);
  }

  // ---- plan, then apply builds every image in every region with the tasks of the repository and of the package
  {
    const plan = await imagesync('plan', '--detailed-exitcode');
    expect(plan.code, plan.stderr).toBe(2);
    expect(plan.stdout).toContain('2 images × 2 targets: 3 missing. 3 builds pending: run `imagesync apply`.');

    const r = await imagesync('apply', '--yes', '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.builds.map((b: { image: string; region: string; status: string }) => `${b.image} ${b.region} ${b.status}`).sort()).toEqual([
      'debian-12-base RegionOne built',
      'debian-12-base RegionTwo built',
      'debian-12-tools RegionOne built',
    ]);
    const tools = emulator.state.images('RegionOne').find((i) => i.name === 'debian-12-tools')!;
    const files = new Map(readTar(emulator.state.imageData('RegionOne', tools.id)!).map((f) => [f.name, f.data.toString()]));
    expect(files.get('opt/stamp/label')).toBe('tools-4\n');
    expect(files.get('etc/ssh/sshd_config.d/50-imagesync-hardening.conf')).toContain('PasswordAuthentication no');
    const base = emulator.state.images('RegionTwo').find((i) => i.name === 'debian-12-base')!;
    const baseFiles = new Map(readTar(emulator.state.imageData('RegionTwo', base.id)!).map((f) => [f.name, f.data.toString()]));
    expect(baseFiles.get('etc/issue.net')).toBe('Authorized access only.\n');
    expect(baseFiles.get('etc/motd')).toBe(await readFile(join(repo, 'files/motd'), 'utf8'));
    // .gitignore keeps the run state (journals, build logs) out of git.
    const status = await as('git', ['status', '--porcelain', '--untracked-files=all']);
    expect(status.stdout).not.toContain('.imagesync/');
    expect(status.stdout).toContain('images.lock.json');
  }

  // ---- an image taken out of the manifest is orphaned; a changed file makes the images using it outdated, saying so
  {
    const m = await readManifest();
    m.images = m.images.filter((i: { name: string }) => i.name !== 'debian-12-tools');
    await put('images.manifest.json', `${JSON.stringify(m, null, 2)}\n`);
    await put('files/motd', 'A new message of the day.\n');
    const r = await imagesync('plan', '--json', '--detailed-exitcode');
    expect(r.code, r.stderr).toBe(2);
    const entries = JSON.parse(r.stdout).entries as Array<{ image: string; region: string; state: string; changes?: string[] }>;
    expect(entries.map((e) => `${e.image} ${e.region} ${e.state}`)).toEqual([
      'debian-12-base RegionOne outdated',
      'debian-12-base RegionTwo outdated',
      'debian-12-tools RegionOne orphaned',
    ]);
    expect(entries[0]!.changes).toEqual(['files/motd changed']);
    const text = await imagesync('plan');
    expect(text.stdout).toMatch(/^outdated {2}debian-12-base in emulator\/RegionOne: \S+ \(active, [^)]+\): files\/motd changed$/m);
    expect(text.stdout).toMatch(/^orphaned {2}debian-12-tools in emulator\/RegionOne: .*no longer in the manifest; `imagesync apply --prune` retires it$/m);
  }

  // ---- the programmatic entry works from the installed package
  {
    await put(
      'report.mjs',
      "import { plan } from 'imagesync';\nconst r = await plan({ lock: false });\nconsole.log(JSON.stringify(r.plan.summary.states));\n",
    );
    const r = await as('node', ['report.mjs']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ outdated: 2, orphaned: 1 });
  }
}, 30 * 60_000);
