// Volume-backed builds through apply against the emulator's Cinder: boot from a volume, the image that points at a volume snapshot, what stays with it, what goes on failure, retention and gc.
import { afterEach, describe, expect, it } from 'vitest';
import { newRunId } from '../../src/app/run-id.js';
import { buildKey, JOURNAL_DIR, openJournal } from '../../src/journal/journal.js';
import { CloudConnection } from '../../src/openstack/cloud.js';
import { Redactor } from '../../src/redact.js';
import { volumeSnapshotsOf } from '../../src/resources/volume-backed.js';
import { useEmulator } from '../helpers/emulator.js';
import { deadPid } from '../helpers/process.js';
import { assertNothingLeft, imagesNamed } from '../helpers/leftovers.js';
import { useRepo } from '../helpers/repo.js';
import { readTar } from '../helpers/tar.js';
import { until } from '../helpers/wait.js';

const R = 'RegionOne';
const MANIFEST = 'images.manifest.json';
const emulator = useEmulator({ regions: [R] });
const repo = useRepo({ emulator, prefix: 'volume' });
// What a test published (images, and the volumes and Cinder snapshots they keep) is not the next test's.
afterEach(() => emulator.clean());

const cli = (argv: string[]) => repo.run([...argv, '-m', repo.path(MANIFEST)]);
const apply = (extra: string[] = []) => cli(['apply', '--yes', '--json', '--poll-interval-ms', '100', ...extra]);

interface Img {
  name: string;
  source?: string;
  steps?: unknown[];
  volume?: Record<string, unknown> | undefined;
  flavor?: string;
}

async function manifest(images: Img[]): Promise<void> {
  await repo.manifest(
    {
      targets: [{ cloud: 'emulator', regions: [R], build: { network: 'private', ssh: { user: 'debian' }, timeouts: { bootSeconds: 60, sshSeconds: 60, snapshotSeconds: 60, stepSeconds: 60 } } }],
      images: images.map((i) => ({
        name: i.name,
        source: { image: i.source ?? 'debian-12-genericcloud' },
        build: { flavor: i.flavor ?? 'v1.small', ...(i.volume ? { volume: i.volume } : {}), steps: i.steps ?? [{ run: `echo ${i.name} | sudo tee /etc/vol-marker` }] },
      })),
    },
    MANIFEST,
  );
}

/** The published image, its Cinder snapshot and the boot volume the snapshot came from. */
function published(name: string) {
  const [image] = imagesNamed(emulator, R, name);
  expect(image, name).toBeDefined();
  const [snapId] = volumeSnapshotsOf(image!);
  const snap = emulator.compute.volumeSnapshots(R).find((s) => s.id === snapId);
  const volume = emulator.compute.volumes(R).find((v) => v.id === snap?.volumeId);
  return { image: image!, snap, volume };
}

