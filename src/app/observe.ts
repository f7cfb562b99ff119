// Phase "observe" (and "after", the re-read): every target read at once, each pair given its recipe, then the pure diff.
import { chooseNetwork, chooseSshUser } from '../build/defaults.js';
import { describeSpec, sourceSpecFor, sourceVaries, type SourceSpec } from '../build/source.js';
import { recipeFor, type BaseRecipe } from '../build/recipe.js';
import type { GlanceImage } from '../openstack/glance.js';
import { isBuildable, type BuildableImage, type BuildSettings, type Manifest, type WantedImage } from '../manifest/schema.js';
import { buildSettingsLookup, namesNetwork, type SettingsLookup } from '../manifest/targets.js';
import type { Lock } from '../lock/lock.js';
import { diffPlan, indexObservations, pairEntries, planOf, RECIPE_PROPERTY, type ObservationIndex, type WantedPair } from '../plan/diff.js';
import type { OrphanSources } from '../plan/orphans.js';
import type { RecipeChange } from '../plan/recipe-parts.js';
import { observeTarget } from '../plan/observe.js';
import { turns } from '../pipeline/turns.js';
import { readsMembers } from '../plan/sharing.js';
import { sourceFound, sourceReads, type SourceFound } from '../plan/sources.js';
import { targetKey, type Observation, type Plan, type PlanEntry, type Target } from '../plan/types.js';
import type { AppDeps } from './deps.js';
import { pairKey, type PlanContext } from './prepare.js';
import { quietView, type ObserveJob, type Phase } from './view.js';

export interface Observed {
  plan: Plan;
  observations: Observation[];
  /** The pairs with the recipe (or the source problem) found in their target. */
  pairs: WantedPair[];
}

/**
 * Fill in each pair's recipe from the source image found in its target, so that a stamped image
 * built from another recipe (or an older source image) shows as outdated. A pair whose name no
 * stamped image carries there gets no recipe: nothing would be compared with it.
 */
export function withRecipes(
  ctx: Pick<PlanContext, 'manifest' | 'pairs' | 'bases' | 'recipeExtras'>,
  observations: Observation[],
  index: ObservationIndex = indexObservations(observations),
  /** pairCaches of the manifest, when the caller resolves target after target. */
  caches: PairCaches = pairCaches(ctx.manifest),
): WantedPair[] {
  const byTarget = new Map(observations.map((o): [string, Seen] => [targetKey(o), { obs: o, byName: index.get(o), chosen: new Map<string, SourceFound>(), network: undefined }]));
  const images = new Map(ctx.manifest.images.map((i) => [i.name, i]));
  // Objects are built by hand, not spread, and no closure is made per pair: at 10,000 pairs those cost more than the rest of this loop.
  return ctx.pairs.map((p) => {
    const tk = targetKey(p);
    const seen = byTarget.get(tk);
    const image = images.get(p.image)!;
    if (!seen?.byName || !seen.obs.ok) return p;
    const obs = seen.obs;
    const base = ctx.bases.get(p.image)!;
    // An import's recipe, and a copy's, is the same in every target: it needs no source image here.
    if (!isBuildable(image)) return { ...p, recipe: recipeFor(image, base, undefined) };
    // Images built from one source share its choice in a target: chosen once.
    const s = specOf(caches, image, p, tk);
    let found = seen.chosen.get(s.key);
    if (!found) seen.chosen.set(s.key, (found = sourceFound(image, obs, seen.byName)));
    // Only a build boots a server in every target that lacks the image: a copy builds once, where it can.
    const blocked = image.strategy === 'build' ? blockedBy(caches.settingsFor(image, obs.cloud, obs.region), found.ok ? found.image : undefined, obs, seen) : undefined;
    // A copy needs its source in one target only: its recipe does not depend on it.
    if (!found.ok) {
      const out: WantedPair = { ...p, sourceProblem: found.problem, source: null };
      if (blocked) out.blocked = blocked;
      if (image.strategy === 'copy') {
        out.recipe = recipeFor(image, base, undefined, ctx.recipeExtras?.get(pairKey(p)));
        out.recipeChange = recipeChangeOf(image, base, s.spec, undefined);
      }
      return out;
    }
    const source = found.source;
    // A recipe is compared only with an image's stamp: without a stamped image of this name here
    // (most pairs: a missing image, one not built by imagesync) the hash is not worked out.
    const stamped = seen.byName.get(p.image)?.some((i) => typeof i[RECIPE_PROPERTY] === 'string');
    if (!stamped) {
      const { image: name, cloud, region, strategy } = p;
      const out: WantedPair = { image: name, cloud, region, strategy, sourceId: source.id, source };
      // An image that carries the name without imagesync's stamp is still compared for sharing.
      if (p.sharing) out.sharing = p.sharing;
      if (blocked) out.blocked = blocked;
      return out;
    }
    const out: WantedPair = { ...p, recipe: recipeFor(image, base, source.id, ctx.recipeExtras?.get(pairKey(p))), sourceId: source.id, source, recipeChange: recipeChangeOf(image, base, s.spec, source.id) };
    if (blocked) out.blocked = blocked;
    return out;
  });
}

