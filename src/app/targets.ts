// Which targets and (image, target) pairs a run covers: the manifest's, narrowed by --target, then split by --shard.
import { UsageError } from '../errors.js';
import type { Manifest } from '../manifest/schema.js';
import { expandTargets, imageTargets } from '../manifest/targets.js';
import type { WantedPair } from '../plan/diff.js';
import { wantedSharing } from '../plan/sharing.js';
import { targetKey, type Target } from '../plan/types.js';
import { shardTargets, type Shard } from '../shard/shard.js';

/**
 * The targets `--target cloud/region` (repeatable) keeps, in manifest order; all of them without
 * the flag. A name that is not a target of the manifest is bad input, listing the targets.
 */
export function selectTargets<T extends Target>(all: readonly T[], only: readonly string[] | undefined): T[] {
  if (!only?.length) return [...all];
  const known = new Set(all.map(targetKey));
  const bad = only.filter((t) => !known.has(t));
  if (bad.length) {
    throw new UsageError(`--target ${bad.map((b) => JSON.stringify(b)).join(', ')}: not a target of the manifest (targets: ${[...known].join(', ')})`);
  }
  const keep = new Set(only);
  return all.filter((t) => keep.has(targetKey(t)));
}

/** The (image, target) pairs the manifest wants, narrowed by --target, then --shard; `unsharded`: the targets before --shard. */
export function wantedPairs(manifest: Manifest, only?: string[], shard?: Shard): { pairs: WantedPair[]; targets: Target[]; unsharded: number } {
  const all = expandTargets(manifest);
  const targets = selectTargets(all, only);
  const keep = new Set(targets.map(targetKey));
  const pairs: WantedPair[] = [];
  const wanted = new Set<string>();
  for (const image of manifest.images) {
    const sharing = wantedSharing(image);
    for (const t of imageTargets(manifest, image, all)) {
      const key = targetKey(t);
      if (!keep.has(key)) continue;
      pairs.push({ image: image.name, cloud: t.cloud, region: t.region, strategy: image.strategy, ...(sharing ? { sharing } : {}) });
      wanted.add(key);
    }
  }
  const used = targets.filter((t) => wanted.has(targetKey(t)));
  if (!shard) return { pairs, targets: used, unsharded: used.length };
  // --shard splits what is left after --target, so a CI matrix covers every target exactly once.
  const mine = new Set(shardTargets(used, shard).map(targetKey));
  return { pairs: pairs.filter((p) => mine.has(targetKey(p))), targets: used.filter((t) => mine.has(targetKey(t))), unsharded: used.length };
}
