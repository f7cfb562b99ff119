// What a build step creates in a cloud, declared as data: kind, target, name, id, run. The journal, gc, the "left behind" lines and the hints read this, never prose.

/**
 * Every kind a step may create. Ports and image uploads are for strategies still to come: they
 * describe and hint already; `deleteResource` learns them when their clients exist.
 */
export const RESOURCE_KINDS = ['server', 'keypair', 'image', 'floating-ip', 'volume', 'volume-snapshot', 'security-group', 'port', 'image-upload'] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

interface KindInfo {
  /** In messages: "floating IP". */
  label: string;
  /** The `openstack` command group: "floating ip". */
  cli: string;
  /**
   * How a resource whose id is not known yet is found: by its name, or (floating IPs, which have
   * none) by its description. A keypair's name is its id.
   */
  foundBy: 'name' | 'description' | 'id';
  /** Whether `openstack <cli> list` can filter by name (`--name`). */
  listsByName: boolean;
}

const KINDS: Record<ResourceKind, KindInfo> = {
  server: { label: 'server', cli: 'server', foundBy: 'name', listsByName: true },
  keypair: { label: 'keypair', cli: 'keypair', foundBy: 'id', listsByName: false },
  image: { label: 'image', cli: 'image', foundBy: 'name', listsByName: true },
  'floating-ip': { label: 'floating IP', cli: 'floating ip', foundBy: 'description', listsByName: false },
  volume: { label: 'volume', cli: 'volume', foundBy: 'name', listsByName: true },
  'volume-snapshot': { label: 'volume snapshot', cli: 'volume snapshot', foundBy: 'name', listsByName: true },
  'security-group': { label: 'security group', cli: 'security group', foundBy: 'name', listsByName: false },
  port: { label: 'port', cli: 'port', foundBy: 'name', listsByName: true },
  'image-upload': { label: 'image upload', cli: 'image', foundBy: 'name', listsByName: true },
};

export function kindInfo(kind: ResourceKind): Readonly<KindInfo> {
  return KINDS[kind];
}

/** One cloud + region. */
export interface ResourceTarget {
  cloud: string;
  region: string;
}

/**
 * A cloud resource of one run, as the step that creates it declares it: first as an intent (no id
 * yet: the name it is given, so a sweep and `gc` can find it), then created, with its id.
 */
export interface Resource extends ResourceTarget {
  kind: ResourceKind;
  /**
   * The name imagesync gives it. A floating IP has none: until its address is known this is its
   * description ("imagesync run <run id>"), then its address.
   */
  name: string;
  /** Known once the create call answered; a keypair's id is its name. */
  id?: string | undefined;
  /** The run that creates it (its tags, metadata or description say so in the cloud too). */
  runId: string;
  /** An image hidden from Glance's default listings (a claim): finding it by hand needs --hidden. */
  hidden?: boolean | undefined;
}

/** A resource whose id is known. */
export type CreatedResource = Resource & { id: string };

/** The id to act on: a keypair is addressed by its name, so its name is its id from the start. */
export function resourceId(r: Pick<Resource, 'kind' | 'id' | 'name'>): string | undefined {
  return KINDS[r.kind].foundBy === 'id' ? r.name : r.id;
}

/**
 * For messages: "server 1234 (imagesync-build-web-r1)", "keypair imagesync-key-web-r1",
 * "floating IP 172.24.4.7 (ab12…)"; before the id is known, what would be found: "any server named …".
 */
export function describeResource(r: Resource): string {
  const k = KINDS[r.kind];
  const id = resourceId(r);
  const hidden = r.hidden ? ', hidden' : '';
  if (k.foundBy === 'id') return `${k.label} ${r.name}${r.id ? '' : ', if it was created'}`;
  if (!id) return k.foundBy === 'description' ? `any ${k.label} described "${r.name}"` : `any ${k.label} named ${r.name}${r.hidden ? ' (hidden)' : ''}`;
  if (r.kind === 'floating-ip') return `${k.label} ${r.name} (${id})`;
  return `${k.label} ${id} (${r.name}${hidden})`;
}
