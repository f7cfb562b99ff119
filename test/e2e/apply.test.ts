// `imagesync apply` end to end against the emulator: real HTTP, real sshd build servers in overlays, real snapshots.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useEmulator } from '../helpers/emulator.js';
import { assertNothingLeft as assertLeftovers, imagesNamed as namedIn } from '../helpers/leftovers.js';
import { manifestOf, type ImageSpec } from '../helpers/manifest.js';
import { useRepo } from '../helpers/repo.js';
import { readTar } from '../helpers/tar.js';
import { until } from '../helpers/wait.js';

const REGIONS = ['RegionOne', 'RegionTwo'];

const emulator = useEmulator({ regions: REGIONS });
const repo = useRepo({ emulator, prefix: 'e2e' });

beforeEach(async () => {
  await repo.write('files/motd', 'built by imagesync\n');
  await repo.task(
    'marker',
    "    await c.sudo(`mkdir -p /opt/imagesync && printf '%s %s\\\\n' ${JSON.stringify(c.image.name)} ${JSON.stringify(String(args.text ?? ''))} > /opt/imagesync/marker`);\n    c.log('marker written');",
    'Write a marker file with the image name and an argument',
  );
});
afterEach(() => emulator.sweep());

const STEPS = [
  { run: 'echo hello > /tmp/ignored && id -un', sudo: false },
  { put: 'files/motd', to: '/etc/motd', sudo: true },
  { task: 'marker', args: { text: 'v1' } },
];

async function writeManifest(images: Array<Omit<ImageSpec, 'name'> & { name: string }>): Promise<string> {
  return repo.manifest(manifestOf(images.map((i) => ({ steps: STEPS, properties: { os_distro: 'debian' }, ...i })), { regions: REGIONS }));
}

function apply(file: string, extra: string[] = []) {
  return repo.run(['apply', '--yes', '--json', '-m', file, '--poll-interval-ms', '100', ...extra]);
}

/** Nothing temporary anywhere: no server, no keypair, no imagesync-* image. */
const assertNothingLeft = (): void => assertLeftovers(emulator, REGIONS);
const imagesNamed = (region: string, name: string) => namedIn(emulator, region, name);

