// Checks a schema-valid manifest for what a schema cannot say: names used twice, regions outside the targets.
import { canonicalJson } from '../canonical-json.js';
import { didYouMean } from './suggest.js';
import { problemAt } from './json-path.js';
import { bastionHops, type BuildSettings, type Manifest } from './schema.js';
import { buildSettingsFor, buildSettingsLayers, buildSettingsLookup, expandTargets, imageTargets } from './targets.js';
import { inlineUserData, userDataSizeProblem } from './user-data.js';

/** Problems with names and regions, each a one-line `json.path: message`. Pure. */
export function checkSemantics(m: Manifest): string[] {
  return [...checkImageNames(m), ...checkTargets(m), ...checkImageRegions(m), ...checkSources(m), ...checkUserData(m), ...checkCopyUserData(m), ...checkPlacement(m)];
}

/**
 * Placement settings that cannot work together, per layer and per image in each of its targets
 * (as merged): both network and networks in one layer; ssh.interface "floating" without a pool, or
 * naming a network the server is not on; security groups asked of ports only (Nova applies groups
 * to the ports it makes, never to ports made beforehand); openFrom "runner" through a bastion.
 */
function checkPlacement(m: Manifest): string[] {
  const problems: string[] = [];
  for (const { settings, where } of buildSettingsLayers(m)) {
    if (settings?.network !== undefined && settings.networks !== undefined) {
      problems.push(problemAt([...where, 'networks'], 'give "network" or "networks", not both'));
    }
  }
  const settingsFor = buildSettingsLookup(m);
  const all = expandTargets(m);
  // The problems of one merged settings object, found once however many regions share it.
  const problemsOf = new Map<BuildSettings, string[]>();
  m.images.forEach((image, i) => {
    const byProblem = new Map<string, string[]>();
    for (const t of imageTargets(m, image, all)) {
      const s = settingsFor(image, t.cloud, t.region);
      const known = problemsOf.get(s);
      if (known) {
        for (const f of known) byProblem.set(f, [...(byProblem.get(f) ?? []), `${t.cloud}/${t.region}`]);
        continue;
      }
      const networks = s.networks ?? (s.network !== undefined ? [s.network] : []);
      const iface = s.ssh?.interface;
      const found: string[] = [];
      if (iface === 'floating' && s.floatingIpPool === undefined) found.push('ssh.interface "floating" needs build.floatingIpPool (the external network to take a floating IP from)');
      if (iface !== undefined && iface !== 'fixed' && iface !== 'floating' && !s.ports?.length && !networks.includes(iface)) {
        found.push(`ssh.interface ${JSON.stringify(iface)} is not one of the build server's networks (${networks.join(', ') || 'none'})${didYouMean(iface, [...networks, 'fixed', 'floating'])}`);
      }
      if (s.ssh?.ipVersion === 6 && s.floatingIpPool !== undefined && (iface === undefined || iface === 'floating')) {
        found.push('ssh.ipVersion 6 and a floating IP: Neutron\'s floating IPs are IPv4; set ssh.interface to "fixed" or a network name for IPv6');
      }
      if (s.ports?.length && !networks.length && (s.ssh?.openFrom !== undefined || s.securityGroups?.length)) {
        found.push('security groups (securityGroups, ssh.openFrom) apply only to the ports Nova makes for networks, not to ports made beforehand: give the ports their groups in Neutron, or add a network');
      }
      if (s.ssh?.openFrom === 'runner' && s.ssh.bastion !== undefined) {
        // The build server sees the bastion's address, which this machine's routes cannot tell.
        found.push(`ssh.openFrom "runner" with ssh.bastion: SSH reaches the build server from the bastion ${bastionHops(s.ssh.bastion).at(-1)!.host}, not from this machine; give the bastion's address as the cloud sees it, e.g. "openFrom": ["10.0.0.5/32"]`);
      }
      problemsOf.set(s, found);
      for (const f of found) byProblem.set(f, [...(byProblem.get(f) ?? []), `${t.cloud}/${t.region}`]);
    }
    for (const [problem, targets] of byProblem) problems.push(problemAt(['images', i, 'build'], `in ${targets.join(', ')}: ${problem}`));
  });
  return problems;
}

/** Inline user data and cloud-config objects must fit Nova's limit (files are checked where they are read). */
function checkUserData(m: Manifest): string[] {
  const problems: string[] = [];
  for (const { settings, where } of buildSettingsLayers(m)) {
    const bytes = settings?.userData === undefined ? undefined : inlineUserData(settings.userData);
    const problem = bytes === undefined ? undefined : userDataSizeProblem(bytes.length);
    if (problem) problems.push(problemAt([...where, 'userData'], problem));
  }
  return problems;
}

/**
 * A copy is built once and its bytes go everywhere, so its user data, which is part of its one
 * recipe, must be the same in every target: otherwise the targets that did not build it would
 * want another recipe than the copy carries, and stay outdated after every apply.
 */
function checkCopyUserData(m: Manifest): string[] {
  const problems: string[] = [];
  m.images.forEach((image, i) => {
    if (image.strategy !== 'copy') return;
    const byUserData = new Map<string, string[]>();
    for (const t of imageTargets(m, image)) {
      const key = canonicalJson(buildSettingsFor(m, image, t.cloud, t.region).userData ?? null);
      byUserData.set(key, [...(byUserData.get(key) ?? []), `${t.cloud}/${t.region}`]);
    }
    if (byUserData.size < 2) return;
    const groups = [...byUserData.entries()].map(([key, targets]) => `${key === 'null' ? 'none' : 'one'} in ${targets.join(', ')}`);
    problems.push(problemAt(['images', i, 'build', 'userData'], `a copy is built once and copied, so its user data must be the same in every target, but the targets give different user data (${groups.join('; ')}): set build.userData on the image, or use "strategy": "build"`));
  });
  return problems;
}

/**
 * A per-target source map names only clouds and targets of the manifest, and every target of the
 * image finds its source: a name for its cloud or cloud/region, or else the filter.
 */
function checkSources(m: Manifest): string[] {
  const problems: string[] = [];
  const clouds = [...new Set(m.targets.map((t) => t.cloud))];
  const keys = [...clouds, ...m.targets.flatMap((t) => t.regions.map((r) => `${t.cloud}/${r}`))];
  m.images.forEach((image, i) => {
    // An import brings source.url in; the schema refuses image and filter there.
    if (image.strategy === 'import') return;
    const where = ['images', i, 'source'];
    const { image: names, filter } = image.source;
    if (names === undefined && filter === undefined) {
      problems.push(problemAt(where, 'a source needs "image" (a name, or a map from cloud or cloud/region to a name), "filter", or both'));
      return;
    }
    if (typeof names !== 'object') return;
    for (const key of Object.keys(names)) {
      if (!keys.includes(key)) {
        problems.push(problemAt([...where, 'image', key], `${JSON.stringify(key)} is not a cloud or a cloud/region of the targets${didYouMean(key, keys)} (clouds: ${clouds.join(', ')})`));
      }
    }
    if (filter !== undefined) return;
    const uncovered = imageTargets(m, image).filter((t) => names[`${t.cloud}/${t.region}`] === undefined && names[t.cloud] === undefined);
    if (uncovered.length) {
      const list = uncovered.map((t) => `${t.cloud}/${t.region}`);
      problems.push(problemAt([...where, 'image'], `no source image for ${list.join(', ')}: add ${list.length === 1 ? 'its cloud or cloud/region' : 'their clouds or cloud/regions'} to the map, or give a "filter" for the others`));
    }
  });
  return problems;
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
