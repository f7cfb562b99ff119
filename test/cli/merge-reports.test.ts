// `imagesync merge-reports` over real `apply --json` reports (the emulator, one apply per target as shards) and lock fragments.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { useEmulator } from '../helpers/emulator.js';
import { manifestOf } from '../helpers/manifest.js';
import { useRepo } from '../helpers/repo.js';

const emulator = useEmulator({ regions: ['RegionOne', 'RegionTwo'] });
const repo = useRepo({ emulator, prefix: 'merge' });
beforeAll(() => {
  for (const region of emulator.regions) emulator.state.addImage(region, { name: 'mr-present', status: 'active' });
});

interface MergeFlags {
  reports: string[];
  lockFragments?: string[];
  lock?: string;
  out?: string;
  markdown?: boolean;
  manifest?: string;
}

/** `imagesync merge-reports REPORTS… [--lock-fragment F]… [--lock L] [--out O] [--markdown] [-m M]`, as typed. */
function mergeCli(o: MergeFlags) {
  return repo.run([
    'merge-reports',
    ...o.reports,
    ...(o.lockFragments ?? []).map((f) => `--lock-fragment=${f}`),
    ...(o.lock !== undefined ? ['--lock', o.lock] : []),
    ...(o.out !== undefined ? ['--out', o.out] : []),
    ...(o.markdown ? ['--markdown'] : []),
    ...(o.manifest !== undefined ? ['-m', o.manifest] : []),
  ]);
}

function writeManifest(images: Array<{ name: string; source: string }>): Promise<string> {
  return repo.manifest(manifestOf(images, { regions: ['RegionOne', 'RegionTwo'], build: { flavor: 'm1.small', network: 'private', ssh: { user: 'debian' } } }));
}

/** One real `apply --json` per target, as the shards of a CI matrix would run, each writing its own lock fragment. */
async function applyShards(manifest: string): Promise<{ files: string[]; codes: number[] }> {
  const files: string[] = [];
  const codes: number[] = [];
  for (const [i, region] of ['RegionOne', 'RegionTwo'].entries()) {
    const argv = ['apply', '--yes', '--json', '-q', '-m', manifest, '--target', `emulator/${region}`, '--lock', `lock-fragment-${i + 1}.json`];
    const r = await repo.run(argv);
    const file = repo.path(`report-${i + 1}.json`);
    await writeFile(file, r.stdout);
    files.push(`report-${i + 1}.json`);
    codes.push(r.code);
  }
  return { files, codes };
}

const lockWith = (entries: Record<string, Record<string, string>>) =>
  JSON.stringify({
    lockVersion: 1,
    images: Object.fromEntries(
      Object.entries(entries).map(([image, targets]) => [
        image,
        Object.fromEntries(Object.entries(targets).map(([t, id]) => [t, { id, status: 'active', recipe: 'sha256:abc', builtAt: '2026-11-29T21:00:00Z', commit: 'c0ffee', run: 'r' }])),
      ]),
    ),
  });

