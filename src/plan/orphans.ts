// Orphans (pure): images imagesync published, or the lock file records, under names the manifest no longer has.
import { cmp, newestFirst } from '../order.js';
import type { GlanceImage } from '../openstack/glance.js';
import { targetKey, type FoundImage, type Observation, type PlanEntry } from './types.js';

/** Set at publish on every image imagesync gives its final name (constant: Glance filters on it server-side). */
export const MANAGED_PROPERTY = 'imagesync_managed';
/** The name imagesync published the image under: an image that still carries it is ours under that name. */
export const PUBLISHED_NAME_PROPERTY = 'imagesync_name';

const GONE = new Set(['deleted', 'pending_delete']);

export interface OrphanSources {
  /** Every image name of the manifest (wanted anywhere: an image narrowed to other regions is no orphan). */
  manifestNames: ReadonlySet<string>;
  /** "cloud/region" → name → the id the lock file records there. */
  locked: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

/**
 * Whether `image` is imagesync's under its current name: published with it (Nova copies properties
 * into snapshots of servers booted from our images, so the flag alone is not enough), or the id
 * the lock file records under that name. Temporary snapshots and claims (`imagesync-…`) and
 * retired (hidden) images never are.
 */
function ours(image: GlanceImage, lockedId: string | undefined): boolean {
  if (!image.name || image.name.startsWith('imagesync-') || image.os_hidden === true || GONE.has(image.status)) return false;
  if (image[MANAGED_PROPERTY] === 'true' && image[PUBLISHED_NAME_PROPERTY] === image.name) return true;
  return lockedId === image.id;
}

function found(i: GlanceImage): FoundImage {
  const recipe = i.imagesync_recipe;
  return { id: i.id, status: i.status, createdAt: i.created_at, hidden: i.os_hidden === true, recipe: typeof recipe === 'string' ? recipe : undefined };
}

/** One `orphaned` entry per name no longer in the manifest that carries an image of ours in this target, newest first. */
export function orphanEntries(obs: Observation, sources: OrphanSources): PlanEntry[] {
  if (!obs.ok) return [];
  const locked = sources.locked.get(targetKey(obs)) ?? new Map<string, string>();
  const byId = new Map<string, GlanceImage>();
  for (const i of [...obs.images, ...(obs.managed ?? [])]) byId.set(i.id, i);
  const byName = new Map<string, GlanceImage[]>();
  for (const i of byId.values()) {
    if (!i.name || sources.manifestNames.has(i.name) || !ours(i, locked.get(i.name))) continue;
    byName.set(i.name, [...(byName.get(i.name) ?? []), i]);
  }
  return [...byName.entries()]
    .sort(([a], [b]) => cmp(a, b))
    .map(([name, images]) => {
      const list = images.sort(newestFirst).map(found);
      const newest = images[0]!;
      const run = typeof newest.imagesync_run === 'string' ? `built by run ${newest.imagesync_run}` : 'recorded in the lock file';
      return {
        image: name,
        cloud: obs.cloud,
        region: obs.region,
        state: 'orphaned',
        images: list.map((f) => f.id),
        found: list,
        detail: `${list.map((f) => f.id).join(', ')} (${run}${newest.created_at ? `, ${newest.created_at.slice(0, 10)}` : ''}): no longer in the manifest; \`imagesync apply --prune\` retires it`,
      } satisfies PlanEntry;
    });
}
