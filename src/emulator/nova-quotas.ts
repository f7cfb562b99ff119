// Nova's quota views: GET /limits and /os-quota-sets/{project} (show, detail, defaults), with Nova's default quotas and real usage.
import { jsonReply, type Reply } from './http.js';
import { ComputeError, type ComputeRegion } from './compute.js';
import type { Microversion } from './nova.js';

/** Nova's default quotas (nova.conf [quota]); the emulator does not enforce them. */
export const NOVA_DEFAULT_QUOTAS: Readonly<Record<string, number>> = {
  instances: 10,
  cores: 20,
  ram: 51200,
  metadata_items: 128,
  injected_files: 5,
  injected_file_content_bytes: 10240,
  injected_file_path_bytes: 255,
  key_pairs: 100,
  server_groups: 10,
  server_group_members: 10,
  fixed_ips: -1,
  floating_ips: -1,
  security_groups: -1,
  security_group_rules: -1,
};

const NETWORK_QUOTAS = ['fixed_ips', 'floating_ips', 'security_groups', 'security_group_rules'];
const PERSONALITY_QUOTAS = ['injected_files', 'injected_file_content_bytes', 'injected_file_path_bytes'];

function atLeast(v: Microversion, minor: number): boolean {
  return v[0] > 2 || (v[0] === 2 && v[1] >= minor);
}

/** The quotas a microversion shows: the network ones go at 2.36, the personality ones at 2.57. */
function visibleQuotas(v: Microversion): string[] {
  return Object.keys(NOVA_DEFAULT_QUOTAS).filter(
    (k) => !(atLeast(v, 36) && NETWORK_QUOTAS.includes(k)) && !(atLeast(v, 57) && PERSONALITY_QUOTAS.includes(k)),
  );
}

/** What the project (and the user, for key pairs) uses now: servers not yet gone, their flavors, the user's key pairs. */
function usage(compute: ComputeRegion, projectId: string, userId: string): Record<string, number> {
  const servers = compute.listServers(projectId).filter((s) => s.deletedAtMs === null);
  return {
    instances: servers.length,
    cores: servers.reduce((n, s) => n + s.flavor.vcpus, 0),
    ram: servers.reduce((n, s) => n + s.flavor.ram, 0),
    key_pairs: compute.listKeypairs(userId).length,
  };
}

/** From 2.75 Nova refuses query parameters these GETs do not know (before that it ignores them). */
function strictQuery(pairs: Array<[string, string]>, v: Microversion, allowed: string[]): void {
  if (!atLeast(v, 75)) return;
  const extra = [...new Set(pairs.map(([k]) => k).filter((k) => !allowed.includes(k)))];
  if (extra.length) throw new ComputeError(400, `Additional properties are not allowed (${extra.map((k) => `'${k}'`).join(', ')} ${extra.length === 1 ? 'was' : 'were'} unexpected)`);
}

const LIMIT_NAMES: Array<[string, string]> = [
  ['ram', 'maxTotalRAMSize'],
  ['instances', 'maxTotalInstances'],
  ['cores', 'maxTotalCores'],
  ['key_pairs', 'maxTotalKeypairs'],
  ['floating_ips', 'maxTotalFloatingIps'],
  ['metadata_items', 'maxServerMeta'],
  ['metadata_items', 'maxImageMeta'],
  ['injected_files', 'maxPersonality'],
  ['injected_file_content_bytes', 'maxPersonalitySize'],
  ['security_groups', 'maxSecurityGroups'],
  ['security_group_rules', 'maxSecurityGroupRules'],
  ['server_groups', 'maxServerGroups'],
  ['server_group_members', 'maxServerGroupMembers'],
];

const USED_NAMES: Array<[string, string]> = [
  ['totalRAMUsed', 'ram'],
  ['totalCoresUsed', 'cores'],
  ['totalInstancesUsed', 'instances'],
  ['totalFloatingIpsUsed', 'floating_ips'],
  ['totalSecurityGroupsUsed', 'security_groups'],
  ['totalServerGroupsUsed', 'server_groups'],
];

export interface QuotaCall {
  pairs: Array<[string, string]>;
  projectId: string;
  userId: string;
  version: Microversion;
}

/** GET /limits: absolute limits and what is used (`rate` has been empty since v2.1). */
export function limitsReply(compute: ComputeRegion, call: QuotaCall): Reply {
  strictQuery(call.pairs, call.version, ['tenant_id']);
  const projectId = call.pairs.find(([k]) => k === 'tenant_id')?.[1] ?? call.projectId;
  const shown = visibleQuotas(call.version);
  const used = usage(compute, projectId, call.userId);
  const absolute: Record<string, number> = {};
  for (const [quota, name] of LIMIT_NAMES) {
    if (!shown.includes(quota) || (name === 'maxImageMeta' && atLeast(call.version, 39))) continue;
    absolute[name] = NOVA_DEFAULT_QUOTAS[quota] as number;
  }
  for (const [name, quota] of USED_NAMES) if (shown.includes(quota)) absolute[name] = used[quota] ?? 0;
  return jsonReply(200, { limits: { rate: [], absolute } });
}

function policyRefusal(action: string): ComputeError {
  // The emulator's flavors and quotas are the operator's: fixed, like a cloud where the caller is no compute admin.
  return new ComputeError(403, `Policy doesn't allow os_compute_api:os-quota-sets:${action} to be performed.`);
}

/** /os-quota-sets/{project}[/detail|/defaults]; `known` says whether Keystone has the project (undefined: cannot tell, as Nova then assumes it does). */
export function quotaSetsReply(
  compute: ComputeRegion,
  method: string,
  projectId: string,
  view: 'show' | 'detail' | 'defaults',
  call: QuotaCall,
  known: boolean | undefined,
): Reply {
  if (method === 'PUT') throw policyRefusal('update');
  if (method === 'DELETE') throw policyRefusal('delete');
  strictQuery(call.pairs, call.version, view === 'defaults' ? [] : ['user_id']);
  if (view !== 'defaults' && known === false) throw new ComputeError(400, `Project ID ${projectId} is not a valid project.`);
  const shown = visibleQuotas(call.version);
  const userId = call.pairs.find(([k]) => k === 'user_id')?.[1] ?? call.userId;
  const used = usage(compute, projectId, userId);
  const quotaSet: Record<string, unknown> = { id: projectId };
  for (const k of shown) {
    const limit = NOVA_DEFAULT_QUOTAS[k] as number;
    quotaSet[k] = view === 'detail' ? { in_use: used[k] ?? 0, limit, reserved: 0 } : limit;
  }
  return jsonReply(200, { quota_set: quotaSet });
}
