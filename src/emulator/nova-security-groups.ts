// Nova's side of Neutron security groups: the groups a boot asks for, the server's groups as shown, add/removeSecurityGroup.
import { ComputeError, type ComputeRegion, type ServerRecord } from './compute.js';
import type { SecurityGroup, SecurityGroupRule } from './security-groups.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The groups a boot names (by name or id), as Nova 26 checks them before it creates the server:
 * none found is a 400 with neutronclient's words, an ambiguous name a 409. No groups means `default`.
 */
export function resolveBootGroups(compute: ComputeRegion, projectId: string, requested: string[]): SecurityGroup[] {
  const names = requested.length > 0 ? [...new Set(requested)] : ['default'];
  return names.map((name) => {
    try {
      return compute.securityGroups.resolve(projectId, name);
    } catch (err) {
      if (err instanceof ComputeError && err.status === 404) throw new ComputeError(400, err.message);
      throw err;
    }
  });
}

/** What a server view lists: the names of the groups on the server's ports, as Nova reads them from Neutron. */
export function serverGroupNames(compute: ComputeRegion, s: ServerRecord): Array<{ name: string }> {
  const ids = compute.securityGroups.boundGroups(s.id);
  if (ids.length === 0) return s.securityGroups.map((name) => ({ name }));
  return [...new Set(ids.map((id) => compute.securityGroups.group(id)?.name ?? id))].map((name) => ({ name }));
}

function groupNameOf(arg: unknown): string {
  if (!isObject(arg)) throw new ComputeError(400, 'Missing parameter dict');
  if (!('name' in arg)) throw new ComputeError(400, 'Security group not specified');
  const name = arg.name;
  if (typeof name !== 'string' || name.trim() === '') throw new ComputeError(400, 'Security group name cannot be empty');
  return name;
}

function lookup(compute: ComputeRegion, projectId: string, name: string): SecurityGroup {
  try {
    return compute.securityGroups.resolve(projectId, name);
  } catch (err) {
    if (err instanceof ComputeError && err.status === 404) throw new ComputeError(404, `Security group ${name} is not found for project ${projectId}`);
    throw err;
  }
}

/** `addSecurityGroup` / `removeSecurityGroup`: the server first (404), then the body, the group, and the server's ports. */
export function securityGroupAction(compute: ComputeRegion, projectId: string, serverId: string, action: 'addSecurityGroup' | 'removeSecurityGroup', arg: unknown): void {
  const server = compute.visibleServer(projectId, serverId);
  const name = groupNameOf(arg);
  const group = lookup(compute, projectId, name);
  if (server.ports.length === 0) throw new ComputeError(404, `instance_id ${serverId} could not be found as device id on any ports`);
  const bound = compute.securityGroups.boundGroups(serverId);
  if (action === 'addSecurityGroup') {
    if (bound.includes(group.id)) {
      throw new ComputeError(400, `Invalid input for security_groups. Reason: Duplicate items in the list: '${group.id}'.`);
    }
    compute.securityGroups.bind(serverId, [...bound, group.id]);
    return;
  }
  if (!bound.includes(group.id)) throw new ComputeError(404, `Security group ${name} not associated with the instance ${serverId}`);
  compute.securityGroups.bind(serverId, bound.filter((id) => id !== group.id));
}

/** A Neutron rule as Nova's os-security-groups proxy shows it (ingress rules only). */
function proxyRule(compute: ComputeRegion, r: SecurityGroupRule): Record<string, unknown> {
  const portless = r.protocol !== null && r.portRangeMin === null && r.portRangeMax === null;
  const wide = portless && ['tcp', 'udp'].includes(r.protocol?.toLowerCase() ?? '');
  const source = r.remoteGroupId === null ? undefined : compute.securityGroups.group(r.remoteGroupId);
  return {
    id: r.id,
    parent_group_id: r.securityGroupId,
    ip_protocol: r.protocol,
    from_port: portless ? (wide ? 1 : -1) : r.portRangeMin,
    to_port: portless ? (wide ? 65535 : -1) : r.portRangeMax,
    group: source ? { name: source.name, tenant_id: source.projectId } : {},
    ip_range: source ? {} : { cidr: r.remoteIpPrefix ?? '0.0.0.0/0' },
  };
}

function proxyGroup(compute: ComputeRegion, g: SecurityGroup): Record<string, unknown> {
  return {
    id: g.id,
    description: g.description,
    name: g.name,
    tenant_id: g.projectId,
    rules: compute.securityGroups.rulesOf(g.id).filter((r) => r.direction === 'ingress').map((r) => proxyRule(compute, r)),
  };
}

/** Nova's deprecated proxy to Neutron (up to 2.35): GET /os-security-groups[/{id}], which older clients still use to find a group. */
export function proxySecurityGroups(compute: ComputeRegion, projectId: string, id: string | undefined): Record<string, unknown> {
  if (id !== undefined) {
    try {
      return { security_group: proxyGroup(compute, compute.securityGroups.get(projectId, id)) };
    } catch (err) {
      if (err instanceof ComputeError && err.status === 404) throw new ComputeError(404, err.message);
      throw err;
    }
  }
  const groups = compute.securityGroups.list(projectId).map((g) => proxyGroup(compute, g));
  groups.sort((a, b) => `${a.tenant_id}\u0000${a.name}`.localeCompare(`${b.tenant_id}\u0000${b.name}`));
  return { security_groups: groups };
}
