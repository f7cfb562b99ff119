// Retiring an image (pure name + one PATCH): renamed `<name> (<why> <date>)`, hidden, no longer published — never deleted here; servers booted from it keep working (they name its id).
import { IMAGE_NAME_MAX_LENGTH } from '../manifest/schema.js';
import { setProperty, type GlanceClient, type GlanceImage } from '../openstack/glance.js';
import { MANAGED_PROPERTY } from '../plan/orphans.js';

export type RetiredWhy = 'superseded' | 'duplicate' | 'pruned';

/** `<name> (superseded 2026-11-29)`, cut so it stays within Glance's 255 characters. */
export function retiredName(name: string, why: RetiredWhy, at: Date): string {
  const suffix = ` (${why} ${at.toISOString().slice(0, 10)})`;
  return name.slice(0, IMAGE_NAME_MAX_LENGTH - suffix.length) + suffix;
}

/**
 * Rename and hide `id` in one PATCH, with `properties` saying why; it no longer counts as a
 * published image (so it is never taken for an orphan, nor listed by name).
 */
export async function retireImage(glance: GlanceClient, id: string, newName: string, properties: Record<string, string>, signal?: AbortSignal): Promise<GlanceImage> {
  return glance.patchImage(
    id,
    [
      { op: 'replace', path: '/name', value: newName },
      { op: 'replace', path: '/os_hidden', value: true },
      ...Object.entries(properties).map(([k, v]) => setProperty(k, v)),
      setProperty(MANAGED_PROPERTY, 'false'),
    ],
    signal,
  );
}
