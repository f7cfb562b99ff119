// Neutron's security-groups and security-group-rules API (v2.0): request bodies checked as Neutron's attribute maps do, views as Neutron 21 shows them.
import { emptyReply, isoSeconds, jsonReply, readBody, type Reply } from './http.js';
import { ComputeError, type ComputeRegion } from './compute.js';
import { IP_PROTOCOL_MAP, type RuleInput, type SecurityGroup, type SecurityGroupRule, type SecurityGroupStore } from './security-groups.js';
import type { ComputeCaller } from './image-backend.js';
import { neutronList } from './neutron-query.js';
import type { RouteContext } from './world.js';

export interface SecurityGroupCall {
  ctx: RouteContext;
  caller: ComputeCaller;
}

export interface SecurityGroupHandler {
  kind: string;
  run(call: SecurityGroupCall): Promise<Reply>;
}

function bad(message: string, type = 'HTTPBadRequest'): ComputeError {
  return new ComputeError(400, message, type);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Python's str() of a JSON value, as Neutron's messages show what it got. */
function py(v: unknown): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

async function resourceBody(ctx: RouteContext, resource: string): Promise<Record<string, unknown>> {
  const raw = await readBody(ctx.req, 1024 * 1024);
  let body: unknown;
  try {
    body = raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'));
  } catch {
    throw bad('Malformed request body');
  }
  if (body === undefined || (isObject(body) && Object.keys(body).length === 0)) throw bad('Resource body required');
  if (!isObject(body)) throw bad('Body contains invalid data');
  if (`${resource}s` in body) throw bad('Bulk operation not supported');
  const res = body[resource];
  if (res === undefined || res === null) throw bad(`Unable to find '${resource}' in request body`);
  if (!isObject(res)) throw bad(`Object '${resource}' contains invalid data`);
  return res;
}

/** Neutron's verify_attributes, and the owner check: only the caller's own project (the emulator scopes Neutron to it). */
function checkKeys(res: Record<string, unknown>, allowed: string[], caller: ComputeCaller): void {
  const extra = Object.keys(res).filter((k) => !allowed.includes(k) && k !== 'tenant_id' && k !== 'project_id');
  if (extra.length) throw bad(`Unrecognized attribute(s) '${extra.join(', ')}'`);
  for (const k of ['tenant_id', 'project_id']) {
    if (res[k] !== undefined && res[k] !== caller.projectId) {
      throw new ComputeError(403, `The emulator keeps each project's security groups to itself: ${k} must be ${caller.projectId}`, 'HTTPForbidden');
    }
  }
}

function stringAttr(res: Record<string, unknown>, attr: string, fallback: string): string {
  const v = res[attr];
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw bad(`Invalid input for ${attr}. Reason: '${py(v)}' is not a valid string.`);
  if (v.length > 255) throw bad(`Invalid input for ${attr}. Reason: '${v}' exceeds maximum length of 255.`);
  return v;
}

function booleanAttr(res: Record<string, unknown>, attr: string, fallback: boolean): boolean {
  const v = res[attr];
  if (v === undefined) return fallback;
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  if (['true', '1', 't', 'yes', 'y', 'on'].includes(s)) return true;
  if (['false', '0', 'f', 'no', 'n', 'off'].includes(s)) return false;
  throw bad(`Invalid input for operation: '${py(v)}' cannot be converted to boolean.`, 'InvalidInput');
}

function groupName(res: Record<string, unknown>, fallback: string): string {
  const name = stringAttr(res, 'name', fallback);
  if (res.name !== undefined && name.toLowerCase() === 'default') {
    throw new ComputeError(409, 'Default security group already exists.', 'SecurityGroupDefaultAlreadyExists');
  }
  return name;
}

function convertProtocol(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  const values = `[None, ${Object.keys(IP_PROTOCOL_MAP).map((k) => `'${k}'`).join(', ')}]`;
  const refuse = (): ComputeError =>
    bad(`Security group rule protocol ${py(v)} not supported. Only protocol values ${values} and integer representations [0 to 255] are supported.`, 'SecurityGroupRuleInvalidProtocol');
  if (typeof v === 'number' || (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v))) {
    const n = Number(v);
    if (Number.isInteger(n) && n >= 0 && n <= 255) return String(v).trim();
    throw refuse();
  }
  if (typeof v === 'string' && v.toLowerCase() in IP_PROTOCOL_MAP) return v.toLowerCase();
  throw refuse();
}

