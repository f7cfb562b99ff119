// Images grouped by name, once per observation: a plan looks every wanted name up in every target (10,000 lookups at 50 regions × 200 names).
import type { GlanceImage } from '../openstack/glance.js';

/** Each name's images, in the order they were listed. */
export function imagesByName(images: readonly GlanceImage[]): Map<string, GlanceImage[]> {
  const out = new Map<string, GlanceImage[]>();
  for (const img of images) {
    if (img.name === null) continue;
    const list = out.get(img.name);
    if (list) list.push(img);
    else out.set(img.name, [img]);
  }
  return out;
}