/** One observed target while its pairs are resolved: its images by name, the sources chosen there, its network problem once asked (null: none). */
interface Seen {
  obs: Observation;
  byName: Map<string, GlanceImage[]> | undefined;
  chosen: Map<string, SourceFound>;
  network: string | null | undefined;
}

/** What resolving pairs reuses from one target to the next: merged build settings, and each image's source spec. */
export interface PairCaches {
  settingsFor: SettingsLookup;
  /** One spec for all targets, unless the image's source differs by target: then one per target key. */
  specs: Map<WantedImage, SpecAndKey | Map<string, SpecAndKey>>;
}

interface SpecAndKey {
  spec: SourceSpec;
  key: string;
}

export function pairCaches(m: Manifest): PairCaches {
  return { settingsFor: buildSettingsLookup(m), specs: new Map() };
}

function specOf(caches: PairCaches, image: BuildableImage, t: Target, tk: string): SpecAndKey {
  let s = caches.specs.get(image);
  if (!s) caches.specs.set(image, (s = sourceVaries(image.source) ? new Map<string, SpecAndKey>() : specWithKey(image, t)));
  if (!(s instanceof Map)) return s;
  let here = s.get(tk);
  if (!here) s.set(tk, (here = specWithKey(image, t)));
  return here;
}

/** What plan compares a stamped image with to say what changed; a copy's source differs between targets, its bytes do not. */
function recipeChangeOf(image: BuildableImage, base: BaseRecipe, spec: SourceSpec, sourceId: string | undefined): RecipeChange {
  return { wanted: base.parts, labels: base.labels, sourceName: spec.name ?? describeSpec(spec), sourceId: image.strategy === 'build' ? sourceId : undefined };
}

function specWithKey(image: BuildableImage, t: Target): { spec: SourceSpec; key: string } {
  const spec = sourceSpecFor(image.source, t);
  return { spec, key: JSON.stringify(spec) };
}

/**
 * Why a build with these merged settings could not finish in this target, or undefined: what the
 * manifest leaves out must come from the cloud (the source image's os_admin_user, the one network
 * Nova would pick), and a build that would boot without it never gets past "wait for SSH".
 * The target's network problem is worked out once, when a build there names no network.
 */
function blockedBy(s: BuildSettings, source: GlanceImage | undefined, obs: Extract<Observation, { ok: true }>, seen: Pick<Seen, 'network'>): string | undefined {
  const why: string[] = [];
  if (!s.flavor) why.push('no flavor: set build.flavor');
  if (source) {
    const user = chooseSshUser(s.ssh?.user, source);
    if (!user.ok) why.push(user.problem);
  }
  if (!namesNetwork(s)) {
    if (seen.network === undefined) seen.network = networkProblem(obs) ?? null;
    if (seen.network) why.push(seen.network);
  }
  return why.length ? why.join('; ') : undefined;
}

/** The target's problem for a build that names no network (none read, none or several usable), or undefined: the same for every such build there. */
function networkProblem(obs: Extract<Observation, { ok: true }>): string | undefined {
  if (!obs.networks) return undefined;
  if (!obs.networks.ok) return `no network: build.network is not set and ${obs.networks.problem}`;
  const net = chooseNetwork(obs.networks.networks, obs.networks.projectId);
  return net.ok ? undefined : net.problem;
}

/** Whether some build in the target names no network: then the target's networks are read with its images. */
function needsNetworks(settingsFor: SettingsLookup, t: { cloud: string; region: string }, wanted: WantedImage[]): boolean {
  return wanted.some((image) => image.strategy === 'build' && !namesNetwork(settingsFor(image, t.cloud, t.region)));
}

/** What makes an orphan: the manifest's names, and what the lock records in each target. */
export function orphanSources(ctx: Pick<PlanContext, 'manifest'>, lock: Lock): OrphanSources {
  const locked = new Map<string, Map<string, string>>();
  for (const [name, targets] of lock.images) {
    for (const [target, entry] of targets) {
      if (!locked.has(target)) locked.set(target, new Map());
      locked.get(target)!.set(name, entry.id);
    }
  }
  return { manifestNames: new Set(ctx.manifest.images.map((i) => i.name)), locked };
}

/**
 * The jobs that read every target: the wanted names, their source images' names and the names the
 * lock records there but the manifest lost, in one query per target; with orphans asked for, the
 * project's published images in a second query at the same time.
 */