function convertPort(v: unknown): number | null {
  if (v === undefined || v === null) return null;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw bad(`Invalid value for port ${py(v)}`, 'SecurityGroupInvalidPortValue');
  return n;
}

function convertEthertype(v: unknown): 'IPv4' | 'IPv6' {
  if (v === undefined) return 'IPv4';
  if (typeof v === 'string') {
    if (v.toLowerCase() === 'ipv4') return 'IPv4';
    if (v.toLowerCase() === 'ipv6') return 'IPv6';
  }
  throw bad(`Security group rule for ethertype '${py(v)}' not supported. Allowed values are ['IPv4', 'IPv6'].`, 'SecurityGroupRuleInvalidEtherType');
}

const RULE_ATTRS = ['security_group_id', 'remote_group_id', 'direction', 'protocol', 'port_range_min', 'port_range_max', 'ethertype', 'remote_ip_prefix', 'description', 'remote_address_group_id'];

/** A rule body through Neutron's attribute processing: unknown keys, required ones, then each value in attribute-map order. */
function parseRule(res: Record<string, unknown>, caller: ComputeCaller): RuleInput {
  checkKeys(res, RULE_ATTRS, caller);
  for (const attr of ['security_group_id', 'direction']) {
    if (!(attr in res)) throw bad(`Failed to parse request. Required attribute '${attr}' not specified`);
  }
  const sg = res.security_group_id;
  if (typeof sg !== 'string') throw bad(`Invalid input for security_group_id. Reason: '${py(sg)}' is not a valid string.`);
  if (sg.length > 36) throw bad(`Invalid input for security_group_id. Reason: '${sg}' exceeds maximum length of 36.`);
  const remoteGroup = res.remote_group_id ?? null;
  const direction = res.direction;
  if (direction !== 'ingress' && direction !== 'egress') {
    throw bad(`Invalid input for direction. Reason: ${py(direction)} is not in valid_values.`);
  }
  const protocol = convertProtocol(res.protocol);
  const portRangeMin = convertPort(res.port_range_min);
  const portRangeMax = convertPort(res.port_range_max);
  const ethertype = convertEthertype(res.ethertype);
  const prefix = res.remote_ip_prefix ?? null;
  if (prefix !== null && typeof prefix !== 'string') throw bad(`Invalid CIDR ${py(prefix)} given as IP prefix.`, 'InvalidCIDR');
  const remoteAddressGroup = res.remote_address_group_id ?? null;
  return {
    securityGroupId: sg,
    direction,
    ethertype,
    protocol,
    portRangeMin,
    portRangeMax,
    remoteIpPrefix: prefix === '' ? null : prefix,
    remoteGroupId: remoteGroup === null ? null : py(remoteGroup),
    remoteAddressGroupId: remoteAddressGroup === null ? null : py(remoteAddressGroup),
    description: stringAttr(res, 'description', ''),
  };
}

export function ruleView(r: SecurityGroupRule): Record<string, unknown> {
  return {
    id: r.id,
    tenant_id: r.projectId,
    security_group_id: r.securityGroupId,
    ethertype: r.ethertype,
    direction: r.direction,
    protocol: r.protocol,
    port_range_min: r.portRangeMin,
    port_range_max: r.portRangeMax,
    remote_ip_prefix: r.remoteIpPrefix,
    remote_address_group_id: null,
    normalized_cidr: r.normalizedCidr,
    remote_group_id: r.remoteGroupId,
    description: r.description,
    created_at: isoSeconds(r.createdAtMs),
    updated_at: isoSeconds(r.createdAtMs),
    revision_number: 0,
    project_id: r.projectId,
  };
}

