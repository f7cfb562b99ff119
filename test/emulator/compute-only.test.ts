// Compute-only mode against a separate Keystone + Glance (here the emulator's, over HTTP): token checks, Glance I/O, SSH.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startComputeOnly, type ComputeOnly } from '../../src/emulator/compute-only.js';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { connectSsh } from '../../src/ssh/connection.js';
import { eventually } from '../helpers/wait.js';
import { call, json, token } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'compute-only-test-'));
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'id')]);
const privateKey = readFileSync(join(work, 'id'), 'utf8');
const publicKey = readFileSync(join(work, 'id.pub'), 'utf8').trim();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('compute-only mode', () => {
  let identity: Emulator;
  let co: ComputeOnly;
  let tok: string;
  let nova: string;
  let neutron: string;
  const h = (version: string): Record<string, string> => ({ 'openstack-api-version': `compute ${version}`, 'content-type': 'application/json' });

  beforeAll(async () => {
    identity = await startEmulator({ regions: ['RegionOne'] });
    tok = await token(identity);
    const [computePort, networkPort] = [await freePort(), await freePort()];
    co = await startComputeOnly({
      keystoneUrl: identity.authUrl,
      regions: { RegionOne: { computePort, networkPort, glanceUrl: `${identity.url}/image/RegionOne` } },
      knobs: { bootDelayMs: 0, consoleDelayMs: 0, snapshotDelayMs: 0 },
    });
    nova = co.urls.RegionOne?.compute as string;
    neutron = co.urls.RegionOne?.network as string;
  });
  afterAll(async () => {
    await co?.close();
    await identity?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('serves version documents without a token and refuses a token Keystone does not know', async () => {
    const doc = await json(await call(`${nova.replace(/\/v2\.1$/, '')}/`, undefined));
    expect(doc.versions[0]).toMatchObject({ id: 'v2.1', version: '2.96', min_version: '2.1' });
    const res = await call(`${nova}/flavors/detail`, 'gAAAAAbogus', { headers: { accept: 'application/json' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(`Keystone uri="${identity.url}/identity"`);
    expect((await call(`${neutron}/v2.0/networks`, undefined)).status).toBe(401);
  });

  it('validates a token once with Keystone and caches it', async () => {
    // A token no other test has used, so none has been validated yet.
    const fresh = await token(identity);
    const before = co.validations;
    for (let i = 0; i < 5; i++) expect((await call(`${nova}/flavors`, fresh)).status).toBe(200);
    expect(co.validations - before).toBe(1);
  });

  it('boots from an image in that Glance, and snapshots into it with the caller’s token', async () => {
    const debian = identity.state.images('RegionOne').find((i) => i.name === 'debian-12-genericcloud') as { id: string };
    expect((await call(`${nova}/os-keypairs`, tok, { method: 'POST', headers: h('2.92'), body: JSON.stringify({ keypair: { name: 'co', public_key: publicKey } }) })).status).toBe(201);
    const net = (await json(await call(`${neutron}/v2.0/networks?name=private`, tok))).networks[0].id;
    const created = await call(`${nova}/servers`, tok, {
      method: 'POST',
      headers: h('2.52'),
      body: JSON.stringify({ server: { name: 'co-1', imageRef: debian.id, flavorRef: '2', key_name: 'co', networks: [{ uuid: net }] } }),
    });
    expect(created.status).toBe(202);
    const createdBody = await json(created);
    const id = createdBody.server.id;
    expect(createdBody.server.links[0].href).toBe(`${nova}/servers/${id}`);
    const server = await eventually(async () => {
      const s = (await json(await call(`${nova}/servers/${id}`, tok))).server;
      if (s.status === 'ERROR') throw new Error(s.fault.message);
      return s.status === 'ACTIVE' ? s : undefined;
    });
    const output = (await json(await call(`${nova}/servers/${id}/action`, tok, { method: 'POST', headers: h('2.1'), body: JSON.stringify({ 'os-getConsoleOutput': {} }) }))).output as string;
    const fps = [...output.matchAll(/cloud-init: \d+ (SHA256:\S+) root@/g)].map((m) => m[1] as string);
    expect(fps).toHaveLength(2);
    const conn = await connectSsh({ host: server.addresses.private[0].addr, port: 22, username: 'debian', privateKey, hostKey: { kind: 'fingerprints', sha256: fps } });
    await conn.sudo("sh -c 'echo compute-only > /etc/imagesync-marker'");
    await conn.close();

    const snap = await call(`${nova}/servers/${id}/action`, tok, { method: 'POST', headers: h('2.1'), body: JSON.stringify({ createImage: { name: 'co-snap' } }) });
    expect(snap.status).toBe(202);
    expect(snap.headers.get('location')).toMatch(new RegExp(`^${identity.url}/image/RegionOne/v2/images/`));
    const imageId = (snap.headers.get('location') as string).split('/').pop() as string;
    await eventually(async () => (identity.state.image('RegionOne', imageId)?.status === 'active' ? true : undefined));
    const img = identity.state.image('RegionOne', imageId);
    expect(img).toMatchObject({ name: 'co-snap', image_type: 'snapshot', instance_uuid: id, owner: identity.users[0]?.project.id, disk_format: 'raw' });
    const data = identity.state.imageData('RegionOne', imageId) as Buffer;
    writeFileSync(join(work, 's.tar'), data);
    expect(execFileSync('tar', ['-xOf', join(work, 's.tar'), './etc/imagesync-marker'], { encoding: 'utf8' })).toBe('compute-only\n');

    expect((await call(`${nova}/servers/${id}`, tok, { method: 'DELETE' })).status).toBe(204);
    await eventually(async () => (co.compute.servers('RegionOne').length === 0 ? true : undefined));
  });
});
