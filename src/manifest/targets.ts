// Pure helpers over a loaded manifest: the targets, the targets of one image, merged build settings.
import type { BuildSettings, Manifest, WantedImage } from './schema.js';

export interface TargetRegion {
  cloud: string;
  region: string;
}

/** Every cloud + region of the manifest, in manifest order, each once. */
export function expandTargets(m: Manifest): TargetRegion[] {
  const seen = new Set<string>();
  const out: TargetRegion[] = [];
  for (const target of m.targets) {
    for (const region of target.regions) {
      const key = `${target.cloud}\u0000${region}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ cloud: target.cloud, region });
    }
  }
  return out;
}

/** The targets an image must exist in: all of them, or those in the image's `regions`. `all`: expandTargets(m), when the caller asks for many images. */
export function imageTargets(m: Manifest, image: WantedImage, all: readonly TargetRegion[] = expandTargets(m)): TargetRegion[] {
  const regions = image.regions;
  return regions === undefined ? [...all] : all.filter((t) => regions.includes(t.region));
}

/**
 * Merges build settings, later layers winning; `ssh` and `timeouts` merge key by key, arrays
 * (securityGroups) are replaced as a whole. Undefined values never override.
 */
export function mergeBuildSettings(...layers: Array<BuildSettings | undefined>): BuildSettings {
  const merged: BuildSettings = {};
  for (const layer of layers) {
    if (layer === undefined) continue;
    const { ssh, timeouts, ...flat } = layer;
    for (const [key, value] of Object.entries(flat)) {
      if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
    }
    if (ssh !== undefined) merged.ssh = { ...merged.ssh, ...definedOnly(ssh) };
    if (timeouts !== undefined) merged.timeouts = { ...merged.timeouts, ...definedOnly(timeouts) };
  }
  return merged;
}

/**
 * The build settings of one image in one target: defaults < target build < image build.
 * Throws when cloud/region is not a target of the manifest (a caller's bug, not bad input).
 */
export function buildSettingsFor(m: Manifest, image: WantedImage, cloud: string, region: string): BuildSettings {
  const target = m.targets.find((t) => t.cloud === cloud && t.regions.includes(region));
  if (target === undefined) {
    throw new Error(`buildSettingsFor: ${cloud}/${region} is not a target of the manifest (image ${image.name})`);
  }
  const { steps: _steps, ...imageSettings } = image.build ?? { steps: [] };
  return mergeBuildSettings(m.defaults?.build, target.build, imageSettings);
}

export type SettingsLookup = (image: WantedImage, cloud: string, region: string) => BuildSettings;

/**
 * buildSettingsFor for many (image, target) pairs: merged once per image and manifest target entry,
 * not once per pair (a plan over 50 regions × 200 images asks 10,000 times). The settings returned
 * are shared between the regions of one entry: read them, never change them.
 */
export function buildSettingsLookup(m: Manifest): SettingsLookup {
  // The first entry that lists cloud/region, as buildSettingsFor's find takes it.
  const entryOf = new Map<string, Map<string, Manifest['targets'][number]>>();
  for (const target of m.targets) {
    const regions = entryOf.get(target.cloud) ?? new Map<string, Manifest['targets'][number]>();
    entryOf.set(target.cloud, regions);
    for (const region of target.regions) if (!regions.has(region)) regions.set(region, target);
  }
  const merged = new Map<WantedImage, Map<Manifest['targets'][number], BuildSettings>>();
  return (image, cloud, region) => {
    const target = entryOf.get(cloud)?.get(region);
    if (target === undefined) return buildSettingsFor(m, image, cloud, region);
    let perTarget = merged.get(image);
    if (!perTarget) merged.set(image, (perTarget = new Map()));
    let settings = perTarget.get(target);
    if (!settings) perTarget.set(target, (settings = buildSettingsFor(m, image, cloud, region)));
    return settings;
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Every layer of build settings with its JSON path: defaults, each target, each image. */
export function buildSettingsLayers(m: Manifest): Array<{ settings: BuildSettings | undefined; where: PropertyKey[] }> {
  return [
    { settings: m.defaults?.build, where: ['defaults', 'build'] },
    ...m.targets.map((t, i) => ({ settings: t.build, where: ['targets', i, 'build'] as PropertyKey[] })),
    ...m.images.map((img, i) => ({ settings: img.build, where: ['images', i, 'build'] as PropertyKey[] })),
  ];
}

/** Whether merged settings name where the build server goes (network, networks or ports); without, the one network Nova would pick is inferred. */
export function namesNetwork(s: Pick<BuildSettings, 'network' | 'networks' | 'ports'>): boolean {
  return s.network !== undefined || (s.networks?.length ?? 0) > 0 || (s.ports?.length ?? 0) > 0;
}