function groupView(store: SecurityGroupStore, g: SecurityGroup): Record<string, unknown> {
  return {
    id: g.id,
    name: g.name,
    stateful: g.stateful,
    tenant_id: g.projectId,
    description: g.description,
    shared: false,
    security_group_rules: store.rulesOf(g.id).map(ruleView),
    tags: [],
    created_at: isoSeconds(g.createdAtMs),
    updated_at: isoSeconds(g.updatedAtMs),
    revision_number: g.revision,
    project_id: g.projectId,
  };
}

function liveServers(compute: ComputeRegion): Set<string> {
  return new Set(compute.servers.keys());
}

/** The handler for a security group path (after the network endpoint), or undefined. */
export function securityGroupHandler(compute: ComputeRegion, method: string, path: string): SecurityGroupHandler | undefined {
  const store = compute.securityGroups;
  const table = (kind: string, handlers: Record<string, (call: SecurityGroupCall) => Reply | Promise<Reply>>): SecurityGroupHandler => {
    const h = handlers[method] ?? (method === 'HEAD' ? handlers.GET : undefined);
    if (!h) return { kind: 'network.other', run: async () => { throw new ComputeError(405, `The method ${method} is not allowed for this resource.`, 'HTTPMethodNotAllowed'); } };
    return { kind: `network.${kind}`, run: async (call) => h(call) };
  };
  if (path === '/v2.0/security-groups') {
    return table('security-groups', {
      GET: ({ ctx, caller }) =>
        jsonReply(200, { security_groups: neutronList(store.list(caller.projectId).map((g) => groupView(store, g)), ctx.pairs) }),
      POST: async ({ ctx, caller }) => {
        const res = await resourceBody(ctx, 'security_group');
        checkKeys(res, ['name', 'description', 'stateful'], caller);
        const name = groupName(res, '');
        const description = stringAttr(res, 'description', '');
        const stateful = booleanAttr(res, 'stateful', true);
        const g = store.create(caller.projectId, { name, description, stateful });
        return jsonReply(201, { security_group: groupView(store, g) });
      },
    });
  }
  let m = /^\/v2\.0\/security-groups\/([^/]+)$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1] as string);
    return table('security-group', {
      GET: ({ caller }) => {
        store.ensureDefault(caller.projectId);
        return jsonReply(200, { security_group: groupView(store, store.get(caller.projectId, id)) });
      },
      PUT: async ({ ctx, caller }) => {
        const res = await resourceBody(ctx, 'security_group');
        for (const readOnly of ['id', 'tenant_id', 'project_id', 'security_group_rules', 'shared']) {
          if (readOnly in res) throw bad(`Cannot update read-only attribute ${readOnly}`);
        }
        checkKeys(res, ['name', 'description', 'stateful'], caller);
        const change: { name?: string; description?: string; stateful?: boolean } = {};
        if ('name' in res) change.name = groupName(res, '');
        if ('description' in res) change.description = stringAttr(res, 'description', '');
        if ('stateful' in res) change.stateful = booleanAttr(res, 'stateful', true);
        const g = store.update(caller.projectId, id, change, liveServers(compute));
        return jsonReply(200, { security_group: groupView(store, g) });
      },
      DELETE: ({ caller }) => {
        store.delete(caller.projectId, id, liveServers(compute));
        return emptyReply(204);
      },
    });
  }
  if (path === '/v2.0/security-group-rules') {
    return table('security-group-rules', {
      GET: ({ ctx, caller }) => jsonReply(200, { security_group_rules: neutronList(store.listRules(caller.projectId).map(ruleView), ctx.pairs) }),
      POST: async ({ ctx, caller }) => {
        const res = await resourceBody(ctx, 'security_group_rule');
        const rule = store.createRule(caller.projectId, parseRule(res, caller));
        return jsonReply(201, { security_group_rule: ruleView(rule) });
      },
    });
  }
  m = /^\/v2\.0\/security-group-rules\/([^/]+)$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1] as string);
    return table('security-group-rule', {
      GET: ({ caller }) => jsonReply(200, { security_group_rule: ruleView(store.rule(caller.projectId, id)) }),
      DELETE: ({ caller }) => {
        store.deleteRule(caller.projectId, id);
        return emptyReply(204);
      },
    });
  }
  return undefined;
}
