// Neutron (network v2.0) subset: networks, subnets, ports, floating IPs that really forward to the server's sshd.
import { emptyReply, isoSeconds, jsonReply, readJsonObject, type Reply } from './http.js';
import { ComputeError, type ComputeRegion, type FloatingIp, type Network, type Port } from './compute.js';
import type { ComputeCaller } from './image-backend.js';
import { neutronList } from './neutron-query.js';
import { neutronQuotaHandler } from './neutron-quotas.js';
import { securityGroupHandler } from './neutron-security-groups.js';
import type { Route, RouteContext, World } from './world.js';

export interface NeutronCall {
  ctx: RouteContext;
  caller: ComputeCaller;
}

export interface NeutronHandler {
  kind: string;
  run(call: NeutronCall): Promise<Reply>;
}

/** Neutron's error body: `{"NeutronError": {"type", "message", "detail"}}`. */
export function neutronError(status: number, type: string, message: string): Reply {
  return jsonReply(status, { NeutronError: { type, message, detail: '' } });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonBody(ctx: RouteContext): Promise<Record<string, unknown>> {
  return readJsonObject(ctx.req, (message) => new ComputeError(400, message, 'HTTPBadRequest'));
}

function networkView(n: Network, projectId: string): Record<string, unknown> {
  return {
    id: n.id,
    name: n.name,
    tenant_id: projectId,
    project_id: projectId,
    admin_state_up: true,
    mtu: 1500,
    status: 'ACTIVE',
    subnets: [n.subnetId],
    shared: n.external,
    'router:external': n.external,
    availability_zone_hints: [],
    availability_zones: ['nova'],
    ipv4_address_scope: null,
    ipv6_address_scope: null,
    port_security_enabled: true,
    description: '',
    tags: [],
    created_at: isoSeconds(n.createdAtMs),
    updated_at: isoSeconds(n.createdAtMs),
    revision_number: 1,
  };
}

/** `127.0.100.0/22` → `127.0.103.254`. */
function lastHostOf(cidr: string): string {
  const [base, bits] = cidr.split('/') as [string, string];
  const [a, b, c] = base.split('.').map(Number) as [number, number, number];
  const lastThird = c + 2 ** (24 - Number(bits)) - 1;
  return `${a}.${b}.${lastThird}.254`;
}

function subnetView(n: Network, projectId: string): Record<string, unknown> {
  const cidr = n.pool.cidr;
  const base = cidr.split('/')[0] as string;
  const gateway = base.replace(/\.0$/, '.1');
  return {
    id: n.subnetId,
    name: n.subnetName,
    network_id: n.id,
    tenant_id: projectId,
    project_id: projectId,
    ip_version: 4,
    cidr,
    gateway_ip: gateway,
    enable_dhcp: !n.external,
    allocation_pools: [{ start: base.replace(/\.0$/, '.2'), end: lastHostOf(cidr) }],
    dns_nameservers: [],
    host_routes: [],
    description: '',
    tags: [],
    created_at: isoSeconds(n.createdAtMs),
    updated_at: isoSeconds(n.createdAtMs),
    revision_number: 0,
  };
}

function portView(compute: ComputeRegion, p: Port): Record<string, unknown> {
  const server = compute.servers.get(p.deviceId);
  return {
    id: p.id,
    name: p.name,
    network_id: p.networkId,
    tenant_id: p.projectId,
    project_id: p.projectId,
    mac_address: p.macAddress,
    admin_state_up: true,
    status: server?.status === 'ACTIVE' ? 'ACTIVE' : 'DOWN',
    device_id: p.deviceId,
    device_owner: p.deviceId ? 'compute:nova' : '',
    fixed_ips: [{ subnet_id: p.subnetId, ip_address: p.address }],
    allowed_address_pairs: [],
    security_groups: compute.securityGroups.boundGroups(p.deviceId),
    port_security_enabled: true,
    description: '',
    tags: [],
    created_at: isoSeconds(p.createdAtMs),
    updated_at: isoSeconds(p.createdAtMs),
    revision_number: 1,
  };
}

function floatingView(compute: ComputeRegion, f: FloatingIp): Record<string, unknown> {
  const port = f.portId ? compute.ports.get(f.portId) : undefined;
  return {
    id: f.id,
    floating_ip_address: f.address,
    floating_network_id: f.networkId,
    router_id: null,
    port_id: f.portId,
    fixed_ip_address: port?.address ?? null,
    status: f.portId ? 'ACTIVE' : 'DOWN',
    tenant_id: f.projectId,
    project_id: f.projectId,
    description: f.description,
    tags: [],
    port_details: port
      ? { name: '', network_id: port.networkId, mac_address: port.macAddress, admin_state_up: true, status: 'ACTIVE', device_id: port.deviceId, device_owner: 'compute:nova' }
      : null,
    created_at: isoSeconds(f.createdAtMs),
    updated_at: isoSeconds(f.updatedAtMs),
    revision_number: 0,
  };
}

function str(v: unknown, field: string): string | null | undefined {
  if (v === undefined || v === null) return v as null | undefined;
  if (typeof v !== 'string') throw new ComputeError(400, `Invalid input for ${field}. Reason: '${String(v)}' is not a valid UUID.`, 'HTTPBadRequest');
  return v;
}

/** The handler for `path` (after `/network/<region>` or the network endpoint), or undefined. */
export function neutronHandler(compute: ComputeRegion, networkUrl: string, method: string, path: string): NeutronHandler | undefined {
  const table = (kind: string, handlers: Record<string, (call: NeutronCall) => Reply | Promise<Reply>>): NeutronHandler => {
    const h = handlers[method] ?? (method === 'HEAD' ? handlers.GET : undefined);
    if (!h) return { kind: 'network.other', run: async () => neutronError(405, 'HTTPMethodNotAllowed', `The method ${method} is not allowed for this resource.`) };
    return { kind: `network.${kind}`, run: async (call) => h(call) };
  };
  if (path === '' || path === '/') {
    return table('versions', {
      GET: () =>
        jsonReply(200, {
          versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ href: `${networkUrl}/v2.0/`, rel: 'self' }] }],
        }),
    });
  }
  if (path === '/v2.0/networks') {
    return table('networks', {
      GET: (call) =>
        jsonReply(200, { networks: neutronList(compute.networks.map((n) => networkView(n, call.caller.projectId)), call.ctx.pairs) }),
    });
  }
  let m = /^\/v2\.0\/networks\/([^/]+)$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1] as string);
    return table('network', {
      GET: (call) => {
        const n = compute.network(id);
        if (!n) throw new ComputeError(404, `Network ${id} could not be found.`, 'NetworkNotFound');
        return jsonReply(200, { network: networkView(n, call.caller.projectId) });
      },
    });
  }
  if (path === '/v2.0/subnets') {
    return table('subnets', {
      GET: (call) => jsonReply(200, { subnets: neutronList(compute.networks.map((n) => subnetView(n, call.caller.projectId)), call.ctx.pairs) }),
    });
  }
  if (path === '/v2.0/ports') {
    return table('ports', {
      GET: (call) =>
        jsonReply(200, {
          ports: neutronList(
            [...compute.ports.values()].filter((p) => p.projectId === call.caller.projectId).map((p) => portView(compute, p)),
            call.ctx.pairs,
          ),
        }),
      POST: async (call) => {
        const body = await jsonBody(call.ctx);
        const p = body.port;
        if (!isObject(p)) throw new ComputeError(400, "Resource body required: 'port'", 'HTTPBadRequest');
        const networkId = str(p.network_id, 'network_id');
        if (!networkId) throw new ComputeError(400, "Failed to parse request. Required attribute 'network_id' not specified", 'HTTPBadRequest');
        const port = await compute.createFreePort(call.caller, networkId, typeof p.name === 'string' ? p.name : '');
        return jsonReply(201, { port: portView(compute, port) });
      },
    });
  }
  m = /^\/v2\.0\/ports\/([^/]+)$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1] as string);
    return table('port', {
      GET: (call) => {
        const p = compute.ports.get(id);
        if (!p || p.projectId !== call.caller.projectId) throw new ComputeError(404, `Port ${id} could not be found.`, 'PortNotFound');
        return jsonReply(200, { port: portView(compute, p) });
      },
      DELETE: (call) => {
        compute.deleteFreePort(call.caller.projectId, id);
        return emptyReply(204);
      },
    });
  }
  if (path === '/v2.0/floatingips') {
    return table('floatingips', {
      GET: (call) =>
        jsonReply(200, {
          floatingips: neutronList(
            [...compute.floatingIps.values()].filter((f) => f.projectId === call.caller.projectId).map((f) => floatingView(compute, f)),
            call.ctx.pairs,
          ),
        }),
      POST: async (call) => {
        const body = await jsonBody(call.ctx);
        const f = body.floatingip;
        if (!isObject(f)) throw new ComputeError(400, "Resource body required: 'floatingip'", 'HTTPBadRequest');
        const networkId = str(f.floating_network_id, 'floating_network_id');
        if (!networkId) throw new ComputeError(400, "Failed to parse request. Required attribute 'floating_network_id' not specified", 'HTTPBadRequest');
        const portId = str(f.port_id, 'port_id') ?? null;
        const description = typeof f.description === 'string' ? f.description : '';
        const fip = await compute.createFloatingIp(call.caller, networkId, portId, description);
        return jsonReply(201, { floatingip: floatingView(compute, fip) });
      },
    });
  }
  m = /^\/v2\.0\/floatingips\/([^/]+)$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1] as string);
    return table('floatingip', {
      GET: (call) => jsonReply(200, { floatingip: floatingView(compute, compute.floatingIp(call.caller.projectId, id)) }),
      PUT: async (call) => {
        const body = await jsonBody(call.ctx);
        const f = body.floatingip;
        if (!isObject(f)) throw new ComputeError(400, "Resource body required: 'floatingip'", 'HTTPBadRequest');
        const portId = 'port_id' in f ? (str(f.port_id, 'port_id') ?? null) : compute.floatingIp(call.caller.projectId, id).portId;
        const fip = await compute.updateFloatingIp(call.caller.projectId, id, portId);
        return jsonReply(200, { floatingip: floatingView(compute, fip) });
      },
      DELETE: async (call) => {
        await compute.deleteFloatingIp(call.caller.projectId, id);
        return emptyReply(204);
      },
    });
  }
  return securityGroupHandler(compute, method, path) ?? neutronQuotaHandler(compute, method, path);
}

