// Neutron's security groups and rules for one region: a default group per project, rule checks, and the groups each server's ports carry.
import { parsePrefix } from './cidr.js';
import { ComputeError } from './compute.js';
import type { IdSource } from './ids.js';

export interface SecurityGroup {
  id: string;
  projectId: string;
  name: string;
  description: string;
  stateful: boolean;
  isDefault: boolean;
  createdAtMs: number;
  updatedAtMs: number;
  revision: number;
}

/** What a rule says, as given and as kept. */
interface RuleFields {
  securityGroupId: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  protocol: string | null;
  portRangeMin: number | null;
  portRangeMax: number | null;
  remoteIpPrefix: string | null;
  remoteGroupId: string | null;
  description: string;
}

export interface SecurityGroupRule extends RuleFields {
  id: string;
  projectId: string;
  /** The network of remoteIpPrefix (Neutron's normalized_cidr). */
  normalizedCidr: string | null;
  createdAtMs: number;
}

/** A rule as the API layer hands it over: converted and checked against the attribute map. */
export interface RuleInput extends RuleFields {
  remoteAddressGroupId: string | null;
}

export const DEFAULT_SG_DESCRIPTION = 'Default security group';

/** neutron_lib's IP_PROTOCOL_MAP, in its order (the order Neutron's error message lists them). */
export const IP_PROTOCOL_MAP: Record<string, number> = {
  ah: 51, dccp: 33, egp: 8, esp: 50, gre: 47, hopopt: 0, icmp: 1, igmp: 2, ip: 0, ipip: 4, 'ipv6-encap': 41,
  'ipv6-frag': 44, 'ipv6-icmp': 58, icmpv6: 58, 'ipv6-nonxt': 59, 'ipv6-opts': 60, 'ipv6-route': 43, ospf: 89,
  pgm: 113, rsvp: 46, sctp: 132, tcp: 6, udp: 17, udplite: 136, vrrp: 112,
};
const PORT_PROTOCOL_NUMBERS = [33, 132, 6, 17, 136];
const PORT_PROTOCOL_NAMES = ['dccp', 'sctp', 'tcp', 'udp', 'udplite'];
const IPV6_ONLY_PROTOCOLS = ['ipv6-encap', 'ipv6-frag', 'ipv6-icmp', 'icmpv6', 'ipv6-nonxt', 'ipv6-opts', 'ipv6-route', '41', '44', '58', '59', '60', '43'];

function invalid(type: string, message: string): ComputeError {
  return new ComputeError(400, message, type);
}

function inUse(type: string, message: string): ComputeError {
  return new ComputeError(409, message, type);
}

/** The protocol's number, for the port checks (`tcp` → 6, `17` → 17). */
function protocolNumber(protocol: string): number {
  const name = protocol === 'icmpv6' ? 'ipv6-icmp' : protocol;
  return IP_PROTOCOL_MAP[name] ?? Number(protocol);
}

/** `[name, number]` of a protocol, as Neutron compares rules (IPv6 turns icmp into ipv6-icmp). */
function protocolKey(protocol: string | null, ethertype: string): string {
  if (protocol === null) return '+';
  let p = protocol;
  if (ethertype === 'IPv6') {
    if (p === 'icmp' || p === 'icmpv6') p = 'ipv6-icmp';
    else if (p === '1') p = '58';
  }
  if (p in IP_PROTOCOL_MAP) return `${p}/${IP_PROTOCOL_MAP[p]}`;
  const name = Object.keys(IP_PROTOCOL_MAP).find((k) => String(IP_PROTOCOL_MAP[k]) === p);
  return name ? `${name}/${p}` : `${p}/${p}`;
}

function ruleKey(r: Omit<RuleInput, 'description'>): string {
  const prefix = r.remoteIpPrefix === null || r.remoteIpPrefix === '0.0.0.0/0' || r.remoteIpPrefix === '::/0' ? '+' : r.remoteIpPrefix;
  return [r.direction, r.ethertype, r.portRangeMax ?? '+', r.portRangeMin ?? '+', protocolKey(r.protocol, r.ethertype), r.remoteGroupId ?? '+', r.remoteAddressGroupId ?? '+', prefix, r.securityGroupId].join('_');
}

