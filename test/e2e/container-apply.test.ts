// `imagesync apply` end to end with container build servers booted by a non-root user (rootless podman).
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LABEL_EMULATOR } from '../../src/emulator/container-machine.js';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { runCli } from '../helpers/cli.js';
import { containersLabelled, rootlessUser } from '../helpers/container-host.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DEFINE = join(ROOT, 'src/tasks/define.js');
const user = rootlessUser();
let emulator: Emulator;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({ regions: ['RegionOne'], computeBackend: 'container', ...(user ? { containerUser: user } : {}) });
  // The first run on a machine builds Debian 12's root file system (minutes); CI builds it before the tests.
  await emulator.prepareImages(['debian-12-genericcloud']);
  dir = await mkdtemp(join(tmpdir(), 'imagesync-container-e2e-'));
  await mkdir(join(dir, 'tasks'));
  await mkdir(join(dir, 'files'));
  await writeFile(join(dir, 'files', 'motd'), 'built in a container\n');
  await writeFile(
    join(dir, 'tasks', 'marker.ts'),
    `import { defineTask } from ${JSON.stringify(DEFINE)};
export default defineTask({
  name: 'marker',
  description: 'Record which distribution the build ran on',
  async run(c) {
    await c.sudo("sh -c 'mkdir -p /opt/imagesync && . /etc/os-release && echo \\"$ID $VERSION_ID\\" > /opt/imagesync/built-on'");
  },
});
`,
  );
  await emulator.writeCloudsYaml(join(dir, 'clouds.yaml'));
}, 30 * 60_000);
afterAll(async () => {
  await emulator?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('builds, snapshots and publishes an image from a Debian 12 container; the only manifest change is the SSH port of the emulator target', async () => {
  const manifest = join(dir, 'images.manifest.json');
  await writeFile(
    manifest,
    JSON.stringify({
      targets: [
        {
          cloud: 'emulator',
          regions: ['RegionOne'],
          build: { flavor: 'm1.small', network: 'private', ssh: { user: 'debian', port: emulator.sshPort }, timeouts: { bootSeconds: 600, sshSeconds: 120, snapshotSeconds: 300, stepSeconds: 300 } },
        },
      ],
      images: [
        {
          name: 'debian-12-container-built',
          source: { image: 'debian-12-genericcloud' },
          build: { steps: [{ run: 'id -un' }, { put: 'files/motd', to: '/etc/motd', sudo: true }, { task: 'marker' }] },
          properties: { os_distro: 'debian', os_version: '12' },
        },
      ],
    }),
  );
  const env = { OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml') };
  const applied = await runCli(['apply', '--yes', '--json', '--no-lock', '-m', manifest], { cwd: dir, env });
  expect(applied.stderr).not.toMatch(/FAILED/);
  expect(applied.code).toBe(0);
  const report = JSON.parse(applied.stdout);
  expect(report.builds).toEqual([expect.objectContaining({ image: 'debian-12-container-built', status: 'built' })]);

  const image = emulator.state.images('RegionOne').find((i) => i.name === 'debian-12-container-built') as { id: string; base_image_ref?: string };
  expect(image).toBeDefined();
  const tar = join(dir, 'snapshot.tar');
  await writeFile(tar, emulator.state.imageData('RegionOne', image.id) as Buffer);
  const entries = execFileSync('tar', ['-tf', tar], { encoding: 'utf8' }).split('\n');
  expect(entries).toEqual(expect.arrayContaining(['etc/motd', 'opt/imagesync/built-on']));
  expect(execFileSync('tar', ['-xOf', tar, 'opt/imagesync/built-on'], { encoding: 'utf8' })).toBe('debian 12\n');
  expect(execFileSync('tar', ['-xOf', tar, 'etc/motd'], { encoding: 'utf8' })).toBe('built in a container\n');

  const plan = await runCli(['plan', '--detailed-exitcode', '--no-lock', '-m', manifest], { cwd: dir, env });
  expect(plan.code).toBe(0);
  // apply deleted its build server: no container of this emulator is left.
  const label = `${LABEL_EMULATOR}=${emulator.compute.dir.split('imagesync-emu-')[1]}`;
  expect(containersLabelled(label, user)).toEqual([]);
  expect(emulator.compute.servers('RegionOne')).toEqual([]);
}, 15 * 60_000);
