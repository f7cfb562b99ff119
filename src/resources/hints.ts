// The one place that writes `openstack …` commands for a person: how to delete by hand what a build or gc could not.
import { kindInfo, resourceId, type Resource } from './resource.js';

/** `openstack --os-cloud <cloud> --os-region-name <region>`: the prefix of every hint. */
export function openstackCli(r: Pick<Resource, 'cloud' | 'region'>): string {
  return `openstack --os-cloud ${r.cloud} --os-region-name ${r.region}`;
}

/**
 * The command that deletes it; before its id is known (or when a create may have made two), how to
 * find it first: by its name (or a floating IP's description) and run.
 */
export function deleteHint(r: Resource): string {
  const os = openstackCli(r);
  const k = kindInfo(r.kind);
  const id = resourceId(r);
  if (id) return `${os} ${k.cli} delete ${id}`;
  if (k.foundBy === 'description') return `${os} ${k.cli} list --long (then: ${k.cli} delete <id> for each described "${r.name}")`;
  if (!k.listsByName) return `${os} ${k.cli} list (then: ${k.cli} delete <id> of each named ${r.name})`;
  // Nova's name filter is a regular expression; Glance's and the others' are exact.
  const name = r.kind === 'server' ? `'^${r.name}$'` : r.name;
  const which = r.kind === 'server' || r.kind === 'image' ? ` for each with imagesync_run=${r.runId}` : '';
  return `${os} ${k.cli} list --name ${name}${r.hidden ? ' --hidden' : ''} (then: ${k.cli} delete <id>${which})`;
}
