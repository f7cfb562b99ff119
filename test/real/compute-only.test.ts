// The emulator's compute-only mode beside the real Keystone + Glance: boot from real Glance, SSH in, snapshot back into it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startComputeOnly, type ComputeOnly } from '../../src/emulator/compute-only.js';
import { EMPTY_TAR } from '../../src/emulator/sandbox.js';
import { connectSsh } from '../../src/ssh/connection.js';
import { realTier, type RegionName } from './env.js';
import { eventually } from '../helpers/wait.js';
import { adminToken, createImage, deleteAllImages } from './glance-seed.js';

const tier = realTier();
const work = mkdtempSync(join(tmpdir(), 'imagesync-real-compute-'));
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'id')]);
const privateKey = readFileSync(join(work, 'id'), 'utf8');
const publicKey = readFileSync(join(work, 'id.pub'), 'utf8').trim();

async function api(method: 'GET' | 'POST' | 'DELETE', url: string, token: string, body?: unknown, version = '2.1') {
  const res = await request(url, {
    method,
    headers: {
      'x-auth-token': token,
      accept: 'application/json',
      'openstack-api-version': `compute ${version}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text === '' ? undefined : (JSON.parse(text) as any) };
}

describe('compute-only emulator beside the real tier', () => {
  let co: ComputeOnly;
  let token: string;
  let network: Record<RegionName, string>;

  beforeAll(async () => {
    await deleteAllImages(tier);
    token = await adminToken(tier);
    network = tier.network;
    const port = (u: string): number => Number(new URL(u).port);
    co = await startComputeOnly({
      keystoneUrl: tier.authUrl,
      regions: {
        RegionOne: { computePort: port(tier.compute.RegionOne), networkPort: port(network.RegionOne), glanceUrl: tier.glance.RegionOne },
        RegionTwo: { computePort: port(tier.compute.RegionTwo), networkPort: port(network.RegionTwo), glanceUrl: tier.glance.RegionTwo },
      },
      knobs: { bootDelayMs: 0, consoleDelayMs: 0, snapshotDelayMs: 0 },
    });
    expect(co.urls.RegionOne?.compute).toBe(tier.compute.RegionOne);
    expect(co.urls.RegionOne?.network).toBe(network.RegionOne);
  });
  afterAll(async () => {
    await co?.close();
    await deleteAllImages(tier).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });

  it('refuses a token the real Keystone does not know', async () => {
    const res = await api('GET', `${tier.compute.RegionOne}/flavors`, 'gAAAAAnot-a-token');
    expect(res.status).toBe(401);
  });

  it('boots from an image in real Glance, runs a step over SSH, and snapshots into real Glance', async () => {
    const base = await createImage(tier, 'RegionOne', { name: 'rc-debian', data: EMPTY_TAR, properties: { default_user: 'debian', os_distro: 'debian' } });
    const nova = tier.compute.RegionOne;
    expect((await api('POST', `${nova}/os-keypairs`, token, { keypair: { name: 'rc', public_key: publicKey } }, '2.92')).status).toBe(201);
    const priv = (await api('GET', `${network.RegionOne}/v2.0/networks?name=private`, token)).body.networks[0].id;
    const created = await api('POST', `${nova}/servers`, token, { server: { name: 'rc-builder', imageRef: base.id, flavorRef: '2', key_name: 'rc', networks: [{ uuid: priv }] } }, '2.52');
    expect(created.status).toBe(202);
    const id = created.body.server.id as string;
    const server = await eventually(async () => {
      const s = (await api('GET', `${nova}/servers/${id}`, token)).body.server;
      if (s.status === 'ERROR') throw new Error(`server went to ERROR: ${s.fault?.message}`);
      return s.status === 'ACTIVE' ? s : undefined;
    });
    const output = (await api('POST', `${nova}/servers/${id}/action`, token, { 'os-getConsoleOutput': { length: 50 } })).body.output as string;
    const fps = [...output.matchAll(/cloud-init: \d+ (SHA256:\S+) root@rc-builder \(/g)].map((m) => m[1] as string);
    expect(fps).toHaveLength(2);
    const conn = await connectSsh({ host: server.addresses.private[0].addr, port: 22, username: 'debian', privateKey, hostKey: { kind: 'fingerprints', sha256: fps } });
    await conn.sudo("sh -c 'echo built-for-real > /etc/imagesync-real'");
    await conn.close();

    const snap = await api('POST', `${nova}/servers/${id}/action`, token, { createImage: { name: 'rc-snapshot', metadata: { built_by: 'imagesync-test' } } }, '2.45');
    expect(snap.status).toBe(202);
    const imageId = snap.body.image_id as string;
    const image = await eventually(async () => {
      const r = await request(`${tier.glance.RegionOne}/v2/images/${imageId}`, { headers: { 'x-auth-token': token, accept: 'application/json' } });
      const img = (await r.body.json()) as any;
      if (img.status === 'killed') throw new Error('snapshot was killed');
      return img.status === 'active' ? img : undefined;
    });
    expect(image).toMatchObject({ name: 'rc-snapshot', image_type: 'snapshot', instance_uuid: id, base_image_ref: base.id, built_by: 'imagesync-test', default_user: 'debian', disk_format: 'raw', container_format: 'bare' });
    const file = await request(`${tier.glance.RegionOne}/v2/images/${imageId}/file`, { headers: { 'x-auth-token': token } });
    expect(file.statusCode).toBe(200);
    const data = Buffer.from(await file.body.arrayBuffer());
    writeFileSync(join(work, 'snap.tar'), data);
    expect(execFileSync('tar', ['-xOf', join(work, 'snap.tar'), './etc/imagesync-real'], { encoding: 'utf8' })).toBe('built-for-real\n');

    expect((await api('DELETE', `${nova}/servers/${id}`, token)).status).toBe(204);
    expect((await api('DELETE', `${nova}/os-keypairs/rc`, token, undefined, '2.2')).status).toBe(204);
    await eventually(async () => (co.compute.servers('RegionOne').length === 0 ? true : undefined));
  });
});