function observeJobs(ctx: PlanContext, deps: AppDeps, observations: Observation[], diffs: Map<Observation, TargetDiff>, caches: PairCaches): ObserveJob[] {
  const byName = new Map(ctx.manifest.images.map((i) => [i.name, i]));
  const pairsOf = new Map<string, WantedPair[]>();
  for (const p of ctx.pairs) {
    const key = targetKey(p);
    const list = pairsOf.get(key);
    if (list) list.push(p);
    else pairsOf.set(key, [p]);
  }
  // Every target waits for the one token, then all would make their requests at once (300 at 50
  // regions, 150 ms of JavaScript) with none on the wire until the last is made: in turns, the
  // first targets' round trips run while the last ones' requests are made.
  const turn = turns();
  return ctx.targets.map((t) => {
    const here = pairsOf.get(targetKey(t)) ?? [];
    const wanted = [...new Set(here.map((p) => p.image))];
    // Source names join the wanted names in one query; sources found by metadata need a listing each.
    const sources = sourceReads(wanted.map((n) => byName.get(n)!), t);
    const lost = [...(ctx.orphans?.locked.get(targetKey(t))?.keys() ?? [])].filter((n) => !ctx.orphans!.manifestNames.has(n));
    const names = [...new Set([...wanted, ...sources.names, ...lost])];
    const wantedSet = new Set(wanted);
    const networks = needsNetworks(caches.settingsFor, t, ctx.manifest.images.filter((i) => wantedSet.has(i.name)));
    // Only images whose entry names members cost a request more (their member list).
    const membersOf = here.filter((p) => readsMembers(p.sharing)).map((p) => p.image);
    return {
      target: t,
      wanted: wanted.length,
      run: async () => {
        const observation = await observeTarget(ctx.connections.get(t.cloud)!, { ...t, names, queries: sources.queries, networks, managed: ctx.orphans !== undefined, ...(membersOf.length ? { membersOf } : {}), turn }, deps.signal, () => deps.now().getTime());
        observations.push(observation);
        // Its pairs resolved and compared now, while other targets are still answering: at 50
        // regions the diff of 10,000 pairs would otherwise all wait for the last answer.
        const index = indexObservations([observation]);
        const resolved = withRecipes({ ...ctx, pairs: here }, [observation], index, caches);
        diffs.set(observation, { pairs: resolved, entries: pairEntries(resolved, [observation], index) });
        // The target's own counts, for a progress line: worked out only when a view shows them.
        return {
          observation,
          get states() {
            return diffPlan(here, [observation], ctx.orphans).summary.states;
          },
        };
      },
    };
  });
}

/** Read every target; shown in `phase` through the view, or quietly without one (apply's re-reads). */
export async function observe(ctx: PlanContext, deps: AppDeps, phase?: Phase): Promise<Observed> {
  const observations: Observation[] = [];
  const diffs = new Map<Observation, TargetDiff>();
  const caches = pairCaches(ctx.manifest);
  const jobs = observeJobs(ctx, deps, observations, diffs, caches);
  await (phase ? (deps.view ?? quietView).observing(jobs, phase) : quietView.observing(jobs, { name: 'observe', title: '' }));
  if (deps.signal.aborted) throw deps.signal.reason;
  const done = joinTargetDiffs(ctx.pairs, observations, diffs);
  if (done) return { plan: planOf(done.pairs, done.entries, observations, ctx.orphans), observations, pairs: done.pairs };
  // A target whose job ended without its diff (it threw): all of it again, here, where a failure is not swallowed.
  const index = indexObservations(observations);
  const pairs = withRecipes(ctx, observations, index, caches);
  return { plan: diffPlan(pairs, observations, ctx.orphans, index), observations, pairs };
}

/** One target's pairs, resolved (withRecipes), and their entries (pairEntries), in the order of its pairs in ctx.pairs. */
interface TargetDiff {
  pairs: WantedPair[];
  entries: PlanEntry[];
}

/** The targets' diffs put back in the order of `pairs`; undefined when a target has none. */
function joinTargetDiffs(pairs: readonly WantedPair[], observations: readonly Observation[], diffs: ReadonlyMap<Observation, TargetDiff>): { pairs: WantedPair[]; entries: PlanEntry[] } | undefined {
  const cursors = new Map(observations.map((o) => [targetKey(o), { diff: diffs.get(o), next: 0 }]));
  const out = { pairs: new Array<WantedPair>(pairs.length), entries: new Array<PlanEntry>(pairs.length) };
  for (const [i, p] of pairs.entries()) {
    const c = cursors.get(targetKey(p));
    const at = c?.next ?? 0;
    if (!c?.diff || at >= c.diff.pairs.length) return undefined;
    out.pairs[i] = c.diff.pairs[at]!;
    out.entries[i] = c.diff.entries[at]!;
    c.next++;
  }
  return out;
}

