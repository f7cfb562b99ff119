// The emulator's Cinder and Nova's volume boot: volumes and snapshots with their states, boot from a volume, the image of a volume-backed server, and Cinder's rules on deletion.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { call, json, token, until } from './helpers.js';

let emu: Emulator;
let tok: string;
let cinder: string;
let nova: string;
let debianId: string;
let privateNet: string;
const R = 'RegionOne';

const jsonHeaders = { 'content-type': 'application/json', 'openstack-api-version': 'compute 2.96' };
const post = (url: string, body: unknown) => call(url, tok, { method: 'POST', headers: jsonHeaders, body: JSON.stringify(body) });
const volume = async (id: string) => {
  const res = await call(`${cinder}/volumes/${id}`, tok);
  return res.status === 404 ? undefined : (await json(res)).volume;
};
const snapshot = async (id: string) => {
  const res = await call(`${cinder}/snapshots/${id}`, tok);
  return res.status === 404 ? undefined : (await json(res)).snapshot;
};
const server = async (id: string) => {
  const res = await call(`${nova}/servers/${id}`, tok, { headers: jsonHeaders });
  return res.status === 404 ? undefined : (await json(res)).server;
};

beforeAll(async () => {
  emu = await startEmulator({ regions: [R], bootDelayMs: 50, consoleDelayMs: 50, snapshotDelayMs: 150, deleteDelayMs: 50 });
  tok = await token(emu);
  nova = `${emu.url}/compute/${R}/v2.1`;
  debianId = emu.state.images(R).find((i) => i.name === 'debian-12-genericcloud')!.id;
  privateNet = (await json(await call(`${emu.url}/network/${R}/v2.0/networks?name=private`, tok))).networks[0].id;
  const catalog = (await json(await call(`${emu.authUrl}/auth/catalog`, tok))).catalog as Array<{ type: string; endpoints: Array<{ region: string; interface: string; url: string }> }>;
  cinder = catalog.find((s) => s.type === 'volumev3')!.endpoints.find((e) => e.region === R && e.interface === 'public')!.url;
}, 60_000);
afterAll(async () => {
  await emu?.close();
});

