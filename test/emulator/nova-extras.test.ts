// Nova's smaller APIs in the emulator over real HTTP: limits, quota sets, availability zones, flavor extra specs, key pair generation, server metadata and tags.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { call, json, token, until } from './helpers.js';

describe('emulated Nova: limits, quotas, zones, extra specs, key pair generation, metadata, tags', () => {
  let emu: Emulator;
  let tok: string;
  let nova: string;
  let project: string;
  let serverId: string;
  const dir = mkdtempSync(join(tmpdir(), 'nova-extras-'));
  const v = (version: string): Record<string, string> => ({ 'openstack-api-version': `compute ${version}`, 'content-type': 'application/json' });
  const get = (path: string, version = '2.1'): Promise<Response> => call(`${nova}${path}`, tok, { headers: v(version) });
  const send = (method: string, path: string, version: string, body?: unknown): Promise<Response> =>
    call(`${nova}${path}`, tok, { method, headers: v(version), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });

  beforeAll(async () => {
    emu = await startEmulator({ regions: ['RegionOne'], bootDelayMs: 20, consoleDelayMs: 0, deleteDelayMs: 20 });
    tok = await token(emu);
    nova = `${emu.url}/compute/RegionOne/v2.1`;
    project = emu.users[0]?.project.id as string;
    const debian = emu.state.images('RegionOne').find((i) => i.name === 'debian-12-genericcloud') as { id: string };
    const res = await send('POST', '/servers', '2.52', { server: { name: 'extras', imageRef: debian.id, flavorRef: '3', networks: 'auto' } });
    serverId = (await json(res)).server.id;
    await until(async () => ((await json(await get(`/servers/${serverId}`))).server.status === 'ACTIVE' ? true : undefined));
  });
  afterAll(async () => {
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the absolute limits each microversion shows, with what the project uses', async () => {
    const at = async (version: string): Promise<Record<string, number>> => {
      const res = await get('/limits', version);
      expect(res.headers.get('openstack-api-version')).toBe(`compute ${version}`);
      const body = await json(res);
      expect(body.limits.rate).toEqual([]);
      return body.limits.absolute;
    };
    const all = await at('2.1');
    expect(all).toEqual({
      maxTotalRAMSize: 51200,
      maxTotalInstances: 10,
      maxTotalCores: 20,
      maxTotalKeypairs: 100,
      maxTotalFloatingIps: -1,
      maxServerMeta: 128,
      maxImageMeta: 128,
      maxPersonality: 5,
      maxPersonalitySize: 10240,
      maxSecurityGroups: -1,
      maxSecurityGroupRules: -1,
      maxServerGroups: 10,
      maxServerGroupMembers: 10,
      // One m1.medium server is up.
      totalRAMUsed: 4096,
      totalCoresUsed: 2,
      totalInstancesUsed: 1,
      totalFloatingIpsUsed: 0,
      totalSecurityGroupsUsed: 0,
      totalServerGroupsUsed: 0,
    });
    const gone236 = ['maxTotalFloatingIps', 'maxSecurityGroups', 'maxSecurityGroupRules', 'totalFloatingIpsUsed', 'totalSecurityGroupsUsed'];
    expect(Object.keys(await at('2.36')).sort()).toEqual(Object.keys(all).filter((k) => !gone236.includes(k)).sort());
    expect(Object.keys(await at('2.39'))).not.toContain('maxImageMeta');
    const at257 = Object.keys(await at('2.57'));
    expect(at257).not.toContain('maxPersonality');
    expect(at257).not.toContain('maxPersonalitySize');
    // Unknown query parameters are ignored until 2.75, refused from then on.
    expect((await get('/limits?colour=red', '2.74')).status).toBe(200);
    const strict = await get('/limits?colour=red', '2.75');
    expect(strict.status).toBe(400);
    expect(await json(strict)).toEqual({ badRequest: { code: 400, message: "Additional properties are not allowed ('colour' was unexpected)" } });
  });

  it('shows quota sets, with usage in /detail, the defaults, and 400 for a project Keystone does not know', async () => {
    const show = (await json(await get(`/os-quota-sets/${project}`))).quota_set;
    expect(show).toEqual({
      id: project,
      instances: 10,
      cores: 20,
      ram: 51200,
      metadata_items: 128,
      injected_files: 5,
      injected_file_content_bytes: 10240,
      injected_file_path_bytes: 255,
      key_pairs: 100,
      server_groups: 10,
      server_group_members: 10,
      fixed_ips: -1,
      floating_ips: -1,
      security_groups: -1,
      security_group_rules: -1,
    });
    const v257 = (await json(await get(`/os-quota-sets/${project}`, '2.57'))).quota_set;
    expect(Object.keys(v257).sort()).toEqual(['cores', 'id', 'instances', 'key_pairs', 'metadata_items', 'ram', 'server_group_members', 'server_groups']);
    const detail = (await json(await get(`/os-quota-sets/${project}/detail`, '2.57'))).quota_set;
    expect(detail.instances).toEqual({ in_use: 1, limit: 10, reserved: 0 });
    expect(detail.ram).toEqual({ in_use: 4096, limit: 51200, reserved: 0 });
    expect((await json(await get(`/os-quota-sets/${project}/defaults`, '2.57'))).quota_set).toEqual(v257);
    const unknown = await get('/os-quota-sets/0123456789abcdef0123456789abcdef');
    expect(unknown.status).toBe(400);
    expect(await json(unknown)).toEqual({ badRequest: { code: 400, message: 'Project ID 0123456789abcdef0123456789abcdef is not a valid project.' } });
    const update = await send('PUT', `/os-quota-sets/${project}`, '2.57', { quota_set: { instances: 20 } });
    expect(update.status).toBe(403);
    expect((await json(update)).forbidden.message).toBe("Policy doesn't allow os_compute_api:os-quota-sets:update to be performed.");
  });

  it('lists the nova zone, and in /detail the services per host with the internal zone', async () => {
    expect(await json(await get('/os-availability-zone'))).toEqual({
      availabilityZoneInfo: [{ zoneName: 'nova', zoneState: { available: true }, hosts: null }],
    });
    const detail = (await json(await get('/os-availability-zone/detail'))).availabilityZoneInfo;
    expect(detail.map((z: any) => z.zoneName)).toEqual(['internal', 'nova']);
    const compute = detail[1].hosts.emulator['nova-compute'];
    expect(compute).toEqual({ available: true, active: true, updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/) });
    expect(Object.keys(detail[0].hosts.emulator).sort()).toEqual(['nova-conductor', 'nova-scheduler']);
  });

  it('answers flavor extra specs: none on the emulator’s flavors, 404s in Nova’s words, writes refused by policy', async () => {
    expect(await json(await get('/flavors/2/os-extra_specs'))).toEqual({ extra_specs: {} });
    const key = await get('/flavors/2/os-extra_specs/hw:cpu_policy');
    expect(key.status).toBe(404);
    expect(await json(key)).toEqual({ itemNotFound: { code: 404, message: 'Flavor 2 has no extra specs with key hw:cpu_policy.' } });
    const flavor = await get('/flavors/42/os-extra_specs');
    expect(flavor.status).toBe(404);
    expect((await json(flavor)).itemNotFound.message).toBe('Flavor 42 could not be found.');
    const write = await send('POST', '/flavors/2/os-extra_specs', '2.1', { extra_specs: { 'hw:cpu_policy': 'dedicated' } });
    expect(write.status).toBe(403);
    expect((await json(write)).forbidden.message).toBe("Policy doesn't allow os_compute_api:os-flavor-extra-specs:create to be performed.");
  });

  it('generates an RSA key pair below 2.92 and returns its private key once; from 2.92 a public key is required', async () => {
    const res = await send('POST', '/os-keypairs', '2.10', { keypair: { name: 'generated' } });
    expect(res.status).toBe(201);
    const kp = (await json(res)).keypair;
    expect(Object.keys(kp).sort()).toEqual(['fingerprint', 'name', 'private_key', 'public_key', 'type', 'user_id']);
    expect(kp).toMatchObject({ name: 'generated', type: 'ssh', user_id: emu.users[0]?.id });
    expect(kp.private_key).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n[\s\S]+\n-----END RSA PRIVATE KEY-----\n$/);
    expect(kp.public_key).toMatch(/^ssh-rsa AAAAB3NzaC1yc2E\S+ Generated-by-Nova$/);
    // The private key is the public key's pair, and the fingerprint is Nova's MD5 of the key blob.
    const file = join(dir, 'generated');
    writeFileSync(file, kp.private_key, { mode: 0o600 });
    const derived = execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim().split(' ').slice(0, 2).join(' ');
    expect(kp.public_key.startsWith(`${derived} `)).toBe(true);
    const blob = Buffer.from(kp.public_key.split(' ')[1], 'base64');
    expect(kp.fingerprint).toBe((createHash('md5').update(blob).digest('hex').match(/../g) as string[]).join(':'));
    expect(execFileSync('ssh-keygen', ['-l', '-f', file], { encoding: 'utf8' })).toMatch(/^2048 /);
    // Shown later without the private key.
    const shown = (await json(await get('/os-keypairs/generated', '2.10'))).keypair;
    expect(shown.private_key).toBeUndefined();
    expect(shown.public_key).toBe(kp.public_key);

    const old = await send('POST', '/os-keypairs', '2.1', { keypair: { name: 'generated-21' } });
    expect(old.status).toBe(200);
    expect((await json(old)).keypair.type).toBeUndefined();
    const x509 = await send('POST', '/os-keypairs', '2.10', { keypair: { name: 'cert', type: 'x509' } });
    expect(x509.status).toBe(400);
    const required = await send('POST', '/os-keypairs', '2.92', { keypair: { name: 'generated-292' } });
    expect(required.status).toBe(400);
    expect((await json(required)).badRequest.message).toContain("'public_key' is a required property");
    const dup = await send('POST', '/os-keypairs', '2.10', { keypair: { name: 'generated' } });
    expect(dup.status).toBe(409);
    expect(emu.compute.keypairs('RegionOne').map((k) => k.name).sort()).toEqual(['generated', 'generated-21']);
  });

  it('sets, replaces, shows and deletes server metadata', async () => {
    const path = `/servers/${serverId}/metadata`;
    expect(await json(await send('POST', path, '2.1', { metadata: { role: 'web', tier: 'gold' } }))).toEqual({ metadata: { role: 'web', tier: 'gold' } });
    expect(await json(await get(`${path}/role`))).toEqual({ meta: { role: 'web' } });
    expect(await json(await send('PUT', `${path}/tier`, '2.1', { meta: { tier: 'silver' } }))).toEqual({ meta: { tier: 'silver' } });
    const mismatch = await send('PUT', `${path}/tier`, '2.1', { meta: { other: 'x' } });
    expect(mismatch.status).toBe(400);
    expect((await json(mismatch)).badRequest.message).toBe('Request body and URI mismatch');
    expect((await send('DELETE', `${path}/role`, '2.1')).status).toBe(204);
    const gone = await get(`${path}/role`);
    expect(gone.status).toBe(404);
    expect((await json(gone)).itemNotFound.message).toBe('Metadata item was not found');
    expect(await json(await send('PUT', path, '2.1', { metadata: { only: 'this' } }))).toEqual({ metadata: { only: 'this' } });
    expect((await json(await get(`/servers/${serverId}`))).server.metadata).toEqual({ only: 'this' });
    const tooMany = Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`k${i}`, 'v']));
    const quota = await send('PUT', path, '2.1', { metadata: tooMany });
    expect(quota.status).toBe(403);
    expect((await json(quota)).forbidden.message).toBe('Maximum number of metadata items exceeds 128');
    expect((await send('POST', path, '2.1', { meta: {} })).status).toBe(400);
    expect((await get('/servers/5c3cc5d5-0000-4000-8000-0000000000ff/metadata')).status).toBe(404);
  });

  it('adds, lists, replaces and removes server tags from 2.26', async () => {
    const path = `/servers/${serverId}/tags`;
    expect((await get(path, '2.25')).status).toBe(404);
    const added = await send('PUT', `${path}/blue`, '2.26');
    expect(added.status).toBe(201);
    expect(added.headers.get('location')).toBe(`${nova}/servers/${serverId}/tags/blue`);
    expect((await send('PUT', `${path}/blue`, '2.26')).status).toBe(204);
    expect((await get(`${path}/blue`, '2.26')).status).toBe(204);
    const missing = await get(`${path}/red`, '2.26');
    expect(missing.status).toBe(404);
    expect((await json(missing)).itemNotFound.message).toBe(`Server ${serverId} has no tag 'red'`);
    const bad = await send('PUT', `${path}/a,b`, '2.26');
    expect(bad.status).toBe(400);
    expect((await json(bad)).badRequest.message).toMatch(/^Tag 'a,b' is invalid\. It must be a non empty string without characters '\/' and ','\./);
    expect(await json(await send('PUT', path, '2.26', { tags: ['x', 'y'] }))).toEqual({ tags: ['x', 'y'] });
    expect(await json(await get(path, '2.26'))).toEqual({ tags: ['x', 'y'] });
    expect((await json(await get(`/servers/${serverId}`, '2.26'))).server.tags).toEqual(['x', 'y']);
    expect((await send('DELETE', `${path}/x`, '2.26')).status).toBe(204);
    expect((await send('DELETE', `${path}/x`, '2.26')).status).toBe(404);
    expect((await send('DELETE', path, '2.26')).status).toBe(204);
    expect(await json(await get(path, '2.26'))).toEqual({ tags: [] });
  });
});
