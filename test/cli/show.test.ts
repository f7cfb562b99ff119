// `imagesync show` against the emulator: images built by a real apply, their provenance per region, lock and manifest matches.
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShowReport } from '../../src/report/show-report.js';
import { readLockFile } from '../../src/lock/file.js';
import { useEmulator } from '../helpers/emulator.js';
import { manifestOf } from '../helpers/manifest.js';
import { createRepo, type TestRepo } from '../helpers/repo.js';

const REGIONS = ['RegionOne', 'RegionTwo'];
// As GitHub Actions sets them (GITHUB_ACTIONS names the provider: report/ci.ts finds the run's URL).
const CI = { GITHUB_ACTIONS: 'true', GITHUB_SERVER_URL: 'https://github.example', GITHUB_REPOSITORY: 'acme/images', GITHUB_RUN_ID: '4242' };

const emulator = useEmulator({ regions: REGIONS });
// One repo for the file: its images are built once, by a real apply, in beforeAll.
let repo: TestRepo;
let manifestFile: string;
let commit: string;

interface ShowFlags {
  name: string;
  json?: boolean;
  target?: string[];
  /** A lock file, or false for --no-lock. */
  lock?: string | false;
}

/** `imagesync show NAME -q [--json] [--target T]… [--lock L | --no-lock]`, as typed. */
function show(o: ShowFlags) {
  return repo.run([
    'show',
    o.name,
    '-q',
    '-m',
    manifestFile,
    ...(o.json ? ['--json'] : []),
    ...(o.target ?? []).flatMap((t) => ['--target', t]),
    ...(o.lock === false ? ['--no-lock'] : o.lock !== undefined ? ['--lock', o.lock] : []),
  ]);
}

async function showJson(name: string, extra: Omit<ShowFlags, 'name' | 'json'> = {}): Promise<ShowReport> {
  const r = await show({ name, json: true, ...extra });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ShowReport;
}

/** Lock what the clouds hold now: an apply with nothing to build writes the lock. */
async function lockNow(): Promise<void> {
  const r = await repo.run(['apply', '--yes', '--json', '-q', '-m', manifestFile]);
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout).builds).toEqual([]);
}

beforeAll(async () => {
  repo = await createRepo({ emulator, prefix: 'show' });
  await repo.task('marker', '    await c.sudo(`mkdir -p /opt/imagesync && echo ${c.image.name} > /opt/imagesync/marker`);', 'Write a marker file');
  manifestFile = await repo.manifest(
    manifestOf(
      [
        { name: 'show-web', steps: [{ task: 'marker' }] },
        { name: 'show-base', regions: ['RegionOne'] },
      ],
      { regions: REGIONS },
    ),
  );
  // A real commit, so the provenance names one.
  const git = (...args: string[]) => promisify(execFile)('git', ['-C', repo.dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args]);
  await git('init', '-q');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'manifest');
  commit = (await git('rev-parse', 'HEAD')).stdout.trim();

  const r = await repo.run(['apply', '--yes', '--json', '-m', manifestFile, '--poll-interval-ms', '100'], { env: CI });
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout).builds).toHaveLength(3);
});

afterAll(async () => {
  await repo?.remove();
});