describe('emulator Cinder', () => {
  it('is in the catalog as volumev3; lists its volume types and its zone', async () => {
    expect(cinder).toBe(`${emu.url}/volume/${R}/v3`);
    const types = (await json(await call(`${cinder}/types`, tok))).volume_types.map((t: { name: string }) => t.name);
    expect(types).toEqual(['__DEFAULT__', 'ssd']);
    expect((await json(await call(`${cinder}/os-availability-zone`, tok))).availabilityZoneInfo).toEqual([{ zoneName: 'nova', zoneState: { available: true } }]);
    expect((await call(`${cinder}/volumes`, undefined)).status).toBe(401);
    // Limits and quotas are shown (what `openstack limits show` and `quota show` read), not enforced.
    expect((await json(await call(`${cinder}/limits`, tok))).limits.absolute).toMatchObject({ maxTotalVolumes: 10, totalVolumesUsed: 0 });
    const project = emu.users[0]!.project.id;
    expect((await json(await call(`${cinder}/os-quota-sets/${project}?usage=True`, tok))).quota_set).toMatchObject({ id: project, volumes: { limit: 10, in_use: 0 }, gigabytes: { limit: 1000 } });
  });

  it('refuses a volume smaller than the image\'s min_disk, an unknown type or zone', async () => {
    const bad = async (extra: object) => {
      const res = await post(`${cinder}/volumes`, { volume: { name: 'x', size: 5, imageRef: debianId, ...extra } });
      return { status: res.status, message: (await json(res)).badRequest?.message ?? (await Promise.resolve('')) };
    };
    expect(await bad({ size: 1 })).toEqual({ status: 400, message: expect.stringMatching(/cannot be smaller than the image minDisk size 2GB/) });
    expect((await post(`${cinder}/volumes`, { volume: { size: 5, volume_type: 'gold' } })).status).toBe(404);
    expect((await bad({ availability_zone: 'az-9' })).status).toBe(400);
  });

  it('a volume from an image goes creating → available; Nova boots from it, shows no image, and lists it attached', async () => {
    const res = await post(`${cinder}/volumes`, { volume: { name: 'boot-vol', size: 5, imageRef: debianId, volume_type: 'ssd', metadata: { imagesync_run: 'r1' } } });
    expect(res.status).toBe(202);
    const created = (await json(res)).volume;
    expect(created).toMatchObject({ status: 'creating', size: 5, volume_type: 'ssd', metadata: { imagesync_run: 'r1' } });
    const avail = await until(async () => ((await volume(created.id))?.status === 'available' ? await volume(created.id) : undefined));
    expect(avail.volume_image_metadata).toMatchObject({ image_id: debianId, default_user: 'debian', os_distro: 'debian' });
    expect((await json(await call(`${cinder}/volumes/detail?name=boot-vol`, tok))).volumes.map((v: { id: string }) => v.id)).toEqual([created.id]);

    const boot = await post(`${nova}/servers`, {
      server: {
        name: 'bfv',
        imageRef: '',
        flavorRef: '2',
        networks: [{ uuid: privateNet }],
        block_device_mapping_v2: [{ boot_index: 0, uuid: created.id, source_type: 'volume', destination_type: 'volume', delete_on_termination: true }],
      },
    });
    expect(boot.status).toBe(202);
    const id = (await json(boot)).server.id;
    const active = await until(async () => {
      const s = await server(id);
      if (s.status === 'ERROR') throw new Error(s.fault.message);
      return s.status === 'ACTIVE' ? s : undefined;
    });
    expect(active.image).toBe('');
    expect(active['os-extended-volumes:volumes_attached']).toEqual([{ id: created.id, delete_on_termination: true }]);
    expect((await volume(created.id)).status).toBe('in-use');
    expect((await volume(created.id)).attachments[0].server_id).toBe(id);
    expect((await call(`${cinder}/volumes/${created.id}`, tok, { method: 'DELETE' })).status).toBe(400);

    // The image of a volume-backed server: 0 bytes in Glance, pointing at a Cinder snapshot of the root volume.
    expect((await post(`${nova}/servers/${id}/action`, { 'os-stop': null })).status).toBe(202);
    await until(async () => ((await server(id)).status === 'SHUTOFF' ? true : undefined));
    const snap = await post(`${nova}/servers/${id}/action`, { createImage: { name: 'bfv-image', metadata: { imagesync_run: 'r1' } } });
    expect(snap.status).toBe(202);
    const imageId = (await json(snap)).image_id;
    const image = emu.state.image(R, imageId)!;
    expect(image).toMatchObject({ status: 'active', size: 0, bdm_v2: 'True', root_device_name: '/dev/vda', min_disk: 5, imagesync_run: 'r1', os_distro: 'debian' });
    const mapping = JSON.parse(image.block_device_mapping as string);
    expect(mapping).toEqual([expect.objectContaining({ source_type: 'snapshot', destination_type: 'volume', boot_index: 0, volume_size: 5, delete_on_termination: true })]);
    const snapId = mapping[0].snapshot_id;
    const creating = await snapshot(snapId);
    expect(creating).toMatchObject({ name: 'snapshot for bfv-image', volume_id: created.id, status: 'creating', size: 5 });
    await until(async () => ((await snapshot(snapId)).status === 'available' ? true : undefined));

    // Nova deletes the volume with the server only if Cinder lets it: a snapshot holds it.
    expect((await call(`${nova}/servers/${id}`, tok, { method: 'DELETE', headers: jsonHeaders })).status).toBe(204);
    await until(async () => ((await server(id)) === undefined ? true : undefined));
    expect(await volume(created.id)).toMatchObject({ status: 'available', attachments: [] });
    const refused = await call(`${cinder}/volumes/${created.id}`, tok, { method: 'DELETE' });
    expect(refused.status).toBe(400);
    expect((await json(refused)).badRequest.message).toBe('Invalid volume: Volume still has 1 dependent snapshots.');

    // A server booted from that image gets a new volume from the snapshot.
    const again = await post(`${nova}/servers`, { server: { name: 'from-snap', imageRef: imageId, flavorRef: '2', networks: [{ uuid: privateNet }] } });
    expect(again.status).toBe(202);
    const againId = (await json(again)).server.id;
    const a = await until(async () => ((await server(againId)).status === 'ACTIVE' ? server(againId) : undefined));
    const [attached] = a['os-extended-volumes:volumes_attached'];
    expect(attached.id).not.toBe(created.id);
    expect((await volume(attached.id)).snapshot_id).toBe(snapId);
    await call(`${nova}/servers/${againId}`, tok, { method: 'DELETE', headers: jsonHeaders });
    await until(async () => ((await volume(attached.id)) === undefined ? true : undefined));

    expect((await call(`${cinder}/snapshots/${snapId}`, tok, { method: 'DELETE' })).status).toBe(202);
    await until(async () => ((await snapshot(snapId)) === undefined ? true : undefined));
    expect((await call(`${cinder}/volumes/${created.id}`, tok, { method: 'DELETE' })).status).toBe(202);
    expect((await volume(created.id)).status).toBe('deleting');
    await until(async () => ((await volume(created.id)) === undefined ? true : undefined));
    emu.state.removeImage(R, imageId);
  }, 60_000);

  it('a snapshot still creating cannot be deleted, a volume with none can (Cinder\'s rules)', async () => {
    const v = (await json(await post(`${cinder}/volumes`, { volume: { name: 'plain', size: 3, imageRef: debianId } }))).volume;
    await until(async () => ((await volume(v.id)).status === 'available' ? true : undefined));
    expect(emu.compute.volumes(R).find((x) => x.id === v.id)).toMatchObject({ name: 'plain', status: 'available', attachedTo: null });
    const boot = await post(`${nova}/servers`, {
      server: { name: 'bfv2', flavorRef: '2', networks: [{ uuid: privateNet }], block_device_mapping_v2: [{ boot_index: 0, uuid: v.id, source_type: 'volume', destination_type: 'volume', delete_on_termination: false }] },
    });
    const id = (await json(boot)).server.id;
    await until(async () => ((await server(id)).status === 'ACTIVE' ? true : undefined));
    const imageId = (await json(await post(`${nova}/servers/${id}/action`, { createImage: { name: 'bfv2-image' } }))).image_id;
    const snapId = JSON.parse(emu.state.image(R, imageId)!.block_device_mapping as string)[0].snapshot_id;
    const early = await call(`${cinder}/snapshots/${snapId}`, tok, { method: 'DELETE' });
    expect(early.status).toBe(400);
    expect((await json(early)).badRequest.message).toMatch(/Snapshot status must be available or error/);
    await until(async () => ((await snapshot(snapId)).status === 'available' ? true : undefined));
    expect((await call(`${cinder}/snapshots/${snapId}`, tok, { method: 'DELETE' })).status).toBe(202);
    await until(async () => ((await snapshot(snapId)) === undefined ? true : undefined));
    // delete_on_termination false: the volume outlives the server, detached.
    await call(`${nova}/servers/${id}`, tok, { method: 'DELETE', headers: jsonHeaders });
    await until(async () => ((await server(id)) === undefined ? true : undefined));
    expect(await volume(v.id)).toMatchObject({ status: 'available', attachments: [] });
    expect((await call(`${cinder}/volumes/${v.id}`, tok, { method: 'DELETE' })).status).toBe(202);
    await until(async () => ((await volume(v.id)) === undefined ? true : undefined));
    emu.state.removeImage(R, imageId);
  }, 60_000);
});
