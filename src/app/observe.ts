// Phase "observe" (and "after", the re-read): every target read at once, each pair given its recipe, then the pure diff.
import { selectSource } from '../build/source.js';
import { targetRecipe } from '../build/recipe.js';
import { diffPlan, type WantedPair } from '../plan/diff.js';
import { observeTarget } from '../plan/observe.js';
import { targetKey, type Observation, type Plan } from '../plan/types.js';
import type { AppDeps } from './deps.js';
import type { PlanContext } from './prepare.js';
import { quietView, type ObserveJob, type Phase } from './view.js';

export interface Observed {
  plan: Plan;
  observations: Observation[];
  /** The pairs with the recipe (or the source problem) found in their target. */
  pairs: WantedPair[];
}

/**
 * Fill in each pair's recipe from the source image found in its target, so that a stamped image
 * built from another recipe (or an older source image) shows as outdated.
 */
export function withRecipes(ctx: Pick<PlanContext, 'manifest' | 'pairs' | 'bases'>, observations: Observation[]): WantedPair[] {
  const byTarget = new Map(observations.map((o) => [targetKey(o), o]));
  const images = new Map(ctx.manifest.images.map((i) => [i.name, i]));
  return ctx.pairs.map((p) => {
    const obs = byTarget.get(targetKey(p));
    const image = images.get(p.image)!;
    if (!obs?.ok) return p;
    const choice = selectSource(obs.images, image.source.image, image.source.pick);
    if (!choice.ok) return { ...p, sourceProblem: choice.problem };
    return { ...p, recipe: targetRecipe(ctx.bases.get(p.image)!, choice.image.id), sourceId: choice.image.id };
  });
}

/** The jobs that read every target: the wanted names and their source images' names, in one query per target. */
function observeJobs(ctx: PlanContext, deps: AppDeps, observations: Observation[]): ObserveJob[] {
  const sourceOf = new Map(ctx.manifest.images.map((i) => [i.name, i.source.image]));
  return ctx.targets.map((t) => {
    const here = ctx.pairs.filter((p) => p.cloud === t.cloud && p.region === t.region);
    const wanted = [...new Set(here.map((p) => p.image))];
    const names = [...new Set([...wanted, ...wanted.map((n) => sourceOf.get(n)!)])];
    return {
      target: t,
      wanted: wanted.length,
      run: async () => {
        const observation = await observeTarget(ctx.connections.get(t.cloud)!, { ...t, names }, deps.signal, () => deps.now().getTime());
        observations.push(observation);
        return { observation, states: diffPlan(here, [observation]).summary.states };
      },
    };
  });
}

/** Read every target; shown in `phase` through the view, or quietly without one (apply's re-reads). */
export async function observe(ctx: PlanContext, deps: AppDeps, phase?: Phase): Promise<Observed> {
  const observations: Observation[] = [];
  const jobs = observeJobs(ctx, deps, observations);
  await (phase ? (deps.view ?? quietView).observing(jobs, phase) : quietView.observing(jobs, { name: 'observe', title: '' }));
  if (deps.signal.aborted) throw deps.signal.reason;
  const pairs = withRecipes(ctx, observations);
  return { plan: diffPlan(pairs, observations), observations, pairs };
}