describe('imagesync show', () => {
  it('prints, per region, the image id with the commit, recipe, run and CI run it came from', async () => {
    // Whether or not apply wrote a lock: this case is about an image the lock does not record.
    await rm(repo.path('images.lock.json'), { force: true });
    const r = await show({ name: 'show-web' });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('show-web (lock: images.lock.json)');
    expect(lines[1]).toMatch(/^TARGET +STATE +ID +STATUS +SIZE +BUILT +COMMIT +RUN +RECIPE +MANIFEST +LOCK$/);
    for (const region of REGIONS) {
      const [img] = emulator.state.images(region).filter((i) => i.name === 'show-web');
      const row = lines.find((l) => l.startsWith(`emulator/${region} `));
      expect(row, r.stdout).toBeDefined();
      const cells = row!.split(/ {2,}/);
      expect(cells.slice(0, 4)).toEqual([`emulator/${region}`, 'present', img!.id, 'active']);
      expect(cells[6]).toBe(commit.slice(0, 12));
      expect(cells[7]).toBe(img!.imagesync_run);
      expect(cells[8]).toBe(String(img!.imagesync_recipe).slice(0, 12));
      expect(cells.slice(9)).toEqual(['match', 'unlocked']);
      expect(r.stdout).toContain(`emulator/${region} ${img!.id}: CI run https://github.example/acme/images/actions/runs/4242`);
    }
  });

  it('--json gives the full provenance; after locking, every image matches the lock', async () => {
    await lockNow();
    const report = await showJson('show-web');
    expect(report.lockFile).toBe('images.lock.json');
    expect(report.targets.map((t) => `${t.cloud}/${t.region}`)).toEqual(REGIONS.map((r) => `emulator/${r}`));
    for (const t of report.targets) {
      const [img] = emulator.state.images(t.region).filter((i) => i.name === 'show-web');
      expect(t.images).toHaveLength(1);
      expect(t.images[0]).toMatchObject({
        id: img!.id,
        status: 'active',
        size: img!.size,
        commit,
        run: img!.imagesync_run,
        recipe: img!.imagesync_recipe,
        builtAt: img!.imagesync_built_at,
        ciUrl: 'https://github.example/acme/images/actions/runs/4242',
        sourceName: 'debian-12-genericcloud',
        manifest: 'match',
        lock: 'match',
      });
    }
    // The image narrowed to RegionOne is shown only there.
    expect((await showJson('show-base')).targets.map((t) => t.region)).toEqual(['RegionOne']);
    // Locking again without changes leaves the file as it was.
    const before = await readLockFile(repo.path('images.lock.json'));
    await lockNow();
    expect(await readLockFile(repo.path('images.lock.json'))).toEqual(before);
  });

  it('says where the clouds no longer match the lock: a hand-made replacement, and drift in the plan', async () => {
    await lockNow();
    const [built] = emulator.state.images('RegionTwo').filter((i) => i.name === 'show-web');
    emulator.state.updateImage('RegionTwo', built!.id, { name: 'show-web-old' });
    const intruder = emulator.state.addImage('RegionTwo', { name: 'show-web', status: 'active' });
    try {
      const report = await showJson('show-web', { target: ['emulator/RegionTwo'] });
      expect(report.targets).toHaveLength(1);
      expect(report.targets[0]!.images[0]).toMatchObject({ id: intruder.id, lock: 'differs', lockDetail: `the lock records ${built!.id}`, manifest: 'unknown', commit: null });
      expect(report.targets[0]!.locked?.id).toBe(built!.id);

      const text = await show({ name: 'show-web', target: ['emulator/RegionTwo'] });
      expect(text.stdout).toContain(`emulator/RegionTwo ${intruder.id}: not as locked: the lock records ${built!.id}`);
      expect(text.stdout).toContain(`emulator/RegionTwo: the lock records ${built!.id} (commit ${commit}, run ${built!.imagesync_run}), which no longer carries the name`);

      // The same situation as plan's drift check sees it, from a real observation; without a lock there is no drift.
      const plan = await repo.run(['plan', '--json', '-q', '-m', manifestFile]);
      const drift = JSON.parse(plan.stdout).drift as Array<{ kind: string; image: string; region: string; lockedId: string }>;
      expect(drift.map((x) => [x.kind, x.image, x.region, x.lockedId])).toEqual([['replaced', 'show-web', 'RegionTwo', built!.id]]);
      const unlocked = await repo.run(['plan', '--json', '-q', '--no-lock', '-m', manifestFile]);
      expect(JSON.parse(unlocked.stdout).drift).toEqual([]);
    } finally {
      emulator.state.removeImage('RegionTwo', intruder.id);
      emulator.state.updateImage('RegionTwo', built!.id, { name: 'show-web' });
    }
  });

  it('an unknown image name is a usage error (exit 3) listing the manifest\'s names, with nothing contacted', async () => {
    const before = emulator.stats.total;
    const r = await show({ name: 'show-wbe' });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`imagesync: no image "show-wbe" in images.manifest.json; did you mean "show-web"? (images: show-web, show-base)\n`);
    expect(r.stdout).toBe('');
    const far = await show({ name: 'zzz' });
    expect(far.stderr).toBe('imagesync: no image "zzz" in images.manifest.json (images: show-web, show-base)\n');
    const notThere = await show({ name: 'show-base', target: ['emulator/RegionTwo'] });
    expect(notThere.code).toBe(3);
    expect(notThere.stderr).toBe('imagesync: --target "emulator/RegionTwo": "show-base" is not wanted there (its targets: emulator/RegionOne)\n');
    const unknown = await show({ name: 'show-web', target: ['emulator/Nowhere'] });
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/^imagesync: --target "emulator\/Nowhere": not a target of the manifest/);
    expect(emulator.stats.total).toBe(before);
  });

  it('a broken lock file is invalid input (exit 3) before anything is contacted; --no-lock ignores it', async () => {
    const lockFile = repo.path('broken.lock.json');
    await writeFile(lockFile, '{"lockVersion": 1, "images": {"show-web": []}}\n');
    const before = emulator.stats.total;
    const r = await show({ name: 'show-web', lock: lockFile });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('imagesync: broken.lock.json: images["show-web"]: expected an object of "cloud/region" keys, got array\n');
    expect(emulator.stats.total).toBe(before);
    const none = await showJson('show-web', { lock: false });
    expect(none.lockFile).toBeNull();
    expect(none.targets.flatMap((t) => t.images.map((i) => i.lock))).toEqual(['no-lock', 'no-lock']);
  });
});
