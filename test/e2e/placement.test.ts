// Placement and access through apply: availability zone, several networks, SSH on a named network, ports made beforehand, security groups by name, a temporary SSH group from CIDRs or the runner; typos refused before anything is created; gc of a dead run's group.
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newRunId } from '../../src/app/run-id.js';
import { buildKey, JOURNAL_DIR, openJournal } from '../../src/journal/journal.js';
import { sshGroupDescription } from '../../src/build/steps/ssh-group.js';
import { useEmulator } from '../helpers/emulator.js';
import { deadPid } from '../helpers/process.js';
import { assertNothingLeft, imagesNamed } from '../helpers/leftovers.js';
import { useRepo } from '../helpers/repo.js';
import { call, json, token } from '../emulator/helpers.js';

const R = 'RegionOne';
const emulator = useEmulator({ regions: [R] });
const repo = useRepo({ emulator, prefix: 'placement' });
let tok: string;
/** Neutron paths of what the test made for itself (a port, a security group): deleted after it. */
let made: string[] = [];

beforeEach(async () => {
  tok = await token(emulator);
  made = [];
});
// The servers first (sweep): Neutron deletes no port or group a server still holds. Then the images the test built.
afterEach(async () => {
  await emulator.sweep();
  for (const path of made.reverse()) await call(`${neutron()}/${path}`, tok, { method: 'DELETE' });
  emulator.restoreImages();
});

const neutron = () => `${emulator.url}/network/${R}/v2.0`;
const file = () => repo.path('images.manifest.json');
const apply = (extra: string[] = []) => repo.run(['apply', '--yes', '--json', '--debug', '-m', file(), '--poll-interval-ms', '100', ...extra]);
const post = async (path: string, body: unknown) => json(await call(`${neutron()}/${path}`, tok, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }));
/** The security group "pl-office", made for this test only. */
async function officeGroup(): Promise<{ id: string }> {
  const g = (await post('security-groups', { security_group: { name: 'pl-office', description: 'the office' } })).security_group as { id: string };
  made.push(`security-groups/${g.id}`);
  return g;
}

async function manifest(name: string, build: Record<string, unknown>, steps: unknown[] = [{ run: 'true' }]): Promise<void> {
  await repo.manifest({
    targets: [{ cloud: 'emulator', regions: [R], build: { flavor: 'm1.small', ssh: { user: 'debian' }, timeouts: { bootSeconds: 60, sshSeconds: 60, snapshotSeconds: 60, stepSeconds: 60 } } }],
    images: [{ name, source: { image: 'debian-12-genericcloud' }, build: { ...build, steps } }],
  });
}

/** The bodies imagesync sent, from its --debug trace (secrets masked there). */
function sent(stderr: string, method: string, path: RegExp): unknown[] {
  return stderr
    .split('\n')
    .filter((l) => l.includes(`→ ${method} `) && path.test(l.split(' ')[3] ?? ''))
    .map((l) => JSON.parse(l.slice(l.indexOf(' {', l.indexOf('} ') + 1) + 1)));
}

const temporaryGroups = () => emulator.compute.securityGroups(R).filter((g) => g.name.startsWith('imagesync-sg-'));