export async function runNeutron(handler: NeutronHandler, ctx: RouteContext, caller: ComputeCaller): Promise<Reply> {
  try {
    return await handler.run({ ctx, caller });
  } catch (err) {
    if (!(err instanceof ComputeError)) throw err;
    return neutronError(err.status, err.type, err.message);
  }
}

/** The emulator's route for `/network/<region><rest>`. */
export function neutronRoute(world: World, region: string, method: string, rest: string): Route {
  const compute = world.compute?.region(region);
  const networkUrl = `${world.baseUrl}/network/${region}`;
  const path = rest.replace(/\/+$/, '');
  const handler = compute ? neutronHandler(compute, networkUrl, method, path) : undefined;
  const versions = path === '';
  return {
    kind: handler?.kind ?? 'network.other',
    service: 'network',
    region,
    auth: versions ? 'none' : 'token',
    errorStyle: 'webob',
    run: (ctx) => {
      if (!handler) return neutronError(404, 'HTTPNotFound', 'The resource could not be found.');
      const t = ctx.token;
      const caller: ComputeCaller = t && t.projectId !== null ? { token: t.id, userId: t.userId, projectId: t.projectId } : { token: '', userId: '', projectId: '' };
      return runNeutron(handler, ctx, caller);
    },
  };
}
