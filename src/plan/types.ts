// The plan's vocabulary: observations of targets and the state of each (wanted image, target) entry.
import type { GlanceImage } from '../openstack/glance.js';

export const PLAN_STATES = ['present', 'missing', 'outdated', 'pending', 'broken', 'duplicate', 'unreachable'] as const;
export type PlanState = (typeof PLAN_STATES)[number];

/** States that `apply` would change (build, rebuild, rotate). */
export const CHANGE_STATES: ReadonlySet<PlanState> = new Set(['missing', 'outdated', 'broken']);

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

export type Observation = Target & { durationMs: number } & (
  | { ok: true; via: 'glance' | 'compute-proxy'; images: GlanceImage[] }
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
}

export interface PlanEntry extends Target {
  image: string;
  state: PlanState;
  /** Ids of the images that carry the name. */
  images: string[];
  detail: string;
  found: FoundImage[];
}

export interface PlanSummary {
  images: number;
  targets: number;
  entries: number;
  states: Record<PlanState, number>;
  unreachableTargets: string[];
  /** Entries apply would change (missing, outdated, broken). */
  changes: number;
  inSync: boolean;
}

export interface Plan {
  entries: PlanEntry[];
  summary: PlanSummary;
}

export function targetKey(t: Target): string {
  return `${t.cloud}/${t.region}`;
}