/** One region's security groups, rules and server bindings. */
export class SecurityGroupStore {
  private readonly groups = new Map<string, SecurityGroup>();
  private readonly rules = new Map<string, SecurityGroupRule>();
  /** Group ids on each server's ports (Nova applies a server's groups to all its ports). */
  private readonly bindings = new Map<string, string[]>();

  constructor(
    private readonly ids: IdSource,
    private readonly now: () => number,
  ) {}

  /** The project's default group, made on first need as Neutron does (on any list, create or port). */
  ensureDefault(projectId: string): SecurityGroup {
    const existing = [...this.groups.values()].find((g) => g.projectId === projectId && g.isDefault);
    if (existing) return existing;
    const g = this.insertGroup(projectId, 'default', DEFAULT_SG_DESCRIPTION, true, true);
    for (const ethertype of ['IPv4', 'IPv6'] as const) {
      this.insertRule(projectId, { ...this.blankRule(g.id, 'ingress', ethertype), remoteGroupId: g.id });
      this.insertRule(projectId, this.blankRule(g.id, 'egress', ethertype));
    }
    return g;
  }

  list(projectId: string): SecurityGroup[] {
    this.ensureDefault(projectId);
    return [...this.groups.values()].filter((g) => g.projectId === projectId);
  }

  get(projectId: string, id: string): SecurityGroup {
    const g = this.groups.get(id);
    if (!g || g.projectId !== projectId) throw new ComputeError(404, `Security group ${id} does not exist`, 'SecurityGroupNotFound');
    return g;
  }

  rulesOf(groupId: string): SecurityGroupRule[] {
    return [...this.rules.values()].filter((r) => r.securityGroupId === groupId);
  }

  create(projectId: string, input: { name: string; description: string; stateful: boolean }): SecurityGroup {
    this.ensureDefault(projectId);
    const g = this.insertGroup(projectId, input.name, input.description, input.stateful, false);
    for (const ethertype of ['IPv4', 'IPv6'] as const) this.insertRule(projectId, this.blankRule(g.id, 'egress', ethertype));
    return g;
  }

  update(projectId: string, id: string, change: { name?: string; description?: string; stateful?: boolean }, liveServers: ReadonlySet<string>): SecurityGroup {
    const g = this.get(projectId, id);
    if (change.stateful !== undefined && change.stateful !== g.stateful && this.boundTo(id, liveServers)) {
      throw inUse('SecurityGroupInUse', `Security Group ${id} in use.`);
    }
    if (g.isDefault && change.name !== undefined) throw inUse('SecurityGroupCannotUpdateDefault', 'Updating default security group not allowed.');
    if (change.name !== undefined) g.name = change.name;
    if (change.description !== undefined) g.description = change.description;
    if (change.stateful !== undefined) g.stateful = change.stateful;
    g.updatedAtMs = this.now();
    g.revision++;
    return g;
  }

  /** Neutron refuses while a port carries the group; every emulated caller holds the admin role, which may delete the default group. */
  delete(projectId: string, id: string, liveServers: ReadonlySet<string>): void {
    if (this.boundTo(id, liveServers)) throw inUse('SecurityGroupInUse', `Security Group ${id} in use.`);
    this.get(projectId, id);
    this.groups.delete(id);
    // Its rules go, and so do other groups' rules that name it as their remote (a cascade in Neutron's database).
    for (const r of [...this.rules.values()]) {
      if (r.securityGroupId === id) this.rules.delete(r.id);
      else if (r.remoteGroupId === id) {
        this.rules.delete(r.id);
        this.touch(r.securityGroupId);
      }
    }
  }

  listRules(projectId: string): SecurityGroupRule[] {
    this.ensureDefault(projectId);
    return [...this.rules.values()].filter((r) => r.projectId === projectId);
  }

  rule(projectId: string, id: string): SecurityGroupRule {
    const r = this.rules.get(id);
    if (!r || r.projectId !== projectId) throw new ComputeError(404, `Security group rule ${id} does not exist`, 'SecurityGroupRuleNotFound');
    return r;
  }

