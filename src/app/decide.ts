// Phase "decide" of apply, pure: from the plan and the options to the builds, what is not built and why, and what a dry run would do.
import { CHANGE_STATES, targetKey, type Plan, type PlanEntry } from '../plan/types.js';
import type { BuildReport, DryRunReport, NotBuilt } from '../report/apply-report.js';

export interface Decision {
  /** Entries to build (missing) or rebuild (outdated, broken), in plan order. */
  todo: PlanEntry[];
  notBuilt: NotBuilt[];
  /** The duplicates --heal-duplicates acts on. */
  duplicates: PlanEntry[];
  /** What --dry-run says would be built and healed. */
  wouldBuild: DryRunReport['wouldBuild'];
  wouldHeal: DryRunReport['wouldHeal'];
}

export function decide(plan: Plan, opts: { healDuplicates?: boolean | undefined }): Decision {
  const todo: PlanEntry[] = [];
  const notBuilt: NotBuilt[] = [];
  for (const e of plan.entries) {
    const place = { image: e.image, cloud: e.cloud, region: e.region, state: e.state, detail: e.detail };
    // A build that could not finish (no SSH user, network or flavor) is refused before anything is created.
    if (CHANGE_STATES.has(e.state) && e.blocked) notBuilt.push({ ...place, blocked: e.blocked });
    // Even without a usable source image: the build's first step then fails, creating nothing,
    // with the nearest names — a better answer than skipping it.
    else if (CHANGE_STATES.has(e.state)) todo.push(e);
    else if (e.state !== 'present') notBuilt.push(place);
  }
  const duplicates = plan.entries.filter((e) => e.state === 'duplicate');
  return {
    todo,
    notBuilt,
    duplicates,
    wouldBuild: todo.map((e) => ({
      image: e.image,
      cloud: e.cloud,
      region: e.region,
      action: changeAction(e),
      ...(e.action?.kind === 'copy' ? { from: targetKey(e.action.from) } : {}),
    })),
    wouldHeal: opts.healDuplicates ? duplicates.map((e) => ({ image: e.image, cloud: e.cloud, region: e.region, images: e.images })) : [],
  };
}

/** A missing image is built; an outdated or broken one rebuilt (and the old one rotated). */
export function buildAction(e: Pick<PlanEntry, 'state'>): 'build' | 'rebuild' {
  return e.state === 'missing' ? 'build' : 'rebuild';
}

/** What apply does to an entry: build or rebuild, copy, import (the old image rotated either way). */
export function changeAction(e: Pick<PlanEntry, 'state' | 'action'>): BuildReport['action'] {
  return e.action?.kind === 'copy' || e.action?.kind === 'import' ? e.action.kind : buildAction(e);
}
