// Source images in the plan (pure): what to read in each target to find them, and which one each entry builds from.
import { describeSpec, selectSource, sourceRead, sourceSpecFor } from '../build/source.js';
import type { WantedImage } from '../manifest/schema.js';
import type { GlanceImage } from '../openstack/glance.js';
import type { Observation, PlanSource, Target } from './types.js';

/** The source names and filter listings a target must read for these images. */
export function sourceReads(images: readonly WantedImage[], target: Target): { names: string[]; queries: string[] } {
  const names = new Set<string>();
  const queries = new Set<string>();
  for (const image of images) {
    const read = sourceRead(sourceSpecFor(image.source, target));
    if (read && 'name' in read) names.add(read.name);
    else if (read) queries.add(read.query);
  }
  return { names: [...names], queries: [...queries] };
}

/** `image`: the Glance image itself (its os_admin_user tells the SSH user). */
export type SourceFound = { ok: true; source: PlanSource; image: GlanceImage } | { ok: false; problem: string };

/**
 * The source image of `image` in the observed target, from what the observation read. `byName`: the
 * observation's images indexed by name (imagesByName), when the caller has them; else all are searched.
 */
export function sourceFound(image: WantedImage, obs: Observation & { ok: true }, byName?: ReadonlyMap<string, GlanceImage[]>): SourceFound {
  const spec = sourceSpecFor(image.source, obs);
  const read = sourceRead(spec);
  if (!read) return { ok: false, problem: 'no source image is named for this target and there is no filter' };
  let candidates = 'name' in read && byName ? (byName.get(read.name) ?? []) : obs.images;
  if ('query' in read) {
    const listed = obs.sourceLists?.[read.query];
    if (!listed) return { ok: false, problem: `source ${describeSpec(spec)}: finding images by metadata needs the image service (Glance), which this target does not offer` };
    candidates = listed;
  }
  const choice = selectSource(candidates, spec);
  if (!choice.ok) return choice;
  return { ok: true, source: { id: choice.image.id, name: choice.image.name, by: describeSpec(spec), of: choice.of }, image: choice.image };
}
