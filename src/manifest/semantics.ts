// Checks a schema-valid manifest for what a schema cannot say: names used twice, regions outside the targets.
import { didYouMean } from './suggest.js';
import { problemAt } from './json-path.js';
import type { Manifest } from './schema.js';

/** Problems with names and regions, each a one-line `json.path: message`. Pure. */
export function checkSemantics(m: Manifest): string[] {
  return [...checkImageNames(m), ...checkTargets(m), ...checkImageRegions(m)];
}

function checkImageNames(m: Manifest): string[] {
  const problems: string[] = [];
  const firstIndex = new Map<string, number>();
  m.images.forEach((image, i) => {
    const first = firstIndex.get(image.name);
    if (first === undefined) firstIndex.set(image.name, i);
    else problems.push(problemAt(['images', i, 'name'], `${JSON.stringify(image.name)} is already used by images[${first}]; image names must be unique`));
  });
  return problems;
}

function checkTargets(m: Manifest): string[] {
  const problems: string[] = [];
  // cloud + region → where it was first listed, across all targets.
  const firstAt = new Map<string, string>();
  m.targets.forEach((target, t) => {
    const inThisTarget = new Map<string, number>();
    target.regions.forEach((region, r) => {
      const where = ['targets', t, 'regions', r];
      const sameTarget = inThisTarget.get(region);
      if (sameTarget !== undefined) {
        problems.push(problemAt(where, `${JSON.stringify(region)} is listed twice (also at targets[${t}].regions[${sameTarget}])`));
        return;
      }
      inThisTarget.set(region, r);
      const key = `${target.cloud}\u0000${region}`;
      const earlier = firstAt.get(key);
      if (earlier !== undefined) {
        problems.push(
          problemAt(where, `${target.cloud}/${region} is already a target at ${earlier}; list each cloud and region once`),
        );
        return;
      }
      firstAt.set(key, `targets[${t}].regions[${r}]`);
    });
  });
  return problems;
}

function checkImageRegions(m: Manifest): string[] {
  const problems: string[] = [];
  const targetRegions = [...new Set(m.targets.flatMap((t) => t.regions))];
  m.images.forEach((image, i) => {
    const seen = new Set<string>();
    image.regions?.forEach((region, r) => {
      const where = ['images', i, 'regions', r];
      if (seen.has(region)) {
        problems.push(problemAt(where, `${JSON.stringify(region)} is listed twice`));
        return;
      }
      seen.add(region);
      if (!targetRegions.includes(region)) {
        problems.push(
          problemAt(
            where,
            `${JSON.stringify(region)} is not a region of any target${didYouMean(region, targetRegions)} (target regions: ${targetRegions.join(', ')})`,
          ),
        );
      }
    });
  });
  return problems;
}