describe('apply against the emulator', () => {
  it('builds what is missing in every region, with the steps\' changes in the snapshot; a second apply builds nothing', async () => {
    const file = await writeManifest([{ name: 'e2e-web' }, { name: 'e2e-base', regions: ['RegionOne'], steps: [{ run: 'echo base | sudo tee /etc/base-marker' }] }]);
    const r = await apply(file);
    expect(r.stderr).not.toContain('LEFT BEHIND');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.builds).toHaveLength(3);
    for (const b of report.builds) expect(b).toMatchObject({ status: 'built', imageId: expect.any(String) });
    expect(report.after.summary.inSync).toBe(true);
    assertNothingLeft();

    for (const region of REGIONS) {
      const [img] = imagesNamed(region, 'e2e-web');
      expect(img).toBeDefined();
      expect(img!.status).toBe('active');
      expect(img).toMatchObject({ os_distro: 'debian', imagesync_run: report.runId, imagesync_source_name: 'debian-12-genericcloud', imagesync_managed: 'true', imagesync_name: 'e2e-web' });
      expect(String(img!.imagesync_recipe)).toMatch(/^[0-9a-f]{64}$/);
      const files = readTar(emulator.state.imageData(region, img!.id)!);
      const byName = new Map(files.map((f) => [f.name, f]));
      expect(byName.get('etc/motd')?.data.toString()).toBe('built by imagesync\n');
      expect(byName.get('opt/imagesync/marker')?.data.toString()).toBe('e2e-web v1\n');
      expect(byName.has('tmp/ignored')).toBe(false);
    }
    const [base] = imagesNamed('RegionOne', 'e2e-base');
    expect(readTar(emulator.state.imageData('RegionOne', base!.id)!).find((f) => f.name === 'etc/base-marker')?.data.toString()).toBe('base\n');
    expect(imagesNamed('RegionTwo', 'e2e-base')).toEqual([]);

    const lockFile = repo.path('images.lock.json');
    const lock = JSON.parse(await readFile(lockFile, 'utf8'));
    expect(Object.keys(lock.images).sort()).toEqual(['e2e-base', 'e2e-web']);
    expect(lock.images['e2e-web']['emulator/RegionTwo']).toMatchObject({ id: imagesNamed('RegionTwo', 'e2e-web')[0]!.id, run: report.runId });
    expect(report.lock).toMatchObject({ changed: true });

    const again = await apply(file);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).builds).toEqual([]);
    expect(JSON.parse(again.stdout).lock).toMatchObject({ changed: false });
  });

  it('rebuilds an outdated image and retires the old one: renamed, hidden, pointing at its replacement', async () => {
    const file = await writeManifest([{ name: 'e2e-rot', regions: ['RegionOne'] }]);
    expect((await apply(file)).code).toBe(0);
    const [old] = imagesNamed('RegionOne', 'e2e-rot');
    await writeManifest([{ name: 'e2e-rot', regions: ['RegionOne'], steps: [{ task: 'marker', args: { text: 'v2' } }] }]);
    const plan = await repo.run(['plan', '--json', '-m', file]);
    expect(JSON.parse(plan.stdout).entries[0].state).toBe('outdated');
    const r = await apply(file);
    expect(r.code, r.stderr).toBe(0);
    const [now] = imagesNamed('RegionOne', 'e2e-rot');
    expect(now!.id).not.toBe(old!.id);
    const retired = emulator.state.images('RegionOne').find((i) => i.id === old!.id)!;
    expect(retired.name).toMatch(/^e2e-rot \(superseded \d{4}-\d{2}-\d{2}\)$/);
    expect(retired.os_hidden).toBe(true);
    expect(retired.imagesync_superseded_by).toBe(now!.id);
    // Retired, it is no longer a published image: never taken for an orphan.
    expect(retired.imagesync_managed).toBe('false');
    expect(JSON.parse(r.stdout).builds[0]).toMatchObject({ action: 'rebuild', replaced: [{ id: old!.id }] });
    assertNothingLeft();
  });

  it('says why an image is outdated, in the manifest\'s words: in the plan matrix, --json and show', async () => {
    const file = await writeManifest([{ name: 'e2e-why', regions: ['RegionOne'] }]);
    expect((await apply(file)).code).toBe(0);
    const [built] = imagesNamed('RegionOne', 'e2e-why');
    await repo.write('files/motd', 'built by imagesync, second edition\n');
    await writeManifest([
      {
        name: 'e2e-why',
        regions: ['RegionOne'],
        steps: [{ run: 'echo hello > /tmp/ignored && id -un', sudo: false }, { put: 'files/motd', to: '/etc/motd', sudo: true }, { task: 'marker', args: { text: 'v2' } }],
      },
    ]);
    const changes = ['files/motd changed', 'step 3 (task marker) args changed'];
    const json = await repo.run(['plan', '--json', '-m', file]);
    expect(JSON.parse(json.stdout).entries[0]).toMatchObject({ state: 'outdated', changes });
    const text = await repo.run(['plan', '-m', file]);
    expect(text.stdout).toMatch(new RegExp(`^outdated  e2e-why in emulator/RegionOne: ${built!.id} \\(active, [^)]*\\): files/motd changed; step 3 \\(task marker\\) args changed$`, 'm'));
    const show = await repo.run(['show', 'e2e-why', '--json', '-m', file]);
    expect(JSON.parse(show.stdout).targets[0].images[0]).toMatchObject({ manifest: 'differs', changes });
  });

  it('a failing step leaves no server, keypair or image, and names the step, command and exit code', async () => {
    const file = await writeManifest([{ name: 'e2e-fail', regions: ['RegionOne'], steps: [{ run: 'echo about to fail >&2; exit 7' }] }]);
    const r = await apply(file);
    expect(r.code).toBe(1);
    const b = JSON.parse(r.stdout).builds[0];
    expect(b.status).toBe('failed');
    expect(b.failedStep).toBe('step 1/1 run: echo about to fail >&2; exit 7');
    expect(b.error).toMatch(/exited 7/);
    expect(b.error).toContain('about to fail');
    expect(b.leftBehind).toEqual([]);
    expect(imagesNamed('RegionOne', 'e2e-fail')).toEqual([]);
    assertNothingLeft();
    const log = await readFile(b.log, 'utf8');
    expect(log).toContain('exit 7');
  });

  it('a server in ERROR fails with Nova\'s fault message and leaves nothing', async () => {
    emulator.setFaults({ nextServerError: 'No valid host was found. There are not enough hosts available.' });
    const file = await writeManifest([{ name: 'e2e-error', regions: ['RegionOne'] }]);
    const r = await apply(file);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).builds[0].error).toMatch(/went to ERROR: No valid host was found/);
    assertNothingLeft();
  });

  it('a snapshot going to killed fails at once and leaves no temporary image', async () => {
    emulator.setFaults({ nextSnapshotKilled: true });
    const file = await writeManifest([{ name: 'e2e-killed', regions: ['RegionOne'] }]);
    const r = await apply(file);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).builds[0].error).toMatch(/went to killed/);
    expect(imagesNamed('RegionOne', 'e2e-killed')).toEqual([]);
    assertNothingLeft();
  });

  it('refuses a host key that differs from the console\'s fingerprints, and leaves nothing', async () => {
    emulator.setFaults({ nextForgedHostKeys: true });
    const file = await writeManifest([{ name: 'e2e-mitm', regions: ['RegionOne'] }]);
    const r = await apply(file);
    expect(r.code).toBe(1);
    const b = JSON.parse(r.stdout).builds[0];
    expect(b.failedStep).toBe('wait for SSH');
    expect(b.error).toMatch(/host key/i);
    expect(imagesNamed('RegionOne', 'e2e-mitm')).toEqual([]);
    assertNothingLeft();
  });

  it('asks on a terminal, and builds nothing when the answer is no', async () => {
    const file = await writeManifest([{ name: 'e2e-ask', regions: ['RegionOne'] }]);
    const no = await repo.run(['apply', '-m', file], { tty: { answer: 'n' } });
    expect(no.code).toBe(0);
    expect(no.stderr).toMatch(/Build 1 image \(run [0-9]{8}-[0-9]{6}-[0-9a-f]{4}\)\? \[y\/N\]/);
    expect(no.stderr).toContain('nothing built (not confirmed)');
    expect(imagesNamed('RegionOne', 'e2e-ask')).toEqual([]);
    const yes = await repo.run(['apply', '-m', file, '--poll-interval-ms', '100'], { tty: { answer: 'y' } });
    expect(yes.code, yes.stderr).toBe(0);
    expect(imagesNamed('RegionOne', 'e2e-ask')).toHaveLength(1);
    assertNothingLeft();
  });

  it('reaches the build server through a floating IP from the pool the target names, and releases it', async () => {
    const file = await repo.manifest(manifestOf([{ name: 'e2e-fip', steps: [{ run: 'hostname' }] }], { regions: ['RegionOne'], build: { flavor: 'm1.small', network: 'private', floatingIpPool: 'public', ssh: { user: 'debian' } } }));
    const r = await apply(file, ['--debug']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/POST \S+\/network\/RegionOne\/v2\.0\/floatingips/);
    expect(r.stderr).toMatch(/DELETE \S+\/network\/RegionOne\/v2\.0\/floatingips\//);
    assertNothingLeft();
  });

  it('--keep-on-failure keeps the server and keypair, and the private key with mode 0600', async () => {
    const file = await writeManifest([{ name: 'e2e-keep', regions: ['RegionOne'], steps: [{ run: 'exit 3' }] }]);
    const r = await apply(file, ['--keep-on-failure']);
    expect(r.code).toBe(1);
    const b = JSON.parse(r.stdout).builds[0];
    expect(b.leftBehind.map((l: { what: string }) => l.what)).toEqual(expect.arrayContaining([expect.stringMatching(/^server /), expect.stringMatching(/^keypair /)]));
    expect(r.stderr).toMatch(/LEFT BEHIND .* delete it with: openstack --os-cloud emulator --os-region-name RegionOne server delete /);
    const keyFile = repo.path('.imagesync', 'keys', emulator.compute.keypairs('RegionOne')[0]!.name);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(keyFile, 'utf8')).toContain('PRIVATE KEY');
    // Kept, so still there; the sweep after each test deletes them.
    expect(emulator.compute.servers('RegionOne')).toHaveLength(1);
    expect(emulator.compute.keypairs('RegionOne')).toHaveLength(1);
  });

  it('never publishes over an image that took the name while the build ran', async () => {
    const file = await writeManifest([{ name: 'e2e-race', regions: ['RegionOne'], steps: [{ run: 'sleep 1' }] }]);
    const running = apply(file);
    // This build's own server (not one an earlier test still deletes): the build is past its plan.
    await until(() => emulator.compute.servers('RegionOne').some((s) => s.name.includes('e2e-race')), { what: "the race build's server booting" });
    const intruder = emulator.state.addImage('RegionOne', { name: 'e2e-race', status: 'active' });
    const r = await running;
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).builds[0].error).toMatch(new RegExp(`"e2e-race" was taken while this build ran: ${intruder.id} \\(active\\)`));
    expect(imagesNamed('RegionOne', 'e2e-race').map((i) => i.id)).toEqual([intruder.id]);
    assertNothingLeft();
    emulator.state.removeImage('RegionOne', intruder.id);
  });

  it('names the nearest source image, flavor or network when one is not found, and refuses an ambiguous source', async () => {
    const file = repo.path('images.manifest.json');
    const write = (source: Record<string, unknown>, build: Record<string, unknown> = {}) =>
      writeFile(
        file,
        JSON.stringify({
          targets: [{ cloud: 'emulator', regions: ['RegionOne'], build: { flavor: 'm1.small', network: 'private', ssh: { user: 'debian' }, ...build } }],
          images: [{ name: 'e2e-resolve', source, build: { steps: [{ run: 'true' }] } }],
        }),
      );
    const err = async () => {
      const r = await apply(file);
      expect(r.code).toBe(1);
      return JSON.parse(r.stdout).builds[0]?.error ?? JSON.parse(r.stdout).notBuilt[0]?.detail;
    };
    await write({ image: 'debian-12-genericcloud' }, { flavor: 'm1.smal' });
    expect(await err()).toBe('emulator/RegionOne: flavor "m1.smal" not found; did you mean "m1.small"?');
    await write({ image: 'debian-12-genericcloud' }, { network: 'privat' });
    expect(await err()).toBe('emulator/RegionOne: network "privat" not found; did you mean "private"?');
    const a = emulator.state.addImage('RegionOne', { name: 'twin-source', status: 'active', default_user: 'debian' });
    const b = emulator.state.addImage('RegionOne', { name: 'twin-source', status: 'active', default_user: 'debian' });
    await write({ image: 'twin-source' });
    const plan = await repo.run(['plan', '--json', '-m', file]);
    expect(JSON.parse(plan.stdout).entries[0].detail).toMatch(/cannot build here: 2 active images are named "twin-source" .*"pick": "newest"/);
    expect(await err()).toMatch(/^emulator\/RegionOne: 2 active images are named "twin-source" .*"pick": "newest"/);
    await write({ image: 'debian-12-genericclod' });
    expect(await err()).toBe('emulator/RegionOne: source image "debian-12-genericclod" not found; did you mean "debian-12-genericcloud"?');
    await write({ image: 'twin-source', pick: 'newest' });
    const r = await apply(file);
    expect(r.code, r.stderr).toBe(0);
    const [built] = imagesNamed('RegionOne', 'e2e-resolve');
    expect([a.id, b.id]).toContain(built!.imagesync_source_image);
    assertNothingLeft();
  });

  it('refuses to run without --yes when not on a terminal (exit 3, nothing contacted)', async () => {
    const file = await writeManifest([{ name: 'e2e-noyes' }]);
    const before = emulator.stats.total;
    const r = await repo.run(['apply', '-m', file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('--yes');
    expect(emulator.stats.total).toBe(before);
  });

  it('SIGINT in the middle of a build stops it and leaves nothing behind', async () => {
    const file = await writeManifest([{ name: 'e2e-sigint', regions: ['RegionOne'], steps: [{ run: 'touch /tmp/started; sleep 3600' }] }]);
    const cli = repo.spawn(['apply', '--yes', '-m', file, '--poll-interval-ms', '100']);
    // Wait until the long step runs, then interrupt.
    await cli.stderrContains('step 1/1');
    expect(emulator.compute.servers('RegionOne').length).toBe(1);
    cli.child.kill('SIGINT');
    const { code } = await cli.exited;
    expect(code).not.toBe(0);
    expect(cli.stderr()).toMatch(/SIGINT/);
    expect(cli.stderr()).not.toContain('LEFT BEHIND');
    assertNothingLeft();
  });
});

