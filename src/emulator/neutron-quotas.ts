// Neutron's GET /v2.0/quotas/{project}[/details] (and /quotas/{project}/default): Neutron's default quotas and what the project uses.
import { jsonReply, type Reply } from './http.js';
import { ComputeError, type ComputeRegion } from './compute.js';
import type { ComputeCaller } from './image-backend.js';
import type { RouteContext } from './world.js';

/** Neutron 21's defaults (neutron.conf [quotas]); the emulator does not enforce them. */
export const NEUTRON_DEFAULT_QUOTAS: Readonly<Record<string, number>> = {
  network: 100,
  subnet: 100,
  subnetpool: -1,
  port: 500,
  router: 10,
  floatingip: 50,
  security_group: 10,
  security_group_rule: 100,
  rbac_policy: 10,
};

export interface NeutronQuotaHandler {
  kind: string;
  run(call: { ctx: RouteContext; caller: ComputeCaller }): Promise<Reply>;
}

function used(compute: ComputeRegion, projectId: string): Record<string, number> {
  return {
    network: compute.networks.length,
    subnet: compute.networks.length,
    port: [...compute.ports.values()].filter((p) => p.projectId === projectId).length,
    floatingip: [...compute.floatingIps.values()].filter((f) => f.projectId === projectId).length,
    security_group: compute.securityGroups.list(projectId).length,
    security_group_rule: compute.securityGroups.listRules(projectId).length,
  };
}

export function neutronQuotaHandler(compute: ComputeRegion, method: string, path: string): NeutronQuotaHandler | undefined {
  const m = /^\/v2\.0\/quotas\/([^/]+)(\/details|\/default)?$/.exec(path);
  if (!m) return undefined;
  const projectId = decodeURIComponent(m[1] as string);
  const view = m[2];
  return {
    kind: 'network.quotas',
    run: async () => {
      if (method === 'PUT' || method === 'DELETE') {
        // Quotas are the operator's: refused as Neutron refuses a caller without the admin role.
        throw new ComputeError(403, `rule:${method === 'PUT' ? 'update' : 'delete'}_quota is disallowed by policy`, 'PolicyNotAuthorized');
      }
      if (method !== 'GET' && method !== 'HEAD') throw new ComputeError(405, `The method ${method} is not allowed for this resource.`, 'HTTPMethodNotAllowed');
      if (view !== '/details') return jsonReply(200, { quota: { ...NEUTRON_DEFAULT_QUOTAS } });
      const inUse = used(compute, projectId);
      const quota = Object.fromEntries(
        Object.entries(NEUTRON_DEFAULT_QUOTAS).map(([k, limit]) => [k, { used: inUse[k] ?? 0, limit, reserved: 0 }]),
      );
      return jsonReply(200, { quota });
    },
  };
}
