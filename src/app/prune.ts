// Phase "prune" of apply (--prune): every orphaned (name, target) of the plan retired — renamed and hidden, then trimmed by --keep.
import { pruneOrphan, type PruneReport } from '../build/prune.js';
import { errorMessage } from '../errors.js';
import type { Plan, PlanEntry } from '../plan/types.js';
import type { AppDeps } from './deps.js';
import type { PlanContext } from './prepare.js';

export function orphanedEntries(plan: Plan): PlanEntry[] {
  return plan.entries.filter((e) => e.state === 'orphaned');
}

/** One target after the other (retiring is a handful of PATCHes); a target that fails is reported, the others go on. */
export async function pruneOrphans(ctx: PlanContext, orphans: PlanEntry[], keep: number | undefined, deps: AppDeps): Promise<PruneReport[]> {
  const out: PruneReport[] = [];
  for (const e of orphans) {
    if (deps.signal.aborted) break;
    try {
      const services = await ctx.connections.get(e.cloud)!.buildServices(e.region, deps.signal);
      out.push(await pruneOrphan(e, { glance: services.glance, nova: services.nova, keep, now: deps.now, signal: deps.signal }));
    } catch (err) {
      out.push({ cloud: e.cloud, region: e.region, image: e.image, retired: [], left: [], error: deps.redactor.text(errorMessage(err)) });
    }
  }
  return out;
}
