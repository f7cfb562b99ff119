// What travels with a copy's bytes: disk and container format, min_disk, min_ram, tags, and the properties worth keeping (pure).
import type { GlanceImage } from '../openstack/glance.js';

/** The fields a copy is created with (Glance's create body, properties flattened in). */
export interface CopyFields {
  disk_format: string;
  container_format: string;
  min_disk: number;
  min_ram: number;
  tags: string[];
  properties: Record<string, string>;
}

/** Glance's own attributes: set by Glance or sent apart, never as a property. */
const CORE = new Set([
  'id', 'name', 'status', 'visibility', 'protected', 'os_hidden', 'checksum', 'os_hash_algo', 'os_hash_value', 'size',
  'virtual_size', 'disk_format', 'container_format', 'min_ram', 'min_disk', 'owner', 'tags', 'created_at', 'updated_at',
  'self', 'file', 'schema', 'stores', 'locations', 'direct_url', 'deleted', 'deleted_at',
]);

/**
 * Nova's snapshot properties that name things of the source region (its server, user, volumes):
 * meaningless, or misleading, anywhere else.
 */
const REGION_BOUND = new Set([
  'instance_uuid', 'image_location', 'image_state', 'image_type', 'user_id', 'owner_user_name', 'owner_project_name',
  'base_image_ref', 'boot_roles', 'block_device_mapping', 'bdm_v2', 'root_device_name',
]);

/** A property Glance reserves (os_glance_*), or one of its own attributes. */
function keep(key: string, value: unknown): value is string {
  return typeof value === 'string' && !CORE.has(key) && !REGION_BOUND.has(key) && !key.startsWith('os_glance');
}

/** The fields of a copy of `img`: its formats, minimums, tags and portable properties (provenance and recipe included). */
export function fieldsOf(img: GlanceImage): CopyFields {
  const properties: Record<string, string> = {};
  for (const [k, v] of Object.entries(img)) if (keep(k, v)) properties[k] = v;
  return {
    disk_format: typeof img.disk_format === 'string' ? img.disk_format : 'raw',
    container_format: typeof img.container_format === 'string' ? img.container_format : 'bare',
    min_disk: typeof img.min_disk === 'number' ? img.min_disk : 0,
    min_ram: typeof img.min_ram === 'number' ? img.min_ram : 0,
    tags: Array.isArray(img.tags) ? img.tags.filter((t): t is string => typeof t === 'string') : [],
    properties,
  };
}
