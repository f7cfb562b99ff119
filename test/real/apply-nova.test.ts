// `imagesync apply` against real Nova + Neutron (fake virt driver): as far as a build can go without a guest, then a clean stop.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_TAR } from '../../src/emulator/sandbox.js';
import { CloudConnection, type BuildServices } from '../../src/openstack/cloud.js';
import { Redactor } from '../../src/redact.js';
import { credentialsCloud } from '../contract/cloud.js';
import { runCli } from '../helpers/cli.js';
import { realTier, type RegionName } from './env.js';
import { adminToken, createImage, deleteAllImages, listAllImages } from './glance-seed.js';

const tier = realTier();
const REGIONS: RegionName[] = ['RegionOne', 'RegionTwo'];
let dir: string;
let conn: CloudConnection;
const services = {} as Record<RegionName, BuildServices>;

beforeAll(async () => {
  await deleteAllImages(tier);
  const token = await adminToken(tier);
  for (const r of REGIONS) await createImage(tier, r, { name: 'debian-12', status: 'active', data: EMPTY_TAR, properties: { default_user: 'debian' } }, token);
  const creds = { authUrl: tier.authUrl, username: tier.username, password: tier.password, projectName: tier.projectName, userDomain: 'Default' };
  conn = new CloudConnection(credentialsCloud(creds, 'test/real/apply-nova.test.ts', { name: tier.cloudName }), { redactor: new Redactor() });
  for (const r of REGIONS) services[r] = await conn.buildServices(r);
  dir = await mkdtemp(join(tmpdir(), 'imagesync-real-nova-'));
  await writeFile(
    join(dir, 'images.manifest.json'),
    JSON.stringify({
      targets: [
        {
          cloud: tier.cloudName,
          regions: REGIONS,
          build: { flavor: 'm1.tiny', network: 'private', floatingIpPool: 'public', ssh: { user: 'debian' }, timeouts: { sshSeconds: 8 } },
        },
      ],
      images: [{ name: 'nova-web', source: { image: 'debian-12' }, build: { steps: [{ run: 'true' }] } }],
    }),
  );
}, 120_000);

afterAll(async () => {
  await conn?.close();
  await deleteAllImages(tier).catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('apply against real Nova + Neutron', () => {
  it('boots, reaches ACTIVE, gets a floating IP, reads the console, stops at the missing host keys, and leaves nothing behind', async () => {
    const r = await runCli(['apply', '--yes', '--json', '-m', join(dir, 'images.manifest.json'), '--poll-interval-ms', '250'], {
      cwd: dir,
      env: { OS_CLIENT_CONFIG_FILE: tier.cloudsYaml },
    });
    expect(r.code, r.stderr).not.toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.builds).toHaveLength(REGIONS.length);
    for (const b of report.builds) {
      expect(b.status).toBe('failed');
      // Everything before it worked against the real services: the error is the console's.
      expect(JSON.stringify(b)).toContain('SSH host key fingerprints in the console log of server');
    }
    for (const region of REGIONS) {
      const { nova, neutron } = services[region];
      expect(await nova.listServers({ name: '^imagesync-' }), `servers in ${region}`).toEqual([]);
      expect((await nova.listKeypairs()).filter((k) => k.startsWith('imagesync-')), `keypairs in ${region}`).toEqual([]);
      expect(await neutron!.floatingIps({ description: `imagesync run ${report.runId}` }), `floating IPs in ${region}`).toEqual([]);
      const images = await listAllImages(tier, region, await adminToken(tier));
      expect(images.filter((i) => String(i.name).startsWith('imagesync-') || i.name === 'nova-web'), `images in ${region}`).toEqual([]);
    }
  }, 300_000);
});
