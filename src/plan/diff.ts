// The plan diff: pure, from wanted images and observations to one state per (image, target).
import { newestFirst } from '../order.js';
import type { ImageStrategy } from '../manifest/schema.js';
import type { GlanceImage } from '../openstack/glance.js';
import { volumeSnapshotsOf } from '../resources/volume-backed.js';
import { imagesByName } from './by-name.js';
import { withActions, type StrategyOf } from './actions.js';
import { orphanEntries, type OrphanSources } from './orphans.js';
import { explainRecipeChange, type RecipeChange } from './recipe-parts.js';
import { describeSharingDrift, sharingDrift, type WantedSharing } from './sharing.js';
import {
  CHANGE_STATES,
  inLine,
  PLAN_STATES,
  targetKey,
  type FoundImage,
  type Observation,
  type Plan,
  type PlanEntry,
  type PlanSource,
  type PlanState,
  type Target,
} from './types.js';

/** Property imagesync stamps on every image it builds. */
export const RECIPE_PROPERTY = 'imagesync_recipe';

const PENDING = new Set(['queued', 'saving', 'uploading', 'importing']);
const BROKEN = new Set(['killed', 'deactivated']);
const GONE = new Set(['deleted', 'pending_delete']);

export interface WantedPair extends Target {
  image: string;
  /** How the image gets there (default "build"). */
  strategy?: ImageStrategy | undefined;
  /** The recipe hash in this target (needs the source image; left out when no stamped image carries the name there): undefined → never "outdated". */
  recipe?: string | undefined;
  /** The source image chosen in this target. */
  sourceId?: string | undefined;
  /** Why no source image could be chosen here: a build would fail. */
  sourceProblem?: string | undefined;
  /** Why a build here could not finish (no SSH user, network or flavor): apply refuses it before creating anything. */
  blocked?: string | undefined;
  /** The recipe per component here, to say what changed when an image is outdated. */
  recipeChange?: RecipeChange | undefined;
  /** The source image found here (null: none could be chosen). */
  source?: PlanSource | null | undefined;
  /** The manifest's visibility and members for this image (undefined: not managed). */
  sharing?: WantedSharing | undefined;
}

function found(img: GlanceImage): FoundImage {
  const recipe = img[RECIPE_PROPERTY];
  const snapshots = volumeSnapshotsOf(img);
  const f: FoundImage = { id: img.id, status: img.status, createdAt: img.created_at, hidden: img.os_hidden === true, recipe: typeof recipe === 'string' ? recipe : undefined };
  if (snapshots.length) f.volumeSnapshots = snapshots;
  return f;
}

function day(iso: string | undefined): string {
  return iso ? iso.slice(0, 10) : 'unknown date';
}

function describe(f: FoundImage): string {
  const volume = f.volumeSnapshots?.length ? `, volume-backed: data in Cinder snapshot ${f.volumeSnapshots.join(', ')}` : '';
  return `${f.id} (${f.status}${f.hidden ? ', hidden' : ''}, ${day(f.createdAt)}${f.recipe ? `, recipe ${f.recipe.slice(0, 12)}` : ''}${volume})`;
}

/**
 * The state of one wanted image in one observed target. `named`: the observation's images that
 * carry the pair's name, when the caller has them indexed (imagesByName); else they are filtered here.
 */
/** A copy needs its source in one target only, an import none: only a build is stopped by a missing source here. */
function stoppedBySource(pair: WantedPair): boolean {
  return pair.sourceProblem !== undefined && (pair.strategy ?? 'build') === 'build';
}

/** Why apply cannot build this pair here: the source image's problem (a build's only), what a build server would lack. */
function whyNotBuilt(pair: WantedPair): string[] {
  return [stoppedBySource(pair) ? pair.sourceProblem : undefined, pair.blocked].filter((p): p is string => p !== undefined);
}

/**
 * One entry, its fields in the order `plan --json` has always printed them. Built by hand: a plan
 * makes one per pair (10,000 at 50 regions × 200 images), and conditional spreads cost more than
 * the rest of the diff.
 */
function makeEntry(pair: WantedPair, state: PlanState, images: string[], list: FoundImage[], detail: string, blocked: string | undefined): PlanEntry {
  const { image, cloud, region } = pair;
  const e: PlanEntry = pair.source !== undefined ? { image, cloud, region, source: pair.source, state, images, found: list, detail } : { image, cloud, region, state, images, found: list, detail };
  if (blocked) e.blocked = blocked;
  return e;
}

/** An entry of images found: a change (missing, outdated, broken) says why apply cannot build it here. */
function foundEntry(pair: WantedPair, ids: string[], list: FoundImage[], state: PlanState, detail: string): PlanEntry {
  const change = CHANGE_STATES.has(state);
  const problems = change ? whyNotBuilt(pair) : [];
  return makeEntry(pair, state, ids, list, problems.length ? `${detail}; cannot build here: ${problems.join('; ')}` : detail, change ? pair.blocked : undefined);
}

