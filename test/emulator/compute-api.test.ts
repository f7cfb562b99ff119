// Nova flavors/keypairs/servers and Neutron networks of the emulator, over real HTTP: shapes, statuses, microversions.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useEmulator } from '../helpers/emulator.js';
import { eventually } from '../helpers/wait.js';
import { call, json, postTokens, passwordAuth, token } from './helpers.js';

const keyDir = mkdtempSync(join(tmpdir(), 'compute-api-keys-'));
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'api-test', '-f', join(keyDir, 'id')]);
const publicKey = readFileSync(join(keyDir, 'id.pub'), 'utf8').trim();
const expectedMd5 = execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', join(keyDir, 'id.pub')], { encoding: 'utf8' }).split(' ')[1]?.replace(/^MD5:/, '');

describe('emulated Nova servers API and Neutron', () => {
  let tok: string;
  let nova: string;
  let neutron: string;
  let debianId: string;
  let privateNet: string;
  const v = (version: string, extra: Record<string, string> = {}): Record<string, string> => ({
    'openstack-api-version': `compute ${version}`,
    'content-type': 'application/json',
    ...extra,
  });
  const post = (path: string, version: string, body: unknown): Promise<Response> =>
    call(`${nova}${path}`, tok, { method: 'POST', headers: v(version), body: JSON.stringify(body) });

  const emu = useEmulator({ regions: ['RegionOne', 'RegionTwo'], bootDelayMs: 50, consoleDelayMs: 0, deleteDelayMs: 150 });
  // Servers, keypairs and faults of one test are gone before the next.
  afterEach(() => emu.sweep());
  beforeAll(async () => {
    tok = await token(emu);
    nova = `${emu.url}/compute/RegionOne/v2.1`;
    neutron = `${emu.url}/network/RegionOne`;
    debianId = (emu.state.images('RegionOne').find((i) => i.name === 'debian-12-genericcloud') as { id: string }).id;
    const nets = await json(await call(`${neutron}/v2.0/networks?name=private`, tok));
    privateNet = nets.networks[0].id;
  });
  afterAll(() => rmSync(keyDir, { recursive: true, force: true }));

  it('lists network endpoints in the catalog, unversioned, and serves the Neutron version document', async () => {
    const { catalog } = (await json(await postTokens(emu, passwordAuth()))).token;
    const network = catalog.find((s: { type: string }) => s.type === 'network');
    expect(network.endpoints.filter((e: any) => e.interface === 'public').map((e: any) => e.url)).toEqual([
      `${emu.url}/network/RegionOne`,
      `${emu.url}/network/RegionTwo`,
    ]);
    const doc = await json(await call(`${neutron}/`, undefined));
    expect(doc.versions[0]).toMatchObject({ id: 'v2.0', status: 'CURRENT' });
  });

  it('seeds private (internal) and public (external) networks per region, filtered by name', async () => {
    const all = await json(await call(`${neutron}/v2.0/networks`, tok));
    expect(all.networks.map((n: any) => [n.name, n['router:external']]).sort()).toEqual([
      ['private', false],
      ['public', true],
    ]);
    const pub = await json(await call(`${neutron}/v2.0/networks?name=public`, tok));
    expect(pub.networks).toHaveLength(1);
    expect(pub.networks[0]).toMatchObject({ name: 'public', status: 'ACTIVE', 'router:external': true, admin_state_up: true, shared: true });
    expect(pub.networks[0].subnets).toHaveLength(1);
    const other = await json(await call(`${emu.url}/network/RegionTwo/v2.0/networks?name=private`, tok));
    expect(other.networks[0].id).not.toBe(privateNet);
    expect((await call(`${neutron}/v2.0/networks`, undefined)).status).toBe(401);
  });

  it('serves the seeded flavors with ids 1 to 4 (4 has no root disk: volume boots only) and 404 for others', async () => {
    const detail = await json(await call(`${nova}/flavors/detail`, tok));
    expect(detail.flavors.map((f: any) => [f.id, f.name, f.disk])).toEqual([
      ['1', 'm1.tiny', 1],
      ['2', 'm1.small', 20],
      ['3', 'm1.medium', 40],
      ['4', 'v1.small', 0],
    ]);
    expect(detail.flavors[1]).toMatchObject({ ram: 2048, vcpus: 1, disk: 20 });
    const one = await call(`${nova}/flavors/3`, tok, { headers: v('2.61') });
    expect(one.headers.get('openstack-api-version')).toBe('compute 2.61');
    expect((await json(one)).flavor).toMatchObject({ id: '3', name: 'm1.medium', extra_specs: {}, description: null });
    const missing = await call(`${nova}/flavors/99`, tok);
    expect(missing.status).toBe(404);
    expect(await json(missing)).toEqual({ itemNotFound: { code: 404, message: 'Flavor 99 could not be found.' } });
  });

  it('runs the keypair lifecycle with the status codes of each microversion', async () => {
    const old = await post('/os-keypairs', '2.1', { keypair: { name: 'kp-old', public_key: publicKey } });
    expect(old.status).toBe(200);
    const oldBody = (await json(old)).keypair;
    expect(oldBody).toEqual({ name: 'kp-old', public_key: publicKey, fingerprint: expectedMd5, user_id: emu.users[0]?.id });
    expect(expectedMd5).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);

    const created = await post('/os-keypairs', '2.2', { keypair: { name: 'kp-new', public_key: publicKey, type: 'ssh' } });
    expect(created.status).toBe(201);
    expect((await json(created)).keypair).toMatchObject({ name: 'kp-new', type: 'ssh', fingerprint: expectedMd5 });

    const dup = await post('/os-keypairs', '2.2', { keypair: { name: 'kp-new', public_key: publicKey } });
    expect(dup.status).toBe(409);
    expect(await json(dup)).toEqual({ conflictingRequest: { code: 409, message: "Key pair 'kp-new' already exists." } });

    const noKeyNew = await post('/os-keypairs', '2.92', { keypair: { name: 'kp-gen' } });
    expect(noKeyNew.status).toBe(400);
    expect((await json(noKeyNew)).badRequest.message).toContain("'public_key' is a required property");
    expect((await post('/os-keypairs', '2.2', { keypair: { name: 'bad', public_key: 'ssh-ed25519 nope' } })).status).toBe(400);

    const list = await json(await call(`${nova}/os-keypairs`, tok, { headers: v('2.2') }));
    expect(list.keypairs.map((k: any) => k.keypair.name)).toEqual(['kp-new', 'kp-old']);
    expect(list.keypairs[0]).toEqual({ keypair: { name: 'kp-new', public_key: publicKey, fingerprint: expectedMd5, type: 'ssh' } });
    const show = await json(await call(`${nova}/os-keypairs/kp-new`, tok, { headers: v('2.2') }));
    expect(show.keypair).toMatchObject({ name: 'kp-new', user_id: emu.users[0]?.id, deleted: false, type: 'ssh' });
    expect(emu.compute.keypairs('RegionOne').map((k) => k.name).sort()).toEqual(['kp-new', 'kp-old']);
    expect(emu.compute.keypairs('RegionTwo')).toEqual([]);

    expect((await call(`${nova}/os-keypairs/kp-old`, tok, { method: 'DELETE', headers: v('2.1') })).status).toBe(202);
    expect((await call(`${nova}/os-keypairs/kp-new`, tok, { method: 'DELETE', headers: v('2.2') })).status).toBe(204);
    const gone = await call(`${nova}/os-keypairs/kp-new`, tok);
    expect(gone.status).toBe(404);
    expect((await json(gone)).itemNotFound.code).toBe(404);
    expect(emu.compute.keypairs('RegionOne')).toEqual([]);
  });

  it('refuses bad boots with 400 in Nova’s error shape', async () => {
    await post('/os-keypairs', '2.2', { keypair: { name: 'kp-boot', public_key: publicKey } });
    const base = { name: 'bad-boot', imageRef: debianId, flavorRef: '2', key_name: 'kp-boot', networks: [{ uuid: privateNet }] };
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ imageRef: '00000000-0000-4000-8000-000000000000' }, /^Image 00000000-0000-4000-8000-000000000000 could not be found\.$/],
      [{ flavorRef: '42' }, /^Flavor 42 could not be found\.$/],
      [{ networks: [{ uuid: '11111111-1111-4111-8111-111111111111' }] }, /^Network 11111111-1111-4111-8111-111111111111 could not be found\.$/],
      [{ key_name: 'nope' }, /^Invalid key_name provided\.$/],
      // debian-12-genericcloud has min_disk 2; m1.tiny has a 1 GB disk.
      [{ flavorRef: '1' }, /^Flavor's disk is too small for requested image\./],
    ];
    for (const [change, message] of cases) {
      const res = await post('/servers', '2.52', { server: { ...base, ...change } });
      expect(res.status).toBe(400);
      const body = await json(res);
      expect(Object.keys(body)).toEqual(['badRequest']);
      expect(body.badRequest.code).toBe(400);
      expect(body.badRequest.message).toMatch(message);
    }
    const killed = emu.state.addImage('RegionOne', { name: 'dead', status: 'killed' });
    const inactive = await post('/servers', '2.52', { server: { ...base, imageRef: killed.id } });
    expect((await json(inactive)).badRequest.message).toBe(`Image ${killed.id} is not active.`);
    const noNetworks = await post('/servers', '2.37', { server: { name: 'x', imageRef: debianId, flavorRef: '2' } });
    expect(noNetworks.status).toBe(400);
    expect((await json(noNetworks)).badRequest.message).toContain("'networks' is a required property");
    const tagsTooEarly = await post('/servers', '2.51', { server: { ...base, tags: ['a'] } });
    expect((await json(tagsTooEarly)).badRequest.message).toContain("'tags' was unexpected");
    expect(emu.compute.servers('RegionOne')).toEqual([]);
  });

  it('answers 404 in Nova’s shape for an unknown server', async () => {
    const res = await call(`${nova}/servers/6f1c9c8e-0000-4000-8000-000000000000`, tok);
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({
      itemNotFound: { code: 404, message: 'Instance 6f1c9c8e-0000-4000-8000-000000000000 could not be found.' },
    });
  });

  it('puts a server in ERROR with a fault when told, and counts serverErrorRate', async () => {
    // BUILD lasts bootDelayMs before the fault shows: long enough for the first GET on a busy machine.
    emu.setFaults({ nextServerError: 'No valid host was found. ', bootDelayMs: 2_000 });
    const res = await post('/servers', '2.1', { server: { name: 'doomed', imageRef: debianId, flavorRef: '2' } });
    expect(res.status).toBe(202);
    const { id } = (await json(res)).server;
    const first = (await json(await call(`${nova}/servers/${id}`, tok))).server;
    expect(first.status).toBe('BUILD');
    expect(first['OS-EXT-STS:vm_state']).toBe('building');
    const server = await eventually(async () => {
      const s = (await json(await call(`${nova}/servers/${id}`, tok))).server;
      return s.status === 'BUILD' ? undefined : s;
    });
    expect(server.status).toBe('ERROR');
    expect(server['OS-EXT-STS:vm_state']).toBe('error');
    expect(server.fault).toEqual({ code: 500, message: 'No valid host was found. ', created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) });
    expect(server.addresses).toEqual({});
    expect(emu.faults.nextServerError).toBeNull();
    const console409 = await post(`/servers/${id}/action`, '2.1', { 'os-getConsoleOutput': { length: 10 } });
    expect(console409.status).toBe(409);
    const snap409 = await post(`/servers/${id}/action`, '2.1', { createImage: { name: 'never' } });
    expect(snap409.status).toBe(409);
    expect((await json(snap409)).conflictingRequest.message).toBe(`Cannot 'createImage' instance ${id} while it is in vm_state error`);

    emu.setFaults({ serverErrorRate: 1, bootDelayMs: 50 });
    try {
      const r2 = await post('/servers', '2.1', { server: { name: 'doomed-2', imageRef: debianId, flavorRef: '2' } });
      const id2 = (await json(r2)).server.id;
      const s2 = await eventually(async () => {
        const s = (await json(await call(`${nova}/servers/${id2}`, tok))).server;
        return s.status === 'BUILD' ? undefined : s;
      });
      expect(s2.fault.message).toBe('No valid host was found. ');
    } finally {
      emu.setFaults({ serverErrorRate: 0 });
    }
    expect(() => emu.setFaults({ serverErrorRate: 2 })).toThrow(RangeError);
  });

  it('filters servers by name regex, status and tags, and deletes with 204 then 404', async () => {
    emu.setFaults({ serverErrorRate: 1 });
    const ids: string[] = [];
    try {
      for (const [name, tags] of [['web-1', ['a', 'b']], ['web-2', ['b']], ['db-1', ['c']]] as const) {
        const r = await post('/servers', '2.52', { server: { name, imageRef: debianId, flavorRef: '2', networks: 'none', tags, metadata: { role: name } } });
        expect(r.status).toBe(202);
        ids.push((await json(r)).server.id);
      }
    } finally {
      emu.setFaults({ serverErrorRate: 0 });
    }
    const names = async (query: string, version = '2.26'): Promise<string[]> =>
      (await json(await call(`${nova}/servers/detail?${query}`, tok, { headers: v(version) }))).servers.map((s: any) => s.name).sort();
    const mine = (list: string[]): string[] => list.filter((n) => ['web-1', 'web-2', 'db-1'].includes(n));
    expect(mine(await names('name=^web-'))).toEqual(['web-1', 'web-2']);
    expect(mine(await names('tags=a,b'))).toEqual(['web-1']);
    expect(mine(await names('tags-any=a,c'))).toEqual(['db-1', 'web-1']);
    const detail = (await json(await call(`${nova}/servers/${ids[0]}`, tok, { headers: v('2.26') }))).server;
    expect(detail).toMatchObject({ name: 'web-1', tags: ['a', 'b'], metadata: { role: 'web-1' }, key_name: null, image: { id: debianId } });
    expect(detail.flavor).toMatchObject({ id: '2' });
    const newer = (await json(await call(`${nova}/servers/${ids[0]}`, tok, { headers: v('2.47') }))).server;
    expect(newer.flavor).toMatchObject({ original_name: 'm1.small', ram: 2048, vcpus: 1, disk: 20 });
    const older = (await json(await call(`${nova}/servers/${ids[0]}`, tok, { headers: v('2.25') }))).server;
    expect(older.tags).toBeUndefined();
    await eventually(async () => ((await names('status=ERROR')).includes('db-1') ? true : undefined));
    expect(mine(await names('status=error'))).toEqual(['db-1', 'web-1', 'web-2']);
    expect(mine(await names('status=ACTIVE'))).toEqual([]);

    // A deleted server still answers for deleteDelayMs: 3 s, so that the GET right after the DELETE
    // finds it deleting even on a busy machine.
    emu.setFaults({ deleteDelayMs: 3_000 });
    for (const id of ids) {
      const del = await call(`${nova}/servers/${id}`, tok, { method: 'DELETE' });
      expect(del.status).toBe(204);
      const during = (await json(await call(`${nova}/servers/${id}`, tok))).server;
      expect(during['OS-EXT-STS:task_state']).toBe('deleting');
    }
    for (const id of ids) await eventually(async () => ((await call(`${nova}/servers/${id}`, tok)).status === 404 ? true : undefined));
    await eventually(async () => (emu.compute.servers('RegionOne').some((s) => ids.includes(s.id)) ? undefined : true));
  });

  it('creates, associates, lists and deletes floating IPs on the external network only', async () => {
    const pub = (await json(await call(`${neutron}/v2.0/networks?name=public`, tok))).networks[0].id;
    const onPrivate = await call(`${neutron}/v2.0/floatingips`, tok, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ floatingip: { floating_network_id: privateNet } }),
    });
    expect(onPrivate.status).toBe(400);
    expect((await json(onPrivate)).NeutronError.type).toBe('BadRequest');
    const res = await call(`${neutron}/v2.0/floatingips`, tok, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ floatingip: { floating_network_id: pub } }),
    });
    expect(res.status).toBe(201);
    const fip = (await json(res)).floatingip;
    expect(fip).toMatchObject({ floating_network_id: pub, port_id: null, status: 'DOWN' });
    expect(fip.floating_ip_address).toMatch(/^127\.0\.\d+\.\d+$/);
    expect(fip.floating_ip_address).not.toBe('127.0.0.1');
    const badPort = await call(`${neutron}/v2.0/floatingips/${fip.id}`, tok, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ floatingip: { port_id: '22222222-2222-4222-8222-222222222222' } }),
    });
    expect(badPort.status).toBe(404);
    expect((await json(badPort)).NeutronError.type).toBe('PortNotFound');
    const listed = await json(await call(`${neutron}/v2.0/floatingips?floating_ip_address=${fip.floating_ip_address}`, tok));
    expect(listed.floatingips.map((f: any) => f.id)).toEqual([fip.id]);
    expect(emu.compute.floatingIps('RegionOne').map((f) => f.id)).toEqual([fip.id]);
    expect((await call(`${neutron}/v2.0/floatingips/${fip.id}`, tok, { method: 'DELETE' })).status).toBe(204);
    expect((await call(`${neutron}/v2.0/floatingips/${fip.id}`, tok)).status).toBe(404);
    expect(emu.compute.floatingIps('RegionOne')).toEqual([]);
  });
});
