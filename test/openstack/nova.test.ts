// The Nova client against the emulator's compute: microversions, keypairs, createImage under both reply shapes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ssh2 from 'ssh2';
import type { CloudConnection } from '../../src/openstack/cloud.js';
import { NovaClient } from '../../src/openstack/nova.js';
import { ServiceClient } from '../../src/openstack/service.js';
import { waitFor } from '../../src/openstack/wait.js';
import { emulatorConnection, useEmulator } from '../helpers/emulator.js';

const emulator = useEmulator({ regions: ['RegionOne'] });
let conn: CloudConnection;
beforeAll(() => {
  conn = emulatorConnection(emulator);
});
afterAll(async () => {
  await conn?.close();
});

async function nova(max?: string): Promise<NovaClient> {
  const s = await conn.buildServices('RegionOne');
  return max ? new NovaClient(new ServiceClient(s.nova.service.session, s.nova.service.http, s.nova.service.baseUrl, s.nova.service.target), max) : s.nova;
}

describe('NovaClient', () => {
  it('speaks the newest microversion both sides know', async () => {
    expect(await (await nova()).microversion()).toEqual({ major: 2, minor: 96 });
    expect(await (await nova('2.44')).microversion()).toEqual({ major: 2, minor: 44 });
  });

  it('creates and deletes keypairs; deleting a missing one is done, not an error', async () => {
    const n = await nova();
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    await n.createKeypair('t-key', pair.public);
    expect(await n.listKeypairs()).toContain('t-key');
    await n.deleteKeypair('t-key');
    await n.deleteKeypair('t-key');
    expect(await n.getKeypair('t-key')).toBeUndefined();
  });

  it.each(['2.44', '2.96'])('finds the snapshot id of createImage at microversion %s (Location header / image_id body)', async (mv) => {
    const n = await nova(mv);
    const tag = mv.replace('.', '');
    const s = await conn.buildServices('RegionOne');
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    await n.createKeypair(`t-mv-${tag}`, pair.public);
    const [source] = await s.glance.listByNames(['debian-12-genericcloud']);
    const flavor = (await n.flavors()).find((f) => f.name === 'm1.small')!;
    const [net] = await s.neutron!.networks({ name: 'private' });
    const id = await n.boot({ name: `t-mv-${tag}`, imageRef: source!.id, flavorRef: flavor.id, keyName: `t-mv-${tag}`, networks: [{ uuid: net!.id }], metadata: {}, tags: ['t'] });
    await waitFor({ what: 'ACTIVE', poll: () => n.getServer(id), done: (x) => x?.status === 'ACTIVE', timeoutMs: 60_000, intervalMs: 50 });
    const imageId = await n.createImage(id, `t-snap-${tag}`, { purpose: 'test' });
    const img = await waitFor({ what: 'image', poll: () => s.glance.getImage(imageId), done: (i) => i?.status === 'active', timeoutMs: 60_000, intervalMs: 50 });
    expect(img).toMatchObject({ name: `t-snap-${tag}`, purpose: 'test' });
    await n.deleteServer(id);
    await n.deleteKeypair(`t-mv-${tag}`);
    await s.glance.deleteImage(imageId);
    await waitFor({ what: 'gone', poll: () => n.getServer(id), done: (x) => x === undefined, timeoutMs: 60_000, intervalMs: 50 });
  });
});
