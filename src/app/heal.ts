// Phase "heal" of apply (--heal-duplicates): of several images with one name, keep one and rename and hide the others.
import { healDuplicate, type HealReport } from '../build/heal.js';
import type { PlanEntry } from '../plan/types.js';
import type { AppDeps } from './deps.js';
import type { Observed } from './observe.js';
import type { PlanContext } from './prepare.js';

/** One duplicated (name, target) after the other; undefined when there are none. */
export async function healDuplicates(ctx: PlanContext, before: Observed, duplicates: PlanEntry[], deps: AppDeps): Promise<HealReport[] | undefined> {
  if (!duplicates.length) return undefined;
  const healed: HealReport[] = [];
  for (const e of duplicates) {
    const services = await ctx.connections.get(e.cloud)!.buildServices(e.region, deps.signal);
    const recipe = before.pairs.find((p) => p.image === e.image && p.cloud === e.cloud && p.region === e.region)?.recipe;
    healed.push(await healDuplicate(e, { glance: services.glance, recipe, signal: deps.signal, now: deps.now }));
  }
  return healed;
}
