// What every build needs (a flavor, an SSH user, a network), checked offline after merging defaults < target < image: a missing flavor is a problem (for a copy, only when no target has one), a missing user or network says where it will come from; an import needs none.
import { problemAt } from './json-path.js';
import type { Manifest } from './schema.js';
import { buildSettingsLookup, expandTargets, imageTargets, namesNetwork } from './targets.js';

export interface BuildNeeds {
  /** One-line `json.path: message` problems: bad input. */
  problems: string[];
  /** Settings left to the cloud, and where they will come from. */
  notes: string[];
}

export const SSH_USER_FROM_IMAGE = "the source image's os_admin_user property";
export const NETWORK_FROM_PROJECT = 'the one network the project can use (as Nova picks one)';

/** `acme/RegionOne, acme/RegionTwo`, or `every target` when it is all of them. */
function which(missing: string[], all: number): string {
  return missing.length === all ? (all === 1 ? `in ${missing[0]}` : 'in every target') : `in ${missing.join(', ')}`;
}

/** Pure. For each image and each of its targets, the merged build settings. */
export function checkBuildNeeds(m: Manifest): BuildNeeds {
  const problems: string[] = [];
  const notes: string[] = [];
  const settingsFor = buildSettingsLookup(m);
  const all = expandTargets(m);
  m.images.forEach((image, i) => {
    // An import boots nothing.
    if (image.strategy === 'import') return;
    const targets = imageTargets(m, image, all);
    const lacking = { flavor: [] as string[], user: [] as string[], network: [] as string[] };
    for (const t of targets) {
      const s = settingsFor(image, t.cloud, t.region);
      const key = `${t.cloud}/${t.region}`;
      if (!s.flavor) lacking.flavor.push(key);
      if (!s.ssh?.user) lacking.user.push(key);
      if (!namesNetwork(s)) lacking.network.push(key);
    }
    const name = JSON.stringify(image.name);
    // A copy is built once, in a target that can (plan picks it), and copied to the others.
    if (image.strategy === 'copy' ? lacking.flavor.length === targets.length : lacking.flavor.length) {
      problems.push(
        problemAt(['images', i, 'build', 'flavor'], `${name} has no flavor ${which(lacking.flavor, targets.length)}: set build.flavor in defaults.build, the target or the image (a build server needs one)`),
      );
    }
    if (lacking.user.length) notes.push(`images[${i}] ${name}: no build.ssh.user ${which(lacking.user, targets.length)}: from ${SSH_USER_FROM_IMAGE} (plan says where it has none)`);
    if (lacking.network.length) notes.push(`images[${i}] ${name}: no build.network ${which(lacking.network, targets.length)}: ${NETWORK_FROM_PROJECT} (plan says where there is none or several)`);
  });
  return { problems, notes };
}
