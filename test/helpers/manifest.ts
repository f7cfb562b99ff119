// Manifests for tests against the emulator: one build target shape, one image shape, written the same way everywhere.

/** The emulator's Debian image: its default user is `debian`. */
export const SOURCE_IMAGE = 'debian-12-genericcloud';

/**
 * Build settings that work against the emulator. The timeouts are generous: on a busy 2-CPU
 * machine a boot, an SSH login or a snapshot takes several times what it takes idle.
 */
export const EMULATOR_BUILD = {
  flavor: 'm1.small',
  network: 'private',
  ssh: { user: 'debian' },
  timeouts: { bootSeconds: 60, sshSeconds: 60, snapshotSeconds: 60, stepSeconds: 60 },
} as const;

export interface TargetSpec {
  cloud?: string;
  regions: readonly string[];
  /** Build settings of the target; `false` for none (plan, validate); default EMULATOR_BUILD. */
  build?: Record<string, unknown> | false;
}

export function target(spec: TargetSpec): Record<string, unknown> {
  const build = spec.build === undefined ? EMULATOR_BUILD : spec.build;
  return { cloud: spec.cloud ?? 'emulator', regions: [...spec.regions], ...(build ? { build } : {}) };
}

export interface ImageSpec {
  name: string;
  /** Build steps; default one step that does nothing. */
  steps?: unknown[];
  /** The source image name (default SOURCE_IMAGE), or a whole manifest `source` (a filter, a per-cloud map, a bad value). */
  source?: string | Record<string, unknown>;
  regions?: string[];
  /** Anything else of a manifest image (properties, description, …). */
  [key: string]: unknown;
}

export function image(spec: ImageSpec): Record<string, unknown> {
  const { name, steps = [{ run: 'true' }], source = SOURCE_IMAGE, regions, ...rest } = spec;
  return { name, source: typeof source === 'string' ? { image: source } : source, build: { steps }, ...(regions ? { regions } : {}), ...rest };
}

/** A manifest with one emulator target and the given images. */
export function manifestOf(images: ImageSpec[], t: TargetSpec): Record<string, unknown> {
  return { targets: [target(t)], images: images.map(image) };
}