export function entryFor(pair: WantedPair, obs: Observation | undefined, named?: readonly GlanceImage[]): PlanEntry {
  if (!obs) return makeEntry(pair, 'unreachable', [], [], 'not observed', undefined);
  if (!obs.ok) return makeEntry(pair, 'unreachable', [], [], obs.error.message, undefined);
  const withName = named ?? obs.images.filter((i) => i.name === pair.image);
  // Most pairs of a large plan: nothing carries the name.
  if (withName.length === 0) {
    const problems = whyNotBuilt(pair);
    const detail = problems.length ? `no image with this name; cannot build here: ${problems.join('; ')}` : 'no image with this name';
    return makeEntry(pair, 'missing', [], [], detail, pair.blocked);
  }
  const carrying = withName
    .filter((i) => !GONE.has(i.status))
    .sort(newestFirst);
  const list = carrying.map(found);
  const ids = list.map((f) => f.id);
  // foundEntry, not a closure made per entry: the bundle names every closure it makes (esbuild's keepNames).
  if (list.length === 0) return foundEntry(pair, ids, list, 'missing', 'no image with this name');
  if (list.length > 1) return foundEntry(pair, ids, list, 'duplicate', `${list.length} images carry this name: ${list.map(describe).join(', ')}`);
  const only = list[0]!;
  if (only.status === 'active') {
    if (pair.recipe && only.recipe && only.recipe !== pair.recipe) {
      const changes = pair.recipeChange ? explainRecipeChange(carrying[0]!, pair.recipeChange) : undefined;
      // An image stamped before components were recorded can only say that the hashes differ.
      const why = changes?.length ? changes.join('; ') : `recipe ${only.recipe.slice(0, 12)} ≠ manifest ${pair.recipe.slice(0, 12)}`;
      const e = foundEntry(pair, ids, list, 'outdated', `${describe(only)}: ${why}`);
      if (changes?.length) e.changes = changes;
      return e;
    }
    // The compute proxy shows no visibility (and imagesync could not set it there): nothing to compare.
    const drift = obs.via === 'glance' && sharingDrift(pair.sharing, { visibility: carrying[0]!.visibility, members: obs.members?.[only.id] });
    if (drift) {
      const e = foundEntry(pair, ids, list, 'present', `${describe(only)}: sharing differs: ${describeSharingDrift(drift)}`);
      e.sharing = drift;
      return e;
    }
    return foundEntry(pair, ids, list, 'present', describe(only));
  }
  if (PENDING.has(only.status)) return foundEntry(pair, ids, list, 'pending', `${describe(only)}: not active yet`);
  if (BROKEN.has(only.status)) return foundEntry(pair, ids, list, 'broken', `${describe(only)}: only a ${only.status} image carries the name`);
  return foundEntry(pair, ids, list, 'broken', `${describe(only)}: unexpected status "${only.status}"`);
}

/** Each observation's images by name (imagesByName), made once and shared by the steps that look names up. */
export type ObservationIndex = Map<Observation, Map<string, GlanceImage[]>>;

export function indexObservations(observations: readonly Observation[]): ObservationIndex {
  return new Map(observations.flatMap((o) => (o.ok ? [[o, imagesByName(o.images)] as const] : [])));
}

/** The plan: one entry per wanted pair, then (given what orphans are made of) one per orphaned name and target. */
export function diffPlan(pairs: WantedPair[], observations: Observation[], orphans?: OrphanSources, index: ObservationIndex = indexObservations(observations)): Plan {
  return planOf(pairs, pairEntries(pairs, observations, index), observations, orphans);
}

/** entryFor of each pair, in their order (no actions yet): what planOf takes; a caller may work it out target by target. */
export function pairEntries(pairs: readonly WantedPair[], observations: readonly Observation[], index: ObservationIndex = indexObservations(observations)): PlanEntry[] {
  const byTarget = new Map(observations.map((o) => [targetKey(o), { obs: o, byName: index.get(o) }]));
  return pairs.map((p) => {
    const seen = byTarget.get(targetKey(p));
    return entryFor(p, seen?.obs, seen?.byName ? (seen.byName.get(p.image) ?? []) : undefined);
  });
}

/** The plan from each pair's entry (pairEntries, same order): actions, orphans, the summary. */
export function planOf(pairs: readonly WantedPair[], pairEntries: readonly PlanEntry[], observations: readonly Observation[], orphans?: OrphanSources): Plan {
  // Each pair's target key, made once: it is looked up several times per pair below.
  const keys = pairs.map(targetKey);
  const strategies = new Map<string, StrategyOf>();
  pairs.forEach((p, i) => {
    const s = strategies.get(p.image) ?? { strategy: p.strategy ?? 'build', sourceProblems: new Set<string>() };
    if (p.sourceProblem) (s.sourceProblems as Set<string>).add(keys[i]!);
    strategies.set(p.image, s);
  });
  const entries = withActions(pairEntries, strategies);
  const targets = [...new Set(keys)];
  if (orphans) {
    // In the order of the targets (observations arrive as they finish).
    const rank = new Map(targets.map((t, i) => [t, i]));
    const observed = [...observations].sort((a, b) => (rank.get(targetKey(a)) ?? rank.size) - (rank.get(targetKey(b)) ?? rank.size));
    for (const o of observed) entries.push(...orphanEntries(o, orphans));
  }
  const actions = { build: 0, copy: 0, import: 0 };
  for (const e of entries) if (e.action) actions[e.action.kind]++;
  const states = Object.fromEntries(PLAN_STATES.map((s) => [s, 0])) as Record<PlanState, number>;
  for (const e of entries) states[e.state]++;
  const unreachableTargets = observations.filter((o) => !o.ok).map(targetKey);
  const changes = entries.filter((e) => CHANGE_STATES.has(e.state)).length;
  const sharing = entries.filter((e) => e.sharing).length;
  return {
    entries,
    summary: {
      images: new Set(pairs.map((p) => p.image)).size,
      targets: targets.length,
      entries: entries.length,
      states,
      unreachableTargets,
      changes,
      actions,
      ...(sharing ? { sharing } : {}),
      inSync: entries.every(inLine),
    },
  };
}
