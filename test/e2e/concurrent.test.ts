// Two `apply` runs of one manifest at once against one emulator: one image per name per region, the other run stands aside.
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { useEmulator } from '../helpers/emulator.js';
import { assertNothingLeft } from '../helpers/leftovers.js';
import { manifestOf } from '../helpers/manifest.js';
import { createRepo, type TestRepo } from '../helpers/repo.js';

const REGIONS = ['RegionOne', 'RegionTwo'];
const IMAGES = ['conc-web', 'conc-db'];

const emulator = useEmulator({ regions: REGIONS });
afterEach(() => emulator.sweep());

/** One checkout (a CI job, a workstation): its own directory, journal and lock file. */
async function checkout(): Promise<{ repo: TestRepo; file: string }> {
  const repo = await createRepo({ emulator, prefix: 'conc' });
  onTestFinished(() => repo.remove());
  const file = await repo.manifest(manifestOf(IMAGES.map((name) => ({ name, steps: [{ run: `echo ${name} | sudo tee /etc/conc-marker` }] })), { regions: REGIONS }));
  return { repo, file };
}

describe('two applies at once', () => {
  // --keep-on-failure too: losing the name is no failure, so the loser keeps nothing it made.
  it.each([[[]], [['--keep-on-failure']]])('%j: build each image once per region; the other run reports "built by run X"; nothing temporary is left', async (extra: string[]) => {
    for (const region of REGIONS) for (const i of emulator.state.images(region).filter((x) => IMAGES.includes(x.name ?? ''))) emulator.state.removeImage(region, i.id);
    const [a, b] = await Promise.all([checkout(), checkout()]);
    const apply = (c: { repo: TestRepo; file: string }) => c.repo.run(['apply', '--yes', '--json', '-m', c.file, '--poll-interval-ms', '100', ...extra]);
    const [ra, rb] = await Promise.all([apply(a), apply(b)]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const reports = [JSON.parse(ra.stdout), JSON.parse(rb.stdout)];
    expect(reports[0].runId).not.toBe(reports[1].runId);

    for (const region of REGIONS) {
      for (const name of IMAGES) {
        const images = emulator.state.images(region).filter((i) => i.name === name);
        expect(images, `${name} in ${region}`).toHaveLength(1);
        const builds = reports.map((r) => r.builds.find((x: { image: string; region: string }) => x.image === name && x.region === region));
        const built = builds.filter((x) => x?.status === 'built');
        const skipped = builds.filter((x) => x?.status === 'skipped');
        expect(built, `${name} in ${region}: one run built it`).toHaveLength(1);
        expect(skipped, `${name} in ${region}: the other stood aside`).toHaveLength(1);
        const winner = reports.find((r) => r.builds.includes(built[0]))!;
        expect(built[0].imageId).toBe(images[0]!.id);
        expect(images[0]!.imagesync_run).toBe(winner.runId);
        expect(skipped[0].builtBy).toBe(winner.runId);
        expect(skipped[0].error).toBeUndefined();
      }
    }
    // The loser stopped where the claims are read (its keypair and server were made meanwhile, and its
    // cleanups deleted them: the checks below see none left), and reported no failure.
    for (const r of reports) for (const x of r.builds) if (x.status === 'skipped') expect(x).toMatchObject({ failedStep: 'claim the name', leftBehind: [] });

    // No server, keypair or floating IP; no temporary image and no claim (both named imagesync-…).
    assertNothingLeft(emulator, REGIONS);
  });

  it('copy the same image into a region at once: one run publishes it, the other stands aside and deletes what it made (its copy, its claim)', async () => {
    const name = 'conc-copied';
    for (const region of REGIONS) for (const i of emulator.state.images(region).filter((x) => x.name === name)) emulator.state.removeImage(region, i.id);
    const spec = { name, strategy: 'copy' as const, steps: [{ run: 'echo once | sudo tee /etc/conc-marker' }] };
    // The origin first: RegionOne holds it, so both runs only copy it into RegionTwo.
    const first = await checkout();
    const originOnly = await first.repo.manifest(manifestOf([{ ...spec, regions: ['RegionOne'] }], { regions: REGIONS }), 'origin.json');
    const built = await first.repo.run(['apply', '--yes', '--json', '-m', originOnly, '--poll-interval-ms', '100']);
    expect(built.code, built.stderr).toBe(0);
    const origin = emulator.state.images('RegionOne').find((i) => i.name === name)!;

    const [a, b] = await Promise.all([checkout(), checkout()]);
    const everywhere = async (c: { repo: TestRepo }) => c.repo.manifest(manifestOf([spec], { regions: REGIONS }), 'copy.json');
    const files = await Promise.all([everywhere(a), everywhere(b)]);
    const [ra, rb] = await Promise.all([a, b].map((c, i) => c.repo.run(['apply', '--yes', '--json', '-m', files[i]!, '--poll-interval-ms', '100'])));
    expect(ra!.code, ra!.stderr).toBe(0);
    expect(rb!.code, rb!.stderr).toBe(0);
    const reports = [JSON.parse(ra!.stdout), JSON.parse(rb!.stdout)];
    const entries = reports.map((r) => r.builds.find((x: { image: string; region: string }) => x.image === name && x.region === 'RegionTwo'));
    expect(entries.map((x) => x?.action)).toEqual(['copy', 'copy']);
    const copied = entries.filter((x) => x?.status === 'built');
    const skipped = entries.filter((x) => x?.status === 'skipped');
    expect(copied, 'one run copied it').toHaveLength(1);
    expect(skipped, 'the other stood aside').toHaveLength(1);
    const winner = reports.find((r) => r.builds.includes(copied[0]))!;
    expect(skipped[0]).toMatchObject({ builtBy: winner.runId, failedStep: 'claim the name', leftBehind: [] });
    expect(skipped[0].error).toBeUndefined();
    const images = emulator.state.images('RegionTwo').filter((i) => i.name === name);
    expect(images).toHaveLength(1);
    expect(images[0]!.id).toBe(copied[0].imageId);
    expect(images[0]!.os_hash_value).toBe(origin.os_hash_value);
    expect(emulator.state.images('RegionOne').filter((i) => i.name === name).map((i) => i.id)).toEqual([origin.id]);
    // The loser's copy (imagesync-copy-…, hidden) and both claims are gone.
    assertNothingLeft(emulator, REGIONS);
  });
});