  deleteRule(projectId: string, id: string): void {
    const r = this.rule(projectId, id);
    this.rules.delete(id);
    this.touch(r.securityGroupId);
  }

  /** The plugin's checks of a converted rule, in Neutron's order, then the duplicate check; returns the new rule. */
  createRule(projectId: string, input: RuleInput): SecurityGroupRule {
    this.ensureDefault(projectId);
    const rule = { ...input };
    if (rule.ethertype === 'IPv6') {
      if (rule.protocol === 'icmp' || rule.protocol === 'icmpv6') rule.protocol = 'ipv6-icmp';
      else if (rule.protocol === '1') rule.protocol = '58';
    }
    if (rule.portRangeMin === 1 && rule.portRangeMax === 65535) {
      rule.portRangeMin = null;
      rule.portRangeMax = null;
    }
    this.checkPorts(rule);
    let normalizedCidr: string | null = null;
    if (rule.remoteIpPrefix !== null) {
      const prefix = parsePrefix(rule.remoteIpPrefix);
      if (!prefix) throw invalid('InvalidCIDR', `Invalid CIDR ${rule.remoteIpPrefix} given as IP prefix.`);
      if (rule.ethertype !== `IPv${prefix.version}`) {
        throw invalid('SecurityGroupRuleParameterConflict', `Conflicting value ethertype ${rule.ethertype} for CIDR ${rule.remoteIpPrefix}`);
      }
      rule.remoteIpPrefix = prefix.text;
      normalizedCidr = prefix.network;
    }
    if (rule.protocol !== null && IPV6_ONLY_PROTOCOLS.includes(rule.protocol) && rule.ethertype === 'IPv4') {
      throw invalid('SecurityGroupEthertypeConflictWithProtocol', `Invalid ethertype ${rule.ethertype} for protocol ${rule.protocol}.`);
    }
    const remotes = [rule.remoteIpPrefix, rule.remoteGroupId, rule.remoteAddressGroupId].filter((x) => x !== null);
    if (remotes.length > 1) {
      throw invalid('SecurityGroupMultipleRemoteEntites', 'Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.');
    }
    if (rule.remoteGroupId !== null) this.get(projectId, rule.remoteGroupId);
    if (rule.remoteAddressGroupId !== null) {
      throw new ComputeError(404, `Address group ${rule.remoteAddressGroupId} could not be found.`, 'AddressGroupNotFound');
    }
    this.get(projectId, rule.securityGroupId);
    const key = ruleKey(rule);
    const same = this.rulesOf(rule.securityGroupId).find((r) => ruleKey({ ...r, remoteAddressGroupId: null }) === key);
    if (same) throw inUse('SecurityGroupRuleExists', `Security group rule already exists. Rule id is ${same.id}.`);
    const created = this.insertRule(projectId, { ...rule, normalizedCidr });
    this.touch(rule.securityGroupId);
    return created;
  }

  /**
   * Nova's lookup of a requested group (by id, then by name, within the project), with the errors
   * Nova passes on from neutronclient: 404-as-message when none, NoUniqueMatch when several.
   */
  resolve(projectId: string, nameOrId: string): SecurityGroup {
    const groups = this.list(projectId);
    const byId = groups.find((g) => g.id === nameOrId);
    if (byId) return byId;
    const named = groups.filter((g) => g.name === nameOrId);
    if (named.length > 1) {
      throw new ComputeError(409, `Multiple security_group matches found for name '${nameOrId}', use an ID to be more specific.`, 'NoUniqueMatch');
    }
    if (named.length === 0) throw new ComputeError(404, `Unable to find security_group with name or id '${nameOrId}'`, 'SecurityGroupNotFound');
    return named[0] as SecurityGroup;
  }

  /** Every group of every project, for tests that check what is left. */
  summaries(): Array<{ id: string; name: string; projectId: string; rules: number }> {
    return [...this.groups.values()].map((g) => ({ id: g.id, name: g.name, projectId: g.projectId, rules: this.rulesOf(g.id).length }));
  }

  bind(serverId: string, groupIds: string[]): void {
    this.bindings.set(serverId, [...new Set(groupIds)]);
  }

