// Two `apply` runs of one manifest at once against one emulator: one image per name per region, the other run stands aside.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { runCli } from '../helpers/cli.js';

const REGIONS = ['RegionOne', 'RegionTwo'];
const IMAGES = ['conc-web', 'conc-db'];

let emulator: Emulator;
const dirs: string[] = [];

beforeAll(async () => {
  emulator = await startEmulator({ regions: REGIONS });
}, 60_000);
afterAll(async () => {
  await emulator?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** One checkout (a CI job, a workstation): its own directory, journal and lock file. */
async function checkout(): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-conc-'));
  dirs.push(dir);
  await mkdir(join(dir, 'tasks'));
  await emulator.writeCloudsYaml(join(dir, 'clouds.yaml'));
  const file = join(dir, 'images.manifest.json');
  await writeFile(
    file,
    JSON.stringify({
      targets: [{ cloud: 'emulator', regions: REGIONS, build: { flavor: 'm1.small', network: 'private', ssh: { user: 'debian' }, timeouts: { bootSeconds: 60, sshSeconds: 60, snapshotSeconds: 60, stepSeconds: 60 } } }],
      images: IMAGES.map((name) => ({ name, source: { image: 'debian-12-genericcloud' }, build: { steps: [{ run: `echo ${name} | sudo tee /etc/conc-marker` }] } })),
    }),
  );
  return { dir, file };
}

describe('two applies at once', () => {
  // --keep-on-failure too: losing the name is no failure, so the loser keeps nothing it made.
  it.each([[[]], [['--keep-on-failure']]])('%j: build each image once per region; the other run reports "built by run X"; nothing temporary is left', async (extra: string[]) => {
    for (const region of REGIONS) for (const i of emulator.state.images(region).filter((x) => IMAGES.includes(x.name ?? ''))) emulator.state.removeImage(region, i.id);
    const [a, b] = await Promise.all([checkout(), checkout()]);
    const apply = (c: { dir: string; file: string }) =>
      runCli(['apply', '--yes', '--json', '-m', c.file, '--poll-interval-ms', '100', ...extra], { cwd: c.dir, env: { OS_CLIENT_CONFIG_FILE: join(c.dir, 'clouds.yaml') } });
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

    for (const region of REGIONS) {
      expect(emulator.compute.servers(region), `servers in ${region}`).toEqual([]);
      expect(emulator.compute.keypairs(region), `keypairs in ${region}`).toEqual([]);
      expect(emulator.state.images(region).filter((i) => i.name?.startsWith('imagesync-')), `temporary images and claims in ${region}`).toEqual([]);
    }
  }, 180_000);
});
