// The real `openstack` client (Debian's python-openstackclient) drives the emulator through a user's session; each output parsed and checked.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { assertNothingLeft } from '../helpers/leftovers.js';
import { createOpenstackCli, errorLine, requireOpenstackBinary, type OpenstackCli } from '../helpers/openstack-cli.js';

const REGIONS = ['RegionOne', 'RegionTwo'];
// Each call starts a Python client (about 0.7 s, several seconds on a busy machine); the boot, snapshot and deletes wait too.
const SESSION_TIMEOUT_MS = 600_000;

function md5Fingerprint(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.trim().split(/\s+/)[1] as string, 'base64');
  return (createHash('md5').update(blob).digest('hex').match(/../g) as string[]).join(':');
}

/** The first bytes a TCP server sends (an sshd's banner), or the error. */
function banner(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = netConnect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      resolve('timeout');
    }, 20_000);
    s.once('data', (d: Buffer) => {
      clearTimeout(timer);
      s.destroy();
      resolve(d.toString('utf8'));
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      resolve(`error: ${err.message}`);
    });
  });
}

describe('the openstack CLI against the emulator', () => {
  let emu: Emulator;
  let cli: OpenstackCli;
  let dir: string;
  const issued = new Set<string>();
  let stopWatching: (() => void) | undefined;

  beforeAll(async () => {
    // A missing client fails the suite (with how to install it); it never skips.
    requireOpenstackBinary();
    dir = mkdtempSync(join(tmpdir(), 'openstack-cli-test-'));
    emu = await startEmulator({ regions: REGIONS, bootDelayMs: 200, consoleDelayMs: 0, snapshotDelayMs: 200, deleteDelayMs: 100 });
    stopWatching = emu.onToken((t) => issued.add(t));
    await emu.writeCloudsYaml(join(dir, 'clouds.yaml'), 'emulator');
    cli = createOpenstackCli({ cloudsYaml: join(dir, 'clouds.yaml'), cloud: 'emulator', home: dir });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cli-test', '-f', join(dir, 'id')]);
    writeFileSync(join(dir, 'image.raw'), Buffer.alloc(256 * 1024, 'imagesync'));
  });
  afterAll(async () => {
    stopWatching?.();
    await emu?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('issues a token and reads the catalog, endpoints, regions, quotas and zones', async () => {
    const tok = await cli.json(['token', 'issue']);
    expect(issued.has(tok.id)).toBe(true);
    expect(tok.project_id).toBe(emu.users[0]?.project.id);
    expect(tok.user_id).toBe(emu.users[0]?.id);
    expect(Date.parse(tok.expires.replace(/\+0000$/, 'Z'))).toBeGreaterThan(Date.now());

    const catalog = await cli.json(['catalog', 'list']);
    expect(catalog.map((s: any) => s.Type).sort()).toEqual(['compute', 'identity', 'image', 'network', 'volumev3']);
    const image = catalog.find((s: any) => s.Type === 'image');
    for (const region of REGIONS) {
      expect(image.Endpoints).toContainEqual(expect.objectContaining({ region, interface: 'public', url: `${emu.url}/image/${region}` }));
    }

    const endpoints = await cli.json(['endpoint', 'list', '--service', 'image', '--interface', 'public']);
    expect(endpoints.map((e: any) => [e.Region, e.URL]).sort()).toEqual(REGIONS.map((r) => [r, `${emu.url}/image/${r}`]));
    expect(endpoints.every((e: any) => e['Service Name'] === 'glance' && e.Enabled === true)).toBe(true);

    const regions = await cli.json(['region', 'list']);
    expect(regions.map((r: any) => r.Region)).toEqual(REGIONS);

    const quota = await cli.json(['quota', 'show']);
    expect(quota).toMatchObject({ instances: 10, cores: 20, ram: 51200, 'key-pairs': 100, secgroups: 10, 'secgroup-rules': 100, 'floating-ips': 50 });
    expect(quota.project).toBe(emu.users[0]?.project.id);

    const zones = await cli.json(['availability', 'zone', 'list', '--compute']);
    expect(zones).toContainEqual({ 'Zone Name': 'nova', 'Zone Status': 'available' });
  }, SESSION_TIMEOUT_MS);

  it('uploads and finds an image, refuses a negative minimum, and reads flavors', async () => {
    const file = join(dir, 'image.raw');
    const created = await cli.json([
      'image', 'create', 'cli-upload', '--file', file, '--disk-format', 'raw', '--container-format', 'bare', '--property', 'purpose=cli', '--min-disk', '1',
    ]);
    // The client prints the image as created, before its upload (real Glance shows the same).
    expect(created).toMatchObject({ name: 'cli-upload', status: 'queued', disk_format: 'raw', min_disk: 1 });
    const shown = await cli.json(['image', 'show', 'cli-upload']);
    expect(shown).toMatchObject({ id: created.id, status: 'active', size: 256 * 1024 });
    expect(shown.checksum).toBe(createHash('md5').update(readFileSync(file)).digest('hex'));
    expect(shown.properties).toMatchObject({ purpose: 'cli' });
    const found = await cli.json(['image', 'list', '--name', 'cli-upload', '--property', 'purpose=cli', '--status', 'active']);
    expect(found.map((i: any) => i.ID)).toEqual([created.id]);

    const negative = await cli.run(['image', 'create', 'cli-negative', '--min-disk', '-1']);
    expect(negative.code).not.toBe(0);
    expect(errorLine(negative)).toMatch(/400.*for parameter .*min_disk.*Cannot be a negative value/);
    expect(emu.state.images('RegionOne').filter((i) => i.name === 'cli-negative')).toEqual([]);

    const flavors = await cli.json(['flavor', 'list']);
    expect(flavors.map((f: any) => f.Name)).toEqual(['m1.tiny', 'm1.small', 'm1.medium', 'v1.small']);
    const small = await cli.json(['flavor', 'show', 'm1.small']);
    expect(small).toMatchObject({ id: '2', ram: 2048, vcpus: 1, disk: 20, properties: {} });

    await cli.ok(['image', 'delete', 'cli-upload']);
    expect(emu.state.image('RegionOne', created.id)).toBeUndefined();
  }, SESSION_TIMEOUT_MS);

  it('makes key pairs: generated below 2.92, imported with a public key, refused without one from 2.92', async () => {
    const generated = await cli.ok(['keypair', 'create', 'cli-generated']);
    const privateKey = generated.stdout.slice(0, generated.stdout.indexOf('-----END RSA PRIVATE KEY-----') + 30);
    expect(privateKey).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    writeFileSync(join(dir, 'generated.pem'), privateKey, { mode: 0o600 });
    const derived = execFileSync('ssh-keygen', ['-y', '-f', join(dir, 'generated.pem')], { encoding: 'utf8' });
    const shown = await cli.json(['keypair', 'show', 'cli-generated']);
    expect(shown.fingerprint).toBe(md5Fingerprint(derived));

    const publicKey = readFileSync(join(dir, 'id.pub'), 'utf8');
    const imported = await cli.json(['keypair', 'create', '--public-key', join(dir, 'id.pub'), 'cli-imported']);
    expect(imported).toMatchObject({ name: 'cli-imported', type: 'ssh', fingerprint: md5Fingerprint(publicKey) });

    const refused = await cli.run(['keypair', 'create', '--os-compute-api-version', '2.92', 'cli-refused']);
    expect(refused.code).not.toBe(0);
    expect(errorLine(refused)).toMatch(/400.*'public_key' is a required property/);

    await cli.ok(['keypair', 'delete', 'cli-generated', 'cli-imported']);
    expect(emu.compute.keypairs('RegionOne')).toEqual([]);
  }, SESSION_TIMEOUT_MS);

  it('boots a server with a key pair, network and security group, reaches it through a floating IP, snapshots it and cleans up', async () => {
    await cli.ok(['keypair', 'create', '--public-key', join(dir, 'id.pub'), 'cli-key']);
    const networks = await cli.json(['network', 'list']);
    expect(networks.map((n: any) => n.Name).sort()).toEqual(['private', 'public']);

    const group = await cli.json(['security', 'group', 'create', '--description', 'SSH from the runner', 'cli-ssh']);
    expect(group).toMatchObject({ name: 'cli-ssh', description: 'SSH from the runner' });
    const rule = await cli.json(['security', 'group', 'rule', 'create', '--ingress', '--protocol', 'tcp', '--dst-port', '22', '--remote-ip', '127.0.0.1/32', 'cli-ssh']);
    expect(rule).toMatchObject({ security_group_id: group.id, direction: 'ingress', protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '127.0.0.1/32' });

    const server = await cli.json([
      'server', 'create', '--image', 'debian-12-genericcloud', '--flavor', 'm1.small', '--key-name', 'cli-key', '--network', 'private',
      '--security-group', 'cli-ssh', '--property', 'purpose=cli', '--wait', 'cli-server',
    ]);
    expect(server).toMatchObject({ name: 'cli-server', status: 'ACTIVE', key_name: 'cli-key', properties: { purpose: 'cli' } });
    expect(server.security_groups).toEqual([{ name: 'cli-ssh' }]);
    const shown = await cli.json(['server', 'show', 'cli-server']);
    const fixed = shown.addresses.private?.[0] as string;
    expect(fixed).toMatch(/^127\.\d+\.\d+\.\d+$/);
    const inEmulator = emu.compute.servers('RegionOne').find((s) => s.name === 'cli-server');
    expect(inEmulator?.addresses).toEqual({ private: [fixed] });

    const consoleLog = (await cli.ok(['console', 'log', 'show', 'cli-server'])).stdout;
    expect(consoleLog).toContain('-----BEGIN SSH HOST KEY FINGERPRINTS-----');
    expect(consoleLog).toContain('-----BEGIN SSH HOST KEY KEYS-----');
    for (const fp of inEmulator?.hostKeyFingerprints ?? []) expect(consoleLog).toContain(fp);
    expect(inEmulator?.hostKeyFingerprints.length).toBeGreaterThan(0);

    const limits = await cli.json(['limits', 'show', '--absolute']);
    const limit = (name: string): unknown => limits.find((l: any) => l.Name === name)?.Value;
    expect([limit('totalInstancesUsed'), limit('totalCoresUsed'), limit('totalRAMUsed'), limit('maxTotalInstances')]).toEqual([1, 1, 2048, 10]);

    // A group a server uses cannot go.
    const inUse = await cli.run(['security', 'group', 'delete', 'cli-ssh']);
    expect(inUse.code).not.toBe(0);
    expect(inUse.stderr).toContain(`Security Group ${group.id} in use.`);

    const fip = await cli.json(['floating', 'ip', 'create', '--description', 'cli', 'public']);
    expect(fip).toMatchObject({ description: 'cli', port_id: null, status: 'DOWN' });
    const ports = await cli.json(['port', 'list', '--server', 'cli-server']);
    expect(ports).toHaveLength(1);
    await cli.ok(['floating', 'ip', 'set', '--port', ports[0].ID, fip.id]);
    const attached = await cli.json(['floating', 'ip', 'show', fip.id]);
    expect(attached).toMatchObject({ port_id: ports[0].ID, fixed_ip_address: fixed, status: 'ACTIVE' });
    // The floating address really reaches the server's sshd.
    expect(await banner(fip.floating_ip_address, inEmulator?.sshPort ?? 22)).toMatch(/^SSH-2\.0-/);
    await cli.ok(['floating', 'ip', 'unset', '--port', fip.id]);
    expect((await cli.json(['floating', 'ip', 'show', fip.id])).port_id).toBeNull();
    await cli.ok(['floating', 'ip', 'delete', fip.id]);
    expect(emu.compute.floatingIps('RegionOne')).toEqual([]);

    const snapshot = await cli.json(['server', 'image', 'create', '--name', 'cli-snapshot', '--wait', 'cli-server']);
    expect(snapshot).toMatchObject({ name: 'cli-snapshot', status: 'active' });
    const stored = emu.state.image('RegionOne', snapshot.id);
    expect(stored).toMatchObject({ status: 'active', instance_uuid: inEmulator?.id });
    expect(emu.state.imageData('RegionOne', snapshot.id)?.length).toBeGreaterThan(0);

    await cli.ok(['server', 'delete', '--wait', 'cli-server']);
    expect(emu.compute.servers('RegionOne')).toEqual([]);
    await cli.ok(['security', 'group', 'rule', 'delete', rule.id]);
    await cli.ok(['security', 'group', 'delete', 'cli-ssh']);
    const groups = await cli.json(['security', 'group', 'list']);
    expect(groups.map((g: any) => g.Name)).toEqual(['default']);
    expect(emu.compute.securityGroups('RegionOne').map((g) => g.name)).toEqual(['default']);
    await cli.ok(['image', 'delete', 'cli-snapshot']);
    await cli.ok(['keypair', 'delete', 'cli-key']);
    assertNothingLeft(emu, REGIONS, 'cli-snapshot');
  }, SESSION_TIMEOUT_MS);
});
