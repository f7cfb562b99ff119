// Choosing the source image of a build among the images that carry its name (pure).
import type { GlanceImage } from '../openstack/glance.js';

export type SourceChoice = { ok: true; image: GlanceImage } | { ok: false; problem: string };

export function selectSource(images: GlanceImage[], name: string, pick: 'only' | 'newest' = 'only'): SourceChoice {
  const active = images
    .filter((i) => i.name === name && i.status === 'active')
    .sort((a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? '') || a.id.localeCompare(b.id));
  if (active.length === 0) {
    const other = images.filter((i) => i.name === name);
    return {
      ok: false,
      problem: other.length
        ? `source image "${name}" is not active (${other.map((i) => `${i.id} ${i.status}`).join(', ')})`
        : `source image "${name}" not found`,
    };
  }
  if (active.length > 1 && pick === 'only') {
    return {
      ok: false,
      problem: `${active.length} active images are named "${name}" (${active.map((i) => i.id).join(', ')}); set "source": { "pick": "newest" } to take the newest`,
    };
  }
  return { ok: true, image: active[0]! };
}
