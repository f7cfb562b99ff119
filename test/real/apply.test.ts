// `imagesync apply` against the real Keystone + two Glance regions, with the emulator as compute (Nova, Neutron) through the clouds.yaml endpoint overrides.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startComputeOnly, type ComputeOnly } from '../../src/emulator/compute-only.js';
import { EMPTY_TAR } from '../../src/emulator/sandbox.js';
import { runCli } from '../helpers/cli.js';
import { readTar } from '../helpers/tar.js';
import { realTier, type RegionName } from './env.js';
import { adminToken, createImage, deleteAllImages, listAllImages } from './glance-seed.js';

const tier = realTier();
const REGIONS: RegionName[] = ['RegionOne', 'RegionTwo'];
let co: ComputeOnly;
let dir: string;

beforeAll(async () => {
  await deleteAllImages(tier);
  const token = await adminToken(tier);
  for (const r of REGIONS) await createImage(tier, r, { name: 'debian-12', status: 'active', data: EMPTY_TAR, properties: { default_user: 'debian' } }, token);
  const port = (u: string) => Number(new URL(u).port);
  co = await startComputeOnly({
    keystoneUrl: tier.authUrl,
    regions: Object.fromEntries(
      REGIONS.map((r) => [r, { computePort: port(tier.compute[r]), networkPort: port(tier.network[r]), glanceUrl: tier.glance[r] }]),
    ),
    knobs: { bootDelayMs: 50, consoleDelayMs: 0, snapshotDelayMs: 0 },
  });
  dir = await mkdtemp(join(tmpdir(), 'imagesync-real-apply-'));
  await mkdir(join(dir, 'files'));
  await writeFile(join(dir, 'files', 'motd'), 'real glance, emulated nova\n');
  await writeFile(
    join(dir, 'images.manifest.json'),
    JSON.stringify({
      targets: [{ cloud: tier.emulatedComputeCloud, regions: REGIONS, build: { flavor: 'm1.small', network: 'private', ssh: { user: 'debian' } } }],
      images: [
        {
          name: 'real-web',
          source: { image: 'debian-12' },
          build: { steps: [{ put: 'files/motd', to: '/etc/motd', sudo: true }, { run: 'echo ok | sudo tee /etc/real-marker' }] },
          properties: { os_distro: 'debian' },
        },
      ],
    }),
  );
});

afterAll(async () => {
  await co?.close();
  await deleteAllImages(tier).catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('apply against real Keystone + Glance', () => {
  it('builds the image in both regions into the real Glance, and the next plan is in sync', async () => {
    const env = { OS_CLIENT_CONFIG_FILE: tier.cloudsYaml };
    const file = join(dir, 'images.manifest.json');
    const r = await runCli(['apply', '--yes', '--json', '-m', file, '--poll-interval-ms', '100'], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.builds.map((b: { status: string }) => b.status)).toEqual(['built', 'built']);

    const token = await adminToken(tier);
    for (const region of REGIONS) {
      const images = await listAllImages(tier, region, token);
      const named = images.filter((i) => i.name === 'real-web');
      expect(named).toHaveLength(1);
      expect(named[0]).toMatchObject({ status: 'active', os_distro: 'debian', imagesync_run: report.runId });
      expect(images.filter((i) => String(i.name).startsWith('imagesync-'))).toEqual([]);
      const data = await request(`${tier.glance[region]}/v2/images/${named[0]!.id}/file`, { headers: { 'x-auth-token': token } });
      const files = readTar(Buffer.from(await data.body.arrayBuffer()));
      expect(files.find((f) => f.name === 'etc/motd')?.data.toString()).toBe('real glance, emulated nova\n');
      expect(files.find((f) => f.name === 'etc/real-marker')?.data.toString()).toBe('ok\n');
      expect(co.compute.servers(region)).toEqual([]);
      expect(co.compute.keypairs(region)).toEqual([]);
    }

    const plan = await runCli(['plan', '--detailed-exitcode', '-m', file], { cwd: dir, env });
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(plan.stdout).toContain('In sync.');
  });
});