describe('volume-backed builds', () => {
  it('boots from a volume on a flavor with no root disk; the image points at a Cinder snapshot, which holds the steps\' changes; the volume stays with it', async () => {
    await manifest([{ name: 'vol-web', volume: { size: 4, type: 'ssd' } }]);
    const r = await apply();
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).builds[0]).toMatchObject({ status: 'built', leftBehind: [] });
    const { image, snap, volume } = published('vol-web');
    expect(image).toMatchObject({ status: 'active', size: 0, bdm_v2: 'True', min_disk: 4 });
    expect(snap).toMatchObject({ status: 'available', name: expect.stringMatching(/^snapshot for imagesync-snapshot-vol-web-/) });
    expect(readTar(snap!.data!).find((f) => f.name === 'etc/vol-marker')?.data.toString()).toBe('vol-web\n');
    expect(volume).toMatchObject({ name: expect.stringMatching(/^imagesync-volume-vol-web-/), status: 'available', size: 4, volumeType: 'ssd', attachedTo: null, metadata: { imagesync_image_id: image.id } });
    assertNothingLeft(emulator, [R]);

    const plan = await cli(['plan']);
    expect(plan.stdout).toContain(`volume  vol-web in emulator/${R}: ${image.id} is volume-backed: its data is in Cinder snapshot ${snap!.id} (Glance holds 0 bytes)`);
    const show = await cli(['show', 'vol-web']);
    expect(show.stdout).toContain(`emulator/${R} ${image.id}: volume-backed: data in Cinder snapshot ${snap!.id} (Glance holds 0 bytes)`);
    // gc leaves what a published image needs.
    const gc = await cli(['gc', '--json', '--older-than', '1s']);
    expect(gc.code, gc.stderr).toBe(0);
    const rows = JSON.parse(gc.stdout).resources as Array<{ kind: string; id: string; status: string; why: string }>;
    expect(rows.filter((x) => x.status !== 'ignored')).toEqual([]);
    expect(rows.map((x) => [x.kind, x.id]).sort()).toEqual([['volume', volume!.id], ['volume-snapshot', snap!.id]].sort());
  }, 180_000);

  it('--keep 0 deletes the superseded image with its Cinder snapshot and volume', async () => {
    // The image this apply supersedes: vol-web as the first test publishes it.
    await manifest([{ name: 'vol-web', volume: { size: 4, type: 'ssd' } }]);
    const first = await apply();
    expect(first.code, first.stderr).toBe(0);
    const before = published('vol-web');
    await manifest([{ name: 'vol-web', volume: { size: 4, type: 'ssd' }, steps: [{ run: 'echo vol-web-v2 | sudo tee /etc/vol-marker' }] }]);
    const r = await apply(['--keep', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).builds[0].retention).toEqual([expect.objectContaining({ id: before.image.id, action: 'deleted' })]);
    expect(emulator.state.image(R, before.image.id)).toBeUndefined();
    expect(emulator.compute.volumeSnapshots(R).map((s) => s.id)).not.toContain(before.snap!.id);
    expect(emulator.compute.volumes(R).map((v) => v.id)).not.toContain(before.volume!.id);
    expect(readTar(published('vol-web').snap!.data!).find((f) => f.name === 'etc/vol-marker')?.data.toString()).toBe('vol-web-v2\n');
    assertNothingLeft(emulator, [R]);
  }, 180_000);

  it('builds from a volume-backed image (the boot volume made from its snapshot); retention keeps an image whose snapshot a volume came from', async () => {
    // The volume-backed base, published before vol-child is asked for: vol-web as --keep 0 leaves it (v2).
    await manifest([{ name: 'vol-web', volume: { size: 4, type: 'ssd' }, steps: [{ run: 'echo vol-web-v2 | sudo tee /etc/vol-marker' }] }]);
    const first = await apply();
    expect(first.code, first.stderr).toBe(0);
    const base = published('vol-web');
    await manifest([
      { name: 'vol-web', volume: { size: 4, type: 'ssd' }, steps: [{ run: 'echo vol-web-v2 | sudo tee /etc/vol-marker' }] },
      { name: 'vol-child', source: 'vol-web', volume: {}, steps: [{ run: 'cat /etc/vol-marker | sudo tee /etc/child-saw' }] },
    ]);
    expect((await apply()).code).toBe(0);
    const child = published('vol-child');
    expect(child.volume).toMatchObject({ size: 4 });
    expect(readTar(child.snap!.data!).find((f) => f.name === 'etc/child-saw')?.data.toString()).toBe('vol-web-v2\n');
    assertNothingLeft(emulator, [R]);

    await manifest([
      { name: 'vol-web', volume: { size: 4, type: 'ssd' }, steps: [{ run: 'echo vol-web-v3 | sudo tee /etc/vol-marker' }] },
      { name: 'vol-child', source: 'vol-web', volume: {}, steps: [{ run: 'cat /etc/vol-marker | sudo tee /etc/child-saw' }] },
    ]);
    const r = await cli(['apply', '--yes', '--json', '--poll-interval-ms', '100', '--keep', '0', '--target', `emulator/${R}`]);
    const web = (JSON.parse(r.stdout).builds as Array<{ image: string; retention?: unknown }>).find((b) => b.image === 'vol-web')!;
    expect(web.retention).toEqual([
      expect.objectContaining({ id: base.image.id, action: 'kept-in-use', reason: `used by volume ${child.volume!.id} (${child.volume!.name}), made from its snapshot` }),
    ]);
    expect(emulator.compute.volumeSnapshots(R).map((s) => s.id)).toContain(base.snap!.id);
  }, 240_000);

  it('a failing step, or a publish refused after the snapshot, leaves no volume, no volume snapshot, no image', async () => {
    await manifest([{ name: 'vol-fail', volume: {}, steps: [{ run: 'exit 4' }] }]);
    const r = await apply();
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).builds[0]).toMatchObject({ status: 'failed', leftBehind: [] });
    assertNothingLeft(emulator, [R]);

    // The name is taken while the build runs: the image, its Cinder snapshot and the volume all go.
    await manifest([{ name: 'vol-race', volume: {}, steps: [{ run: 'sleep 1' }] }]);
    const running = apply();
    const deadline = Date.now() + 60_000;
    while (emulator.compute.servers(R).length === 0 && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 50));
    const intruder = emulator.state.addImage(R, { name: 'vol-race', status: 'active' });
    const raced = await running;
    expect(raced.code).toBe(1);
    expect(JSON.parse(raced.stdout).builds[0]).toMatchObject({ failedStep: 'verify and rename', leftBehind: [] });
    expect(imagesNamed(emulator, R, 'vol-race').map((i) => i.id)).toEqual([intruder.id]);
    emulator.state.removeImage(R, intruder.id);
    assertNothingLeft(emulator, [R]);
    expect(emulator.compute.volumes(R).filter((v) => /vol-(fail|race)/.test(v.name))).toEqual([]);
  }, 180_000);

  it('refuses before anything is created: an image boot on a 0 GB flavor, a volume under min_disk, an unknown volume type, RAM under min_ram', async () => {
    const requests = () => emulator.stats.total;
    // A base image that asks more RAM than m1.small's 2048 MB (Nova would say so only after the claim and keypair).
    emulator.state.addImage(R, { name: 'vol-big-base', visibility: 'public', min_ram: 4096, min_disk: 2, properties: { os_distro: 'debian', default_user: 'debian' } });
    const cases: Array<[Img, RegExp]> = [
      [{ name: 'vol-zero' }, /flavor "v1\.small" has a 0 GB root disk: Nova refuses to boot an image on it \(policy zero_disk_flavor\); set build\.volume/],
      [{ name: 'vol-small', volume: { size: 1 } }, /build\.volume\.size is 1 GB, and source image "debian-12-genericcloud" needs 2 GB \(its min_disk\): give at least 2/],
      [{ name: 'vol-type', volume: { type: 'sdd' } }, /volume type "sdd" not found; did you mean "ssd"\?/],
      [{ name: 'vol-tiny', flavor: 'm1.tiny' }, /flavor "m1\.tiny" has a 1 GB root disk, and source image "debian-12-genericcloud" needs 2 GB \(its min_disk\)/],
      [{ name: 'vol-ram', source: 'vol-big-base', flavor: 'm1.small' }, /flavor "m1\.small" has 2048 MB of RAM, and source image "vol-big-base" needs at least 4096 MB \(its min_ram\): choose a larger flavor/],
      [{ name: 'vol-ram2', source: 'vol-big-base', volume: { size: 4 } }, /flavor "v1\.small" has 2048 MB of RAM, and source image "vol-big-base" needs at least 4096 MB/],
    ];
    for (const [img, message] of cases) {
      await manifest([img]);
      const servers = emulator.compute.servers(R).length;
      const r = await apply();
      expect(r.code).toBe(1);
      const b = JSON.parse(r.stdout).builds[0];
      expect(b.failedStep).toBe('resolve source image, flavor and network');
      expect(b.error).toMatch(message);
      expect(emulator.compute.servers(R).length).toBe(servers);
      expect(emulator.compute.keypairs(R)).toEqual([]);
      // Not even a claim: the resolve step comes before it.
      expect(emulator.state.images(R).filter((i) => i.name?.startsWith('imagesync-claim-'))).toEqual([]);
      expect(requests()).toBeGreaterThan(0);
    }
    assertNothingLeft(emulator, [R]);
  }, 120_000);

  it('gc removes what a crashed volume build left, and a snapshot and volume whose image was deleted by hand', async () => {
    const conn = new CloudConnection(
      { name: 'emulator', auth: { type: 'password', authUrl: emulator.authUrl, username: 'admin', password: 'emulator-secret', projectName: 'admin' }, interface: 'public', insecure: false, source: 't', secrets: [] },
      { redactor: new Redactor() },
    );
    try {
      // Two published volume-backed images: vol-web, then vol-child built from it (its boot volume made from vol-web's snapshot).
      const web = { name: 'vol-web', volume: { size: 4, type: 'ssd' }, steps: [{ run: 'echo vol-web-v2 | sudo tee /etc/vol-marker' }] };
      for (const images of [[web], [web, { name: 'vol-child', source: 'vol-web', volume: {}, steps: [{ run: 'cat /etc/vol-marker | sudo tee /etc/child-saw' }] }]]) {
        await manifest(images);
        const built = await apply();
        expect(built.code, built.stderr).toBe(0);
      }
      // Kept by a finished run whose image then goes, vol-child's snapshot and volume go only once older than --older-than (1s below).
      const builtAt = Date.now();
      const { cinder } = await conn.buildServices(R);
      // A run on this machine that died right after making its boot volume: its journal says so.
      const dead = newRunId(new Date(Date.now() - 60_000));
      const journal = await openJournal({ dir: repo.path(JOURNAL_DIR), runId: dead, manifest: repo.path(MANIFEST), targets: [`emulator/${R}`], pid: await deadPid(), heartbeatMs: 3_600_000 });
      const build = buildKey({ cloud: 'emulator', region: R }, 'vol-web');
      const name = `imagesync-volume-vol-web-${dead}`;
      await journal.beforeCreate(build, { kind: 'volume', cloud: 'emulator', region: R, name });
      const orphan = await cinder!.createVolume({ name, size: 2, metadata: { imagesync_run: dead } });
      await journal.created(build, { kind: 'volume', cloud: 'emulator', region: R, name, id: orphan.id });
      await journal.flush();
      // The image of vol-child deleted by hand: its snapshot and volume serve nothing now.
      const { image, snap, volume } = published('vol-child');
      emulator.state.removeImage(R, image.id);
      await manifest([{ name: 'vol-web', volume: {} }]);
      await until(() => Date.now() - builtAt > 1_000, { what: 'vol-child\'s snapshot and volume older than 1s' });
      const gc = await cli(['gc', '--json', '--older-than', '1s']);
      expect(gc.code, gc.stderr).toBe(0);
      const deleted = (JSON.parse(gc.stdout).resources as Array<{ kind: string; id: string; status: string }>).filter((x) => x.status === 'deleted').map((x) => [x.kind, x.id]);
      expect(deleted.sort()).toEqual([['volume', orphan.id], ['volume', volume!.id], ['volume-snapshot', snap!.id]].sort());
      const left = emulator.compute.volumes(R).map((v) => v.id);
      expect(left).not.toContain(orphan.id);
      expect(left).not.toContain(volume!.id);
      expect(left).toContain(published('vol-web').volume!.id);
      assertNothingLeft(emulator, [R]);
    } finally {
      await conn.close();
    }
  }, 120_000);
});