describe('placement and access', () => {
  it('an availability zone and two networks; SSH goes to the address on the network ssh.interface names', async () => {
    await manifest('pl-nets', { availabilityZone: 'nova', networks: ['private', 'public'], ssh: { interface: 'public' } });
    const r = await apply();
    expect(r.code, r.stderr).toBe(0);
    const [boot] = sent(r.stderr, 'POST', /\/servers$/) as Array<{ server: Record<string, unknown> }>;
    const nets = (await json(await call(`${neutron()}/networks`, tok))).networks as Array<{ id: string; name: string }>;
    const id = (name: string) => nets.find((n) => n.name === name)!.id;
    expect(boot!.server).toMatchObject({ availability_zone: 'nova', networks: [{ uuid: id('private') }, { uuid: id('public') }] });
    // The public network's addresses are 127.0.104-107.x in the emulator.
    const log = await readFile(JSON.parse(r.stdout).builds[0].log, 'utf8');
    expect(log).toMatch(/cleanup: SSH connection to debian@127\.0\.10[4-7]\.\d+:22/);
    assertNothingLeft(emulator, [R]);
  }, 120_000);

  it('a port made beforehand: the server takes it, and it stays (unbound) after the build', async () => {
    const nets = (await json(await call(`${neutron()}/networks?name=private`, tok))).networks as Array<{ id: string }>;
    const port = (await post('ports', { port: { network_id: nets[0]!.id, name: 'pl-build-port' } })).port as { id: string; fixed_ips: Array<{ ip_address: string }> };
    made.push(`ports/${port.id}`);
    await manifest('pl-port', { ports: ['pl-build-port'] });
    const r = await apply();
    expect(r.code, r.stderr).toBe(0);
    const [boot] = sent(r.stderr, 'POST', /\/servers$/) as Array<{ server: Record<string, unknown> }>;
    expect(boot!.server.networks).toEqual([{ port: port.id }]);
    const log = await readFile(JSON.parse(r.stdout).builds[0].log, 'utf8');
    expect(log).toContain(`cleanup: SSH connection to debian@${port.fixed_ips[0]!.ip_address}:22`);
    const after = (await json(await call(`${neutron()}/ports/${port.id}`, tok))).port;
    expect(after).toMatchObject({ id: port.id, device_id: '' });
    assertNothingLeft(emulator, [R]);
  }, 120_000);

  it('security groups by name go to Nova by id; openFrom CIDRs make a temporary group with SSH rules from them, deleted after the build', async () => {
    const office = await officeGroup();
    await manifest('pl-cidr', { network: 'private', securityGroups: ['pl-office'], ssh: { openFrom: ['198.51.100.0/24', '2001:db8::/64'] } });
    const r = await apply();
    expect(r.code, r.stderr).toBe(0);
    const [group] = sent(r.stderr, 'POST', /\/security-groups$/) as Array<{ security_group: { name: string; description: string } }>;
    expect(group!.security_group.name).toMatch(/^imagesync-sg-pl-cidr-\d{8}-\d{6}-[0-9a-f]{4}$/);
    const rules = (sent(r.stderr, 'POST', /\/security-group-rules$/) as Array<{ security_group_rule: Record<string, unknown> }>).map((x) => x.security_group_rule);
    expect(rules.map((x) => [x.direction, x.ethertype, x.protocol, x.port_range_min, x.port_range_max, x.remote_ip_prefix])).toEqual([
      ['ingress', 'IPv4', 'tcp', 22, 22, '198.51.100.0/24'],
      ['ingress', 'IPv6', 'tcp', 22, 22, '2001:db8::/64'],
    ]);
    const [boot] = sent(r.stderr, 'POST', /\/servers$/) as Array<{ server: { security_groups: Array<{ name: string }> } }>;
    const temp = rules[0]!.security_group_id as string;
    expect(boot!.server.security_groups).toEqual([{ name: office.id }, { name: temp }]);
    expect(temporaryGroups()).toEqual([]);
    assertNothingLeft(emulator, [R]);
  }, 120_000);

  it('openFrom "runner": the rule names the address this machine reaches the server from; a failing build deletes the group too', async () => {
    await manifest('pl-runner', { network: 'private', ssh: { openFrom: 'runner' } }, [{ run: 'exit 9' }]);
    const r = await apply();
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).builds[0]).toMatchObject({ failedStep: 'step 1/1 run: exit 9', leftBehind: [] });
    const rules = (sent(r.stderr, 'POST', /\/security-group-rules$/) as Array<{ security_group_rule: Record<string, unknown> }>).map((x) => x.security_group_rule);
    // The emulator's servers are on loopback: this machine reaches them from 127.0.0.1.
    expect(rules.map((x) => x.remote_ip_prefix)).toEqual(['127.0.0.1/32']);
    const [boot] = sent(r.stderr, 'POST', /\/servers$/) as Array<{ server: { security_groups: Array<{ name: string }> } }>;
    expect(boot!.server.security_groups).toEqual([{ name: 'default' }, { name: rules[0]!.security_group_id as string }]);
    expect(temporaryGroups()).toEqual([]);
    assertNothingLeft(emulator, [R]);
  }, 120_000);

  it('refuses before anything is created, with the nearest names: zone, network, port, security group', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ network: 'private', availabilityZone: 'nvoa' }, /availability zone "nvoa" not found; did you mean "nova"\?/],
      [{ networks: ['private', 'pubic'] }, /network "pubic" not found; did you mean "public"\?/],
      [{ ports: ['pl-buld-port'] }, /port "pl-buld-port" not found; /],
      [{ network: 'private', securityGroups: ['pl-ofice'] }, /security group "pl-ofice" not found; did you mean "pl-office"\?/],
    ];
    // The group the last typo is nearest to.
    await officeGroup();
    for (const [build, message] of cases) {
      await manifest('pl-typo', build);
      const r = await apply();
      expect(r.code).toBe(1);
      const b = JSON.parse(r.stdout).builds[0];
      expect(b.failedStep).toBe('resolve source image, flavor and network');
      expect(b.error).toMatch(message);
      // Nothing created: no POST to any service but Keystone's token.
      expect(sent(r.stderr, 'POST', /\/(compute|network|volume|image)\//)).toEqual([]);
    }
    expect(imagesNamed(emulator, R, 'pl-typo')).toEqual([]);
    assertNothingLeft(emulator, [R]);
  }, 120_000);

  it('gc deletes the SSH group a dead run left', async () => {
    await manifest('pl-gc', { network: 'private' });
    const dead = newRunId(new Date(Date.now() - 60_000));
    const journal = await openJournal({ dir: repo.path(JOURNAL_DIR), runId: dead, manifest: file(), targets: [`emulator/${R}`], pid: await deadPid(), heartbeatMs: 3_600_000 });
    const name = `imagesync-sg-pl-gc-${dead}`;
    const build = buildKey({ cloud: 'emulator', region: R }, 'pl-gc');
    await journal.beforeCreate(build, { kind: 'security-group', cloud: 'emulator', region: R, name });
    const g = (await post('security-groups', { security_group: { name, description: sshGroupDescription(dead) } })).security_group as { id: string };
    await journal.created(build, { kind: 'security-group', cloud: 'emulator', region: R, name, id: g.id });
    await journal.flush();
    const r = await repo.run(['gc', '--json', '-m', file()]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).resources).toEqual([expect.objectContaining({ kind: 'security-group', id: g.id, status: 'deleted' })]);
    expect(temporaryGroups()).toEqual([]);
  }, 60_000);
});
