// Neutron security groups and rules of the emulator over real HTTP, and Nova's side: boot with groups, add/remove, in use.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_USER, startEmulator, type Emulator } from '../../src/emulator/server.js';
import { call, json, postTokens, token, until } from './helpers.js';

const OTHER = { username: 'other', password: 'other-secret', project: 'other' };

async function otherToken(emu: Emulator): Promise<string> {
  const res = await postTokens(emu, {
    auth: {
      identity: { methods: ['password'], password: { user: { name: OTHER.username, domain: { name: 'Default' }, password: OTHER.password } } },
      scope: { project: { name: OTHER.project, domain: { name: 'Default' } } },
    },
  });
  await res.arrayBuffer();
  return res.headers.get('x-subject-token') as string;
}

describe('emulated Neutron security groups', () => {
  let emu: Emulator;
  let tok: string;
  let neutron: string;
  let nova: string;
  let debianId: string;
  let privateNet: string;
  const json201 = async (path: string, body: unknown, t = tok): Promise<any> => {
    const res = await call(`${neutron}${path}`, t, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const out = await json(res);
    if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(out)}`);
    return out;
  };
  const postRule = (rule: Record<string, unknown>): Promise<Response> =>
    call(`${neutron}/v2.0/security-group-rules`, tok, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ security_group_rule: rule }),
    });
  const novaPost = (path: string, version: string, body: unknown): Promise<Response> =>
    call(`${nova}${path}`, tok, {
      method: 'POST',
      headers: { 'openstack-api-version': `compute ${version}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const boot = async (name: string, groups?: string[]): Promise<string> => {
    const res = await novaPost('/servers', '2.52', {
      server: { name, imageRef: debianId, flavorRef: '2', networks: [{ uuid: privateNet }], ...(groups ? { security_groups: groups.map((g) => ({ name: g })) } : {}) },
    });
    const body = await json(res);
    if (res.status !== 202) throw new Error(`boot ${name}: ${res.status} ${JSON.stringify(body)}`);
    return body.server.id;
  };
  const serverOf = async (id: string, version = '2.1'): Promise<any> =>
    (await json(await call(`${nova}/servers/${id}`, tok, { headers: { 'openstack-api-version': `compute ${version}` } }))).server;
  const deleteServer = async (id: string): Promise<void> => {
    await call(`${nova}/servers/${id}`, tok, { method: 'DELETE' });
    await until(async () => ((await call(`${nova}/servers/${id}`, tok)).status === 404 ? true : undefined));
  };

  // An emulator per test: groups, rules and servers one test makes must not be in another's lists and counts.
  beforeEach(async () => {
    emu = await startEmulator({ regions: ['RegionOne', 'RegionTwo'], users: [DEFAULT_USER, OTHER], bootDelayMs: 20, consoleDelayMs: 0, deleteDelayMs: 20 });
    tok = await token(emu);
    neutron = `${emu.url}/network/RegionOne`;
    nova = `${emu.url}/compute/RegionOne/v2.1`;
    debianId = (emu.state.images('RegionOne').find((i) => i.name === 'debian-12-genericcloud') as { id: string }).id;
    privateNet = (await json(await call(`${neutron}/v2.0/networks?name=private`, tok))).networks[0].id;
  });
  afterEach(() => emu.close());

  it('makes one default group per project on first sight, with Neutron’s four rules, and keeps projects apart', async () => {
    const { security_groups: groups } = await json(await call(`${neutron}/v2.0/security-groups`, tok));
    expect(groups).toHaveLength(1);
    const dflt = groups[0];
    expect(dflt).toMatchObject({
      name: 'default',
      description: 'Default security group',
      stateful: true,
      shared: false,
      tags: [],
      project_id: emu.users[0]?.project.id,
      tenant_id: emu.users[0]?.project.id,
      revision_number: 1,
    });
    const rules = dflt.security_group_rules.map((r: any) => [r.direction, r.ethertype, r.remote_group_id, r.remote_ip_prefix, r.protocol]);
    expect(rules).toEqual([
      ['ingress', 'IPv4', dflt.id, null, null],
      ['egress', 'IPv4', null, null, null],
      ['ingress', 'IPv6', dflt.id, null, null],
      ['egress', 'IPv6', null, null, null],
    ]);
    expect(Object.keys(dflt.security_group_rules[0]).sort()).toEqual(
      ['created_at', 'description', 'direction', 'ethertype', 'id', 'normalized_cidr', 'port_range_max', 'port_range_min', 'project_id', 'protocol', 'remote_address_group_id', 'remote_group_id', 'remote_ip_prefix', 'revision_number', 'security_group_id', 'tenant_id', 'updated_at'],
    );
    // The same group again, not a second one; another region and another project have their own.
    expect((await json(await call(`${neutron}/v2.0/security-groups?name=default`, tok))).security_groups.map((g: any) => g.id)).toEqual([dflt.id]);
    const two = (await json(await call(`${emu.url}/network/RegionTwo/v2.0/security-groups`, tok))).security_groups;
    expect(two.map((g: any) => g.name)).toEqual(['default']);
    expect(two[0].id).not.toBe(dflt.id);
    const theirs = (await json(await call(`${neutron}/v2.0/security-groups`, await otherToken(emu)))).security_groups;
    expect(theirs).toHaveLength(1);
    expect(theirs[0].id).not.toBe(dflt.id);
    const hidden = await call(`${neutron}/v2.0/security-groups/${theirs[0].id}`, tok);
    expect(hidden.status).toBe(404);
    expect(await json(hidden)).toEqual({ NeutronError: { type: 'SecurityGroupNotFound', message: `Security group ${theirs[0].id} does not exist`, detail: '' } });
    // fields= narrows each item, as the openstack client asks.
    const narrow = await json(await call(`${neutron}/v2.0/security-groups?fields=id&fields=name`, tok));
    expect(narrow.security_groups).toEqual([{ id: dflt.id, name: 'default' }]);
    expect((await call(`${neutron}/v2.0/security-groups`, undefined)).status).toBe(401);
  });

  it('creates a group with the two egress rules, updates it, and refuses the name default', async () => {
    const { security_group: g } = await json201('/v2.0/security-groups', { security_group: { name: 'web', description: 'HTTP in' } });
    expect(g).toMatchObject({ name: 'web', description: 'HTTP in', stateful: true, revision_number: 1 });
    expect(g.security_group_rules.map((r: any) => [r.direction, r.ethertype])).toEqual([
      ['egress', 'IPv4'],
      ['egress', 'IPv6'],
    ]);
    const put = async (id: string, body: unknown): Promise<Response> =>
      call(`${neutron}/v2.0/security-groups/${id}`, tok, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const renamed = await put(g.id, { security_group: { name: 'web-2', description: 'HTTP and HTTPS in' } });
    expect(renamed.status).toBe(200);
    expect((await json(renamed)).security_group).toMatchObject({ name: 'web-2', description: 'HTTP and HTTPS in', revision_number: 2 });

    const cases: Array<[string, unknown, number, string, string]> = [
      ['POST', { security_group: { name: 'Default' } }, 409, 'SecurityGroupDefaultAlreadyExists', 'Default security group already exists.'],
      ['POST', { security_group: { name: 'x', colour: 'red' } }, 400, 'HTTPBadRequest', "Unrecognized attribute(s) 'colour'"],
      ['POST', { security_group: { name: 7 } }, 400, 'HTTPBadRequest', "Invalid input for name. Reason: '7' is not a valid string."],
      ['POST', { group: {} }, 400, 'HTTPBadRequest', "Unable to find 'security_group' in request body"],
      ['POST', {}, 400, 'HTTPBadRequest', 'Resource body required'],
      ['PUT', { security_group: { id: 'x' } }, 400, 'HTTPBadRequest', 'Cannot update read-only attribute id'],
    ];
    for (const [method, body, status, type, message] of cases) {
      const res =
        method === 'POST'
          ? await call(`${neutron}/v2.0/security-groups`, tok, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
          : await put(g.id, body);
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), status]);
      expect(await json(res)).toEqual({ NeutronError: { type, message, detail: '' } });
    }
    const dflt = (await json(await call(`${neutron}/v2.0/security-groups?name=default`, tok))).security_groups[0];
    const renameDefault = await put(dflt.id, { security_group: { name: 'not-default' } });
    expect(renameDefault.status).toBe(409);
    expect((await json(renameDefault)).NeutronError.message).toBe('Updating default security group not allowed.');
    expect((await put(dflt.id, { security_group: { description: 'still default' } })).status).toBe(200);

    // A rule of another group that names this one as its remote goes with it.
    const { security_group: peer } = await json201('/v2.0/security-groups', { security_group: { name: 'peer' } });
    const remote = (await json(await postRule({ security_group_id: peer.id, direction: 'ingress', remote_group_id: g.id }))).security_group_rule;
    expect((await call(`${neutron}/v2.0/security-groups/${g.id}`, tok, { method: 'DELETE' })).status).toBe(204);
    expect((await call(`${neutron}/v2.0/security-groups/${g.id}`, tok)).status).toBe(404);
    expect((await call(`${neutron}/v2.0/security-group-rules/${remote.id}`, tok)).status).toBe(404);
    expect((await json(await call(`${neutron}/v2.0/security-groups/${peer.id}`, tok))).security_group.security_group_rules).toHaveLength(2);
  });

  it('creates, shows, lists and deletes rules; a duplicate is 409 naming the rule it repeats', async () => {
    const { security_group: g } = await json201('/v2.0/security-groups', { security_group: { name: 'ssh' } });
    const ssh = { security_group_id: g.id, direction: 'ingress', protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '192.0.2.7/24' };
    const res = await postRule(ssh);
    expect(res.status).toBe(201);
    const rule = (await json(res)).security_group_rule;
    expect(rule).toMatchObject({
      security_group_id: g.id,
      direction: 'ingress',
      ethertype: 'IPv4',
      protocol: 'tcp',
      port_range_min: 22,
      port_range_max: 22,
      remote_ip_prefix: '192.0.2.7/24',
      normalized_cidr: '192.0.2.0/24',
      remote_group_id: null,
      description: '',
    });
    const dup = await postRule({ ...ssh, remote_ip_prefix: '192.0.2.7/24', ethertype: 'ipv4' });
    expect(dup.status).toBe(409);
    expect(await json(dup)).toEqual({ NeutronError: { type: 'SecurityGroupRuleExists', message: `Security group rule already exists. Rule id is ${rule.id}.`, detail: '' } });
    // The whole port range is no range; 0.0.0.0/0 and no prefix are the same remote.
    const all = await json(await postRule({ security_group_id: g.id, direction: 'ingress', protocol: '6', port_range_min: 1, port_range_max: 65535, remote_ip_prefix: '0.0.0.0/0' }));
    expect(all.security_group_rule).toMatchObject({ protocol: '6', port_range_min: null, port_range_max: null, remote_ip_prefix: '0.0.0.0/0', normalized_cidr: '0.0.0.0/0' });
    const again = await postRule({ security_group_id: g.id, direction: 'ingress', protocol: 'tcp' });
    expect(again.status).toBe(409);
    const icmp6 = await json(await postRule({ security_group_id: g.id, direction: 'ingress', ethertype: 'IPv6', protocol: 'icmp' }));
    expect(icmp6.security_group_rule.protocol).toBe('ipv6-icmp');

    expect((await json(await call(`${neutron}/v2.0/security-group-rules/${rule.id}`, tok))).security_group_rule).toEqual(rule);
    const listed = (await json(await call(`${neutron}/v2.0/security-group-rules?security_group_id=${g.id}`, tok))).security_group_rules;
    expect(listed.map((r: any) => r.id)).toContain(rule.id);
    expect(listed).toHaveLength(5);
    const shown = (await json(await call(`${neutron}/v2.0/security-groups/${g.id}`, tok))).security_group;
    expect(shown.security_group_rules.map((r: any) => r.id)).toContain(rule.id);
    expect(shown.revision_number).toBe(4);

    expect((await call(`${neutron}/v2.0/security-group-rules/${rule.id}`, tok, { method: 'DELETE' })).status).toBe(204);
    const gone = await call(`${neutron}/v2.0/security-group-rules/${rule.id}`, tok);
    expect(gone.status).toBe(404);
    expect(await json(gone)).toEqual({ NeutronError: { type: 'SecurityGroupRuleNotFound', message: `Security group rule ${rule.id} does not exist`, detail: '' } });
  });

  it('refuses bad rules with Neutron’s type and message, in Neutron’s order of checks', async () => {
    const { security_group: g } = await json201('/v2.0/security-groups', { security_group: { name: 'checks' } });
    const base = { security_group_id: g.id, direction: 'ingress' };
    const cases: Array<[Record<string, unknown>, number, string, string]> = [
      [{ security_group_id: g.id }, 400, 'HTTPBadRequest', "Failed to parse request. Required attribute 'direction' not specified"],
      [{ ...base, colour: 'red' }, 400, 'HTTPBadRequest', "Unrecognized attribute(s) 'colour'"],
      [{ ...base, direction: 'up' }, 400, 'HTTPBadRequest', 'Invalid input for direction. Reason: up is not in valid_values.'],
      [{ ...base, protocol: 'tcpp' }, 400, 'SecurityGroupRuleInvalidProtocol', expect.stringMatching(/^Security group rule protocol tcpp not supported\. Only protocol values \[None, 'ah', .*'vrrp'\] and integer representations \[0 to 255\] are supported\.$/) as unknown as string],
      [{ ...base, protocol: 'tcp', port_range_min: 70000 }, 400, 'SecurityGroupInvalidPortValue', 'Invalid value for port 70000'],
      [{ ...base, ethertype: 'IPv5' }, 400, 'SecurityGroupRuleInvalidEtherType', "Security group rule for ethertype 'IPv5' not supported. Allowed values are ['IPv4', 'IPv6']."],
      [{ ...base, port_range_min: 22, port_range_max: 22 }, 400, 'SecurityGroupProtocolRequiredWithPorts', 'Must also specify protocol if port range is given.'],
      [{ ...base, protocol: 'tcp', port_range_min: 30, port_range_max: 20 }, 400, 'SecurityGroupInvalidPortRange', 'For TCP/UDP protocols, port_range_min must be <= port_range_max'],
      [{ ...base, protocol: 'tcp', port_range_min: 22 }, 400, 'SecurityGroupInvalidPortRange', 'For TCP/UDP protocols, port_range_min must be <= port_range_max'],
      [{ ...base, protocol: 'udp', port_range_min: 0, port_range_max: 10 }, 400, 'SecurityGroupInvalidPortValue', 'Invalid value for port 0'],
      [{ ...base, protocol: 'icmp', port_range_min: 300 }, 400, 'SecurityGroupInvalidIcmpValue', 'Invalid value for ICMP type (port_range_min) 300. It must be 0 to 255.'],
      [{ ...base, protocol: 'icmp', port_range_max: 3 }, 400, 'SecurityGroupMissingIcmpType', 'ICMP code (port-range-max) 3 is provided but ICMP type (port-range-min) is missing.'],
      [{ ...base, protocol: 'gre', port_range_min: 1, port_range_max: 2 }, 400, 'SecurityGroupInvalidProtocolForPort', 'Ports cannot be specified for protocol 47. Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE.'],
      [{ ...base, remote_ip_prefix: '2001:db8::/64' }, 400, 'SecurityGroupRuleParameterConflict', 'Conflicting value ethertype IPv4 for CIDR 2001:db8::/64'],
      [{ ...base, remote_ip_prefix: '300.1.2.3/8' }, 400, 'InvalidCIDR', 'Invalid CIDR 300.1.2.3/8 given as IP prefix.'],
      [{ ...base, protocol: 'ipv6-icmp' }, 400, 'SecurityGroupEthertypeConflictWithProtocol', 'Invalid ethertype IPv4 for protocol ipv6-icmp.'],
      [{ ...base, remote_ip_prefix: '192.0.2.0/24', remote_group_id: g.id }, 400, 'SecurityGroupMultipleRemoteEntites', 'Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.'],
      [{ ...base, remote_group_id: '5c3cc5d5-0000-4000-8000-000000000000' }, 404, 'SecurityGroupNotFound', 'Security group 5c3cc5d5-0000-4000-8000-000000000000 does not exist'],
      [{ ...base, security_group_id: '5c3cc5d5-0000-4000-8000-000000000001' }, 404, 'SecurityGroupNotFound', 'Security group 5c3cc5d5-0000-4000-8000-000000000001 does not exist'],
    ];
    for (const [rule, status, type, message] of cases) {
      const res = await postRule(rule);
      expect([JSON.stringify(rule), res.status]).toEqual([JSON.stringify(rule), status]);
      expect(await json(res)).toEqual({ NeutronError: { type, message, detail: '' } });
    }
    expect((await json(await call(`${neutron}/v2.0/security-groups/${g.id}`, tok))).security_group.security_group_rules).toHaveLength(2);
  });

  it('boots with groups by name or id, shows them on the server and its ports, and keeps a group in use from deletion', async () => {
    const { security_group: ssh } = await json201('/v2.0/security-groups', { security_group: { name: 'boot-ssh' } });
    const missing = await novaPost('/servers', '2.52', { server: { name: 'no-sg', imageRef: debianId, flavorRef: '2', networks: [{ uuid: privateNet }], security_groups: [{ name: 'nope' }] } });
    expect(missing.status).toBe(400);
    expect(await json(missing)).toEqual({ badRequest: { code: 400, message: "Unable to find security_group with name or id 'nope'" } });
    await json201('/v2.0/security-groups', { security_group: { name: 'twice' } });
    await json201('/v2.0/security-groups', { security_group: { name: 'twice' } });
    const ambiguous = await novaPost('/servers', '2.52', { server: { name: 'two-sg', imageRef: debianId, flavorRef: '2', networks: [{ uuid: privateNet }], security_groups: [{ name: 'twice' }] } });
    expect(ambiguous.status).toBe(409);
    expect((await json(ambiguous)).conflictingRequest.message).toBe("Multiple security_group matches found for name 'twice', use an ID to be more specific.");
    expect(emu.compute.servers('RegionOne')).toEqual([]);

    const id = await boot('with-sg', ['boot-ssh', 'default']);
    const active = await until(async () => {
      const s = await serverOf(id);
      return s.status === 'ACTIVE' ? s : undefined;
    });
    expect(active.security_groups).toEqual([{ name: 'boot-ssh' }, { name: 'default' }]);
    const dflt = (await json(await call(`${neutron}/v2.0/security-groups?name=default`, tok))).security_groups[0];
    const ports = (await json(await call(`${neutron}/v2.0/ports?device_id=${id}`, tok))).ports;
    expect(ports).toHaveLength(1);
    expect(ports[0].security_groups).toEqual([ssh.id, dflt.id]);

    const inUse = await call(`${neutron}/v2.0/security-groups/${ssh.id}`, tok, { method: 'DELETE' });
    expect(inUse.status).toBe(409);
    expect(await json(inUse)).toEqual({ NeutronError: { type: 'SecurityGroupInUse', message: `Security Group ${ssh.id} in use.`, detail: '' } });

    // addSecurityGroup / removeSecurityGroup, by name or id.
    const action = (body: unknown): Promise<Response> => novaPost(`/servers/${id}/action`, '2.1', body);
    expect((await action({ removeSecurityGroup: { name: 'default' } })).status).toBe(202);
    expect((await serverOf(id)).security_groups).toEqual([{ name: 'boot-ssh' }]);
    const notThere = await action({ removeSecurityGroup: { name: 'default' } });
    expect(notThere.status).toBe(404);
    expect((await json(notThere)).itemNotFound.message).toBe(`Security group default not associated with the instance ${id}`);
    expect((await action({ addSecurityGroup: { name: dflt.id } })).status).toBe(202);
    expect((await serverOf(id)).security_groups).toEqual([{ name: 'boot-ssh' }, { name: 'default' }]);
    const twice = await action({ addSecurityGroup: { name: 'default' } });
    expect(twice.status).toBe(400);
    const unknown = await action({ addSecurityGroup: { name: 'nope' } });
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).itemNotFound.message).toBe(`Security group nope is not found for project ${emu.users[0]?.project.id}`);
    for (const [body, message] of [
      [{ addSecurityGroup: {} }, 'Security group not specified'],
      [{ addSecurityGroup: { name: ' ' } }, 'Security group name cannot be empty'],
      [{ addSecurityGroup: 'x' }, 'Missing parameter dict'],
    ] as const) {
      const res = await action(body);
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), 400]);
      expect((await json(res)).badRequest.message).toBe(message);
    }
    const noServer = await novaPost('/servers/5c3cc5d5-0000-4000-8000-0000000000ff/action', '2.1', { addSecurityGroup: { name: 'default' } });
    expect(noServer.status).toBe(404);

    // Nova's proxy (up to 2.35) lists the groups with their ingress rules; 2.36 removed it.
    const proxy = await json(await call(`${nova}/os-security-groups`, tok));
    const proxied = proxy.security_groups.find((x: any) => x.id === dflt.id);
    expect(proxied).toMatchObject({ name: 'default', tenant_id: emu.users[0]?.project.id, description: expect.any(String) });
    expect(proxied.rules).toHaveLength(2);
    expect(proxied.rules[0]).toMatchObject({ parent_group_id: dflt.id, ip_protocol: null, from_port: null, to_port: null, group: { name: 'default' }, ip_range: {} });
    expect((await json(await call(`${nova}/os-security-groups/${ssh.id}`, tok))).security_group.name).toBe('boot-ssh');
    expect((await call(`${nova}/os-security-groups`, tok, { headers: { 'openstack-api-version': 'compute 2.36' } })).status).toBe(404);

    await deleteServer(id);
    expect((await call(`${neutron}/v2.0/security-groups/${ssh.id}`, tok, { method: 'DELETE' })).status).toBe(204);
  });

  it('boots into the default group when none is asked for', async () => {
    const id = await boot('plain');
    expect((await serverOf(id)).security_groups).toEqual([{ name: 'default' }]);
    await deleteServer(id);
  });

  it('shows Neutron’s default quotas, and with /details what the project uses', async () => {
    const project = emu.users[0]?.project.id as string;
    const quota = (await json(await call(`${neutron}/v2.0/quotas/${project}`, tok))).quota;
    expect(quota).toEqual({ network: 100, subnet: 100, subnetpool: -1, port: 500, router: 10, floatingip: 50, security_group: 10, security_group_rule: 100, rbac_policy: 10 });
    const details = (await json(await call(`${neutron}/v2.0/quotas/${project}/details`, tok))).quota;
    const groups = (await json(await call(`${neutron}/v2.0/security-groups`, tok))).security_groups;
    expect(details.security_group).toEqual({ used: groups.length, limit: 10, reserved: 0 });
    expect(details.router).toEqual({ used: 0, limit: 10, reserved: 0 });
    const refused = await call(`${neutron}/v2.0/quotas/${project}`, tok, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"quota":{"network":1}}' });
    expect(refused.status).toBe(403);
    expect((await json(refused)).NeutronError.type).toBe('PolicyNotAuthorized');
  });
});
