// Nova's smaller APIs beside servers: flavor extra specs, limits, quota sets, availability zones.
import { ComputeError, type ComputeRegion } from './compute.js';
import { jsonReply, type Reply } from './http.js';
import { availabilityZonesReply } from './nova-availability-zones.js';
import { flavorExtraSpecsReply } from './nova-flavor-extra-specs.js';
import { serverMetadataHandler } from './nova-server-metadata.js';
import { proxySecurityGroups } from './nova-security-groups.js';
import { limitsReply, quotaSetsReply, type QuotaCall } from './nova-quotas.js';
import type { ComputeCall, ComputeHandler, NovaLinks } from './nova-servers.js';

function quotaCall(call: ComputeCall): QuotaCall {
  return { pairs: call.ctx.pairs, projectId: call.caller.projectId, userId: call.caller.userId, version: call.version };
}

/** The handler for `path` (after `/v2.1`), or undefined. */
export function novaExtraHandler(compute: ComputeRegion, links: NovaLinks, method: string, path: string): ComputeHandler | undefined {
  const route = (kind: string, methods: string[], run: (call: ComputeCall) => Reply): ComputeHandler => ({
    kind: `compute.${kind}`,
    run: async (call) => {
      if (!methods.includes(method) && !(method === 'HEAD' && methods.includes('GET'))) {
        throw new ComputeError(405, `The method ${method} is not allowed for this resource.`);
      }
      return run(call);
    },
  });
  let m = /^\/flavors\/([^/]+)\/os-extra_specs(?:\/([^/]+))?$/.exec(path);
  if (m) {
    const flavorId = decodeURIComponent(m[1] as string);
    const key = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    const methods = key === undefined ? ['GET', 'POST'] : ['GET', 'PUT', 'DELETE'];
    return route('flavor.extra-specs', methods, () => flavorExtraSpecsReply(method, flavorId, key));
  }
  const metadata = serverMetadataHandler(compute, links, method, path);
  if (metadata) return metadata;
  if (path === '/limits') return route('limits', ['GET'], (call) => limitsReply(compute, quotaCall(call)));
  m = /^\/os-quota-sets\/([^/]+)(\/detail|\/defaults)?$/.exec(path);
  if (m) {
    const projectId = decodeURIComponent(m[1] as string);
    const view = m[2] === '/detail' ? 'detail' : m[2] === '/defaults' ? 'defaults' : 'show';
    const methods = view === 'show' ? ['GET', 'PUT', 'DELETE'] : ['GET'];
    return route(`quota-sets.${view}`, methods, (call) =>
      quotaSetsReply(compute, method, projectId, view, quotaCall(call), links.projectExists?.(projectId)),
    );
  }
  m = /^\/os-security-groups(?:\/([^/]+))?$/.exec(path);
  if (m) {
    const id = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
    return route(id === undefined ? 'security-groups' : 'security-group', ['GET'], (call) => {
      // The proxy went away at 2.36, as the image proxy did.
      if (call.version[0] > 2 || call.version[1] >= 36) throw new ComputeError(404, 'The resource could not be found.');
      return jsonReply(200, proxySecurityGroups(compute, call.caller.projectId, id));
    });
  }
  if (path === '/os-availability-zone' || path === '/os-availability-zone/detail') {
    const detail = path.endsWith('/detail');
    return route(detail ? 'availability-zones.detail' : 'availability-zones', ['GET'], () => availabilityZonesReply(detail, compute.now()));
  }
  return undefined;
}