  /** The groups on a server's ports (ids); none when the server was never bound. */
  boundGroups(serverId: string): string[] {
    return [...(this.bindings.get(serverId) ?? [])].filter((id) => this.groups.has(id));
  }

  group(id: string): SecurityGroup | undefined {
    return this.groups.get(id);
  }

  /** Whether a server that still exists carries the group (bindings of servers gone are dropped here). */
  private boundTo(groupId: string, liveServers: ReadonlySet<string>): boolean {
    for (const [serverId, ids] of this.bindings) {
      if (!liveServers.has(serverId)) {
        this.bindings.delete(serverId);
        continue;
      }
      if (ids.includes(groupId)) return true;
    }
    return false;
  }

  private checkPorts(rule: RuleInput): void {
    const { portRangeMin: min, portRangeMax: max } = rule;
    if (min === null && max === null) return;
    if (rule.protocol === null) throw invalid('SecurityGroupProtocolRequiredWithPorts', 'Must also specify protocol if port range is given.');
    const proto = protocolNumber(rule.protocol);
    if (PORT_PROTOCOL_NUMBERS.includes(proto) || PORT_PROTOCOL_NAMES.includes(rule.protocol)) {
      if (min === 0 || max === 0) throw invalid('SecurityGroupInvalidPortValue', 'Invalid value for port 0');
      if (min === null || max === null || min > max) {
        throw invalid('SecurityGroupInvalidPortRange', 'For TCP/UDP protocols, port_range_min must be <= port_range_max');
      }
    } else if (proto === 1 || proto === 58) {
      for (const [value, attr, field] of [[min, 'port_range_min', 'type'], [max, 'port_range_max', 'code']] as const) {
        if (value !== null && !(value >= 0 && value <= 255)) {
          throw invalid('SecurityGroupInvalidIcmpValue', `Invalid value for ICMP ${field} (${attr}) ${value}. It must be 0 to 255.`);
        }
      }
      if (min === null && max !== null) {
        throw invalid('SecurityGroupMissingIcmpType', `ICMP code (port-range-max) ${max} is provided but ICMP type (port-range-min) is missing.`);
      }
    } else {
      throw invalid(
        'SecurityGroupInvalidProtocolForPort',
        `Ports cannot be specified for protocol ${proto}. Ports are only supported for ${PORT_PROTOCOL_NAMES.map((p) => p.toUpperCase()).join(', ')}.`,
      );
    }
  }

  private blankRule(groupId: string, direction: 'ingress' | 'egress', ethertype: 'IPv4' | 'IPv6'): RuleInput {
    return {
      securityGroupId: groupId,
      direction,
      ethertype,
      protocol: null,
      portRangeMin: null,
      portRangeMax: null,
      remoteIpPrefix: null,
      remoteGroupId: null,
      remoteAddressGroupId: null,
      description: '',
    };
  }

  private insertGroup(projectId: string, name: string, description: string, stateful: boolean, isDefault: boolean): SecurityGroup {
    const now = this.now();
    const g: SecurityGroup = { id: this.ids.uuid(), projectId, name, description, stateful, isDefault, createdAtMs: now, updatedAtMs: now, revision: 1 };
    this.groups.set(g.id, g);
    return g;
  }

  private insertRule(projectId: string, input: RuleInput & { normalizedCidr?: string | null }): SecurityGroupRule {
    const r: SecurityGroupRule = {
      id: this.ids.uuid(),
      projectId,
      securityGroupId: input.securityGroupId,
      direction: input.direction,
      ethertype: input.ethertype,
      protocol: input.protocol,
      portRangeMin: input.portRangeMin,
      portRangeMax: input.portRangeMax,
      remoteIpPrefix: input.remoteIpPrefix,
      normalizedCidr: input.normalizedCidr ?? null,
      remoteGroupId: input.remoteGroupId,
      description: input.description,
      createdAtMs: this.now(),
    };
    this.rules.set(r.id, r);
    return r;
  }

  /** A rule added or removed later bumps its group's revision (rules made with the group do not). */
  private touch(groupId: string): void {
    const g = this.groups.get(groupId);
    if (!g) return;
    g.revision++;
    g.updatedAtMs = this.now();
  }
}