describe('imagesync merge-reports over real apply reports', () => {
  it('merges the reports of two shards into one, and exits 1 because a build failed in the matrix', async () => {
    const manifest = await writeManifest([
      { name: 'mr-present', source: 'debian-12-genericcloud' },
      // No such source image anywhere: the build fails in its first step, creating nothing, with no SSH.
      { name: 'mr-nosource', source: 'no-such-source-image' },
    ]);
    const { files, codes } = await applyShards(manifest);
    expect(codes).toEqual([1, 1]);

    const r = await mergeCli({ reports: files, out: 'merged.json' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const merged = JSON.parse(await readFile(repo.path('merged.json'), 'utf8'));
    const shardRuns = await Promise.all(files.map(async (f) => JSON.parse(await readFile(repo.path(f), 'utf8')).runId as string));
    expect(merged.runIds).toEqual([...shardRuns].sort());
    expect(merged.builds.map((b: { cloud: string; region: string; image: string; status: string }) => `${b.cloud}/${b.region} ${b.image} ${b.status}`)).toEqual([
      'emulator/RegionOne mr-nosource failed',
      'emulator/RegionTwo mr-nosource failed',
    ]);
    expect(merged.builds[0].error).toContain('no-such-source-image');
    expect(merged.after.entries).toHaveLength(4);
    expect(merged.after.summary).toMatchObject({ images: 2, targets: 2, entries: 4, inSync: false });
    expect(merged.after.summary.states).toMatchObject({ present: 2, missing: 2 });
    expect(merged.before).toMatchObject({ images: 2, targets: 2, entries: 4, changes: 2 });
    expect(merged.summary).toEqual({ reports: 2, builds: 2, built: 0, failed: 2, leftBehind: 0, notBuilt: 0, pruneFailed: 0, shareFailed: 0, missingShards: [] });
    // With --out, stdout is for people.
    expect(r.stdout).toContain('Merged 2 reports, 0 built, 2 failed');
    expect(r.stdout).toContain('FAILED  mr-nosource in emulator/RegionOne: ');

    const md = await mergeCli({ reports: files, out: 'merged.json', markdown: true });
    expect(md.stdout).toContain('### imagesync apply: FAILED');
    expect(md.stdout).toContain('| **FAILED** | mr-nosource | emulator/RegionTwo |');
  });

  it('writes the same images.lock.json from the shards\' fragments as one unsharded apply writes', async () => {
    const manifest = await writeManifest([
      { name: 'mr-present', source: 'debian-12-genericcloud' },
      { name: 'mr-nosource', source: 'no-such-source-image' },
    ]);
    // The committed lock still has an image the manifest dropped, in a target the run observes.
    const nulls = { size: null, checksum: null, os_hash_algo: null, os_hash_value: null, recipe: null, builtAt: null, commit: null, run: null };
    const committed = JSON.stringify({ lockVersion: 1, images: { 'mr-gone': { 'emulator/RegionOne': { id: 'gone-1', status: 'active', ...nulls } } } }, null, 2) + '\n';
    await writeFile(repo.path('images.lock.json'), committed);
    await writeFile(repo.path('single.lock.json'), committed);

    const single = await repo.run(['apply', '--yes', '--json', '-q', '-m', manifest, '--lock', 'single.lock.json']);
    expect(single.code).toBe(1);
    const { files } = await applyShards(manifest);

    const r = await mergeCli({ reports: files, lockFragments: ['lock-fragment-1.json', 'lock-fragment-2.json'], manifest, out: 'merged.json' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('images.lock.json: 2 entries added or changed, 1 removed');
    const merged = await readFile(repo.path('images.lock.json'), 'utf8');
    expect(merged).toBe(await readFile(repo.path('single.lock.json'), 'utf8'));
    expect(Object.keys(JSON.parse(merged).images)).toEqual(['mr-present']);
  });

  it('refuses a report made from another manifest, when the manifest is at hand', async () => {
    const manifest = await writeManifest([
      { name: 'mr-present', source: 'debian-12-genericcloud' },
      { name: 'mr-nosource', source: 'no-such-source-image' },
    ]);
    const { files } = await applyShards(manifest);
    await writeManifest([{ name: 'mr-present', source: 'debian-12-genericcloud' }]);
    const r = await mergeCli({ reports: files, manifest, out: 'merged.json' });
    expect(r.code).toBe(3);
    expect(r.stderr.split('\n')[0]).toBe('imagesync: merge-reports: 2 bad inputs; nothing written');
    // apply stamps the manifest's hash on its report: the mismatch is caught before any entry is compared.
    expect(r.stderr).toMatch(
      /\n {2}report-1\.json: made from another manifest than images\.manifest\.json \(manifestSha256 [0-9a-f]{12} ≠ [0-9a-f]{12}\): merge in a checkout of the commit the shards ran\n/,
    );
    await expect(stat(repo.path('merged.json'))).rejects.toThrow(/ENOENT/);
  });

  it('exits 0 when every shard is in sync, and prints the merged JSON on stdout without --out', async () => {
    const manifest = await writeManifest([{ name: 'mr-present', source: 'debian-12-genericcloud' }]);
    const { files, codes } = await applyShards(manifest);
    expect(codes).toEqual([0, 0]);
    const r = await mergeCli({ reports: files });
    expect(r.code).toBe(0);
    const merged = JSON.parse(r.stdout);
    expect(merged.after.summary).toMatchObject({ entries: 2, inSync: true });
    expect(r.stderr).toBe(`Merged 2 reports, 0 built, 0 failed (runs ${merged.runIds.join(', ')})\n`);
  });
});

describe('imagesync merge-reports: lock fragments', () => {
  async function reportFile(name: string, builds: Array<{ image: string; region: string; id: string }>): Promise<string> {
    const entries = builds.map((b) => ({ image: b.image, cloud: 'acme', region: b.region, state: 'present', images: [b.id], detail: '', found: [] }));
    const summary = { images: 1, targets: builds.length, entries: builds.length, states: { present: builds.length }, unreachableTargets: [], changes: 0, inSync: true };
    await writeFile(
      repo.path(name),
      JSON.stringify({
        runId: `run-${name}`,
        builds: builds.map((b) => ({ image: b.image, cloud: 'acme', region: b.region, action: 'build', status: 'built', imageId: b.id, durationMs: 1000, leftBehind: [], replaced: [] })),
        notBuilt: [],
        before: { ...summary, states: { missing: builds.length }, changes: builds.length, inSync: false },
        after: { entries, summary },
      }),
    );
    return name;
  }

  it('writes the merged lock (keys sorted) over the committed one, atomically, and only when it changed', async () => {
    await writeFile(repo.path('images.lock.json'), lockWith({ web: { 'acme/R1': 'old-1', 'zeta/Z': 'z-1' } }));
    const r1 = await reportFile('r1.json', [{ image: 'web', region: 'R1', id: 'new-1' }]);
    const r2 = await reportFile('r2.json', [{ image: 'web', region: 'R2', id: 'new-2' }]);
    await writeFile(repo.path('f1.json'), lockWith({ web: { 'acme/R1': 'new-1' } }));
    await writeFile(repo.path('f2.json'), lockWith({ web: { 'acme/R2': 'new-2' } }));

    const r = await mergeCli({ reports: [r2, r1], lockFragments: ['f1.json', 'f2.json'], out: 'merged.json' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('images.lock.json: 2 entries added or changed');
    const text = await readFile(repo.path('images.lock.json'), 'utf8');
    const lock = JSON.parse(text);
    expect(Object.keys(lock.images.web)).toEqual(['acme/R1', 'acme/R2', 'zeta/Z']);
    expect(lock.images.web['acme/R1'].id).toBe('new-1');
    expect(Object.keys(lock.images.web['acme/R1'])).toEqual(['builtAt', 'commit', 'id', 'recipe', 'run', 'status']);
    expect(Object.keys(lock)).toEqual(['images', 'lockVersion']);
    expect((await readdir(repo.dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // The same merge again: nothing to change, the file is not rewritten.
    const before = await stat(repo.path('images.lock.json'));
    await new Promise((ok) => setTimeout(ok, 20));
    const again = await mergeCli({ reports: [r1, r2], lockFragments: ['f1.json', 'f2.json'], out: 'merged.json' });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('images.lock.json: unchanged');
    expect((await stat(repo.path('images.lock.json'))).mtimeMs).toBe(before.mtimeMs);
  });

  it('creates the lock when there is none yet (the first run), at the path --lock names', async () => {
    const r1 = await reportFile('r1.json', [{ image: 'web', region: 'R1', id: 'new-1' }]);
    await writeFile(repo.path('f1.json'), lockWith({ web: { 'acme/R1': 'new-1' } }));
    const r = await mergeCli({ reports: [r1], lockFragments: ['f1.json'], lock: 'locks/../my.lock.json', out: 'm.json' });
    expect(r.code).toBe(0);
    expect(JSON.parse(await readFile(repo.path('my.lock.json'), 'utf8')).images.web['acme/R1'].id).toBe('new-1');
  });

  it('leaves the lock alone when no fragment is given (a CI glob that matched nothing), and says so', async () => {
    await writeFile(repo.path('images.lock.json'), lockWith({ web: { 'acme/R1': 'old' } }));
    const r1 = await reportFile('r1.json', []);
    const r = await mergeCli({ reports: [r1], lockFragments: [], lock: 'images.lock.json', out: 'm.json' });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('imagesync: no --lock-fragment given: images.lock.json left as it is\n');
    expect(JSON.parse(await readFile(repo.path('images.lock.json'), 'utf8')).images.web['acme/R1'].id).toBe('old');
  });

  it('refuses two fragments that disagree, naming both files, and writes nothing', async () => {
    await writeFile(repo.path('images.lock.json'), lockWith({ web: { 'acme/R1': 'old' } }));
    const r1 = await reportFile('r1.json', []);
    await writeFile(repo.path('f1.json'), lockWith({ web: { 'acme/R1': 'id-a' } }));
    await writeFile(repo.path('f2.json'), lockWith({ web: { 'acme/R1': 'id-b' } }));
    const r = await mergeCli({ reports: [r1], lockFragments: ['f1.json', 'f2.json'], out: 'm.json' });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      'imagesync: f1.json and f2.json: conflict for web in acme/R1: image id-a ≠ id-b; the fragments come from overlapping runs: keep the fragments of one run and merge again\n',
    );
    expect(JSON.parse(await readFile(repo.path('images.lock.json'), 'utf8')).images.web['acme/R1'].id).toBe('old');
    await expect(stat(repo.path('m.json'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses fragments that are not of the run the reports describe', async () => {
    const r1 = await reportFile('r1.json', [{ image: 'web', region: 'R1', id: 'built-now' }]);
    await writeFile(repo.path('f1.json'), lockWith({ web: { 'acme/R1': 'from-another-run' } }));
    const r = await mergeCli({ reports: [r1], lockFragments: ['f1.json'] });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe("imagesync: f1.json: web in acme/R1 is image from-another-run, but r1.json built built-now: a shard's lock fragment is missing, or the fragments and the reports are of different runs\n");
    expect(r.stdout).toBe('');
  });
});

describe('imagesync merge-reports: bad input is exit 3, names the file, and changes nothing', () => {
  it('a report that is not JSON', async () => {
    await writeFile(repo.path('report-1.json'), 'imagesync: something went wrong\n');
    const r = await mergeCli({ reports: ['report-1.json'], out: 'm.json' });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^imagesync: report-1\.json:1:1: .*: expected the output of `imagesync apply --json`\n$/);
    await expect(stat(repo.path('m.json'))).rejects.toThrow(/ENOENT/);
  });

  it('every bad input at once: a missing file, an empty file, a plan instead of a report, a bad fragment', async () => {
    await writeFile(repo.path('empty.json'), '');
    await writeFile(repo.path('plan.json'), JSON.stringify({ entries: [], summary: {} }));
    await writeFile(repo.path('frag.json'), JSON.stringify({ lockVersion: 3, images: {} }));
    await writeFile(repo.path('images.lock.json'), lockWith({}));
    const r = await mergeCli({ reports: ['missing.json', 'empty.json', 'plan.json'], lockFragments: ['frag.json'] });
    expect(r.code).toBe(3);
    expect(r.stderr.split('\n')).toEqual([
      'imagesync: merge-reports: 4 bad inputs; nothing written',
      '  missing.json: no such file (did the job that writes it fail, or its artifact not download?)',
      '  empty.json: empty file, expected the output of `imagesync apply --json` (did the job that writes it fail before writing?)',
      '  plan.json: the output of `imagesync plan --json`, not of `imagesync apply --json`',
      '  frag.json: lockVersion 3: this imagesync reads lockVersion 1; upgrade imagesync',
      '',
    ]);
    expect(r.stdout).toBe('');
  });

  it('a broken committed lock is named too', async () => {
    await writeFile(repo.path('r.json'), JSON.stringify({ runId: 'r', builds: [], notBuilt: [], before: { images: 0, targets: 0, entries: 0, states: {}, unreachableTargets: [], changes: 0, inSync: true }, after: { entries: [], summary: { images: 0, targets: 0, entries: 0, states: {}, unreachableTargets: [], changes: 0, inSync: true } } }));
    await writeFile(repo.path('f.json'), lockWith({}));
    await writeFile(repo.path('images.lock.json'), '{"lockVersion": 1, "images": {"web": {"acme/R1": {}}}}');
    const r = await mergeCli({ reports: ['r.json'], lockFragments: ['f.json'] });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^imagesync: images\.lock\.json: not an images\.lock\.json lock: images\.web\["acme\/R1"\]\.id: /);
  });

  it('usage: no report, or --markdown without --out', async () => {
    const none = await mergeCli({ reports: [] });
    expect(none.code).toBe(3);
    expect(none.stderr).toBe('imagesync: Not enough non-option arguments: got 0, need at least 1\n');
    const r = await mergeCli({ reports: ['x.json'], markdown: true });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('imagesync: --markdown prints the summary on stdout: give --out FILE for the merged report\n');
  });
});
