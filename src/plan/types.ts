// The plan's vocabulary: observations of targets and the state of each (wanted image, target) entry.
import type { GlanceImage } from '../openstack/glance.js';
import type { Network } from '../openstack/neutron.js';
import type { SharingDrift } from './sharing.js';

export const PLAN_STATES = ['present', 'missing', 'outdated', 'pending', 'broken', 'duplicate', 'unreachable', 'orphaned'] as const;
export type PlanState = (typeof PLAN_STATES)[number];

/** States that `apply` would change (build, rebuild, rotate). */
export const CHANGE_STATES: ReadonlySet<PlanState> = new Set(['missing', 'outdated', 'broken']);

/**
 * An image imagesync published (or the lock file records) under a name the manifest no longer
 * has: not a build, but a change — `apply --prune` retires it.
 */
export const ORPHANED: PlanState = 'orphaned';

export interface Target {
  cloud: string;
  region: string;
}

export interface ObservationError {
  message: string;
  code: string;
  status?: number | undefined;
  requestId?: string | undefined;
}

/** The networks of a target, read only when some build there names none (to pick one as Nova would). */
export type NetworkObservation = { ok: true; networks: Network[]; projectId?: string | undefined } | { ok: false; problem: string };

export type Observation = Target & { durationMs: number } & (
  | {
      ok: true;
      via: 'glance' | 'compute-proxy';
      images: GlanceImage[];
      networks?: NetworkObservation | undefined;
      /** The project's visible images imagesync published (one property-filtered query), to find orphans. */
      managed?: GlanceImage[] | undefined;
      /** Member project ids per image id, read only for images whose manifest entry names members (and that are shared). */
      members?: Record<string, string[]> | undefined;
      /** Source candidates found by metadata (source.filter), by Glance query; absent through the compute proxy. */
      sourceLists?: Record<string, GlanceImage[]> | undefined;
    }
  | { ok: false; error: ObservationError }
);

/** One image found under a wanted name, as the plan shows it. */
export interface FoundImage {
  id: string;
  status: string;
  createdAt?: string | undefined;
  hidden: boolean;
  /** The recipe hash stamped by imagesync, if any. */
  recipe?: string | undefined;
  /** An image of a volume-backed server: Glance holds 0 bytes, the data is in these Cinder snapshots. */
  volumeSnapshots?: string[] | undefined;
}

/** What apply does about an entry it changes, by the image's strategy. */
export type PlanAction =
  | { kind: 'build' }
  /** Copy the image's bytes from `from`: where it is present, or where this run builds it first (`built`). */
  | { kind: 'copy'; from: Target; built: boolean; imageId?: string | undefined }
  | { kind: 'import' };

/** The source image a build in this target starts from, as found now. */
export interface PlanSource {
  id: string;
  name: string | null;
  /** How it was found: `"debian-12"`, `filter os_distro=debian`, … */
  by: string;
  /** Of how many matches it is the newest (pick "newest"). */
  of: number;
}

export interface PlanEntry extends Target {
  image: string;
  state: PlanState;
  /** The source image found here; null when none could be chosen (or the target was not read). */
  source?: PlanSource | null | undefined;
  /** Ids of the images that carry the name. */
  images: string[];
  detail: string;
  found: FoundImage[];
  /** For an entry apply changes (missing, outdated, broken): build, copy (from where) or import. */
  action?: PlanAction | undefined;
  /** Why a build here could not finish (no SSH user, no network, no flavor): apply refuses it before creating anything. */
  blocked?: string | undefined;
  /** outdated: what changed since the image was built, in the manifest's words ("files/motd changed"). */
  changes?: string[] | undefined;
  /** present, but its visibility or members differ from the manifest's: apply sets them (no build). */
  sharing?: SharingDrift | undefined;
}

/** In line with the manifest: present, and shared as it says. */
export function inLine(e: { state: PlanState; sharing?: unknown }): boolean {
  return e.state === 'present' && e.sharing === undefined;
}

export interface PlanSummary {
  images: number;
  targets: number;
  entries: number;
  states: Record<PlanState, number>;
  unreachableTargets: string[];
  /** Entries apply would build (missing, outdated, broken); orphaned ones are counted in `states`. */
  changes: number;
  /** Present images whose sharing apply sets (not counted in `changes`, which are builds). */
  sharing?: number | undefined;
  /** Of the changes: how many are builds, copies and imports. */
  actions?: { build: number; copy: number; import: number } | undefined;
  inSync: boolean;
}

export interface Plan {
  entries: PlanEntry[];
  summary: PlanSummary;
}

export function targetKey(t: Target): string {
  return `${t.cloud}/${t.region}`;
}
