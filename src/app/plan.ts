// `plan` as named phases: prepare, open the lock, observe, compare with the lock; the result is data, rendered by the caller.
import { ExitCode } from '../errors.js';
import type { DriftEntry } from '../lock/drift.js';
import { lockDrift, openLock } from '../lock/record.js';
import type { Observation, Plan } from '../plan/types.js';
import type { AppDeps } from './deps.js';
import { observe, orphanSources } from './observe.js';
import { closeConnections, prepare, type PrepareOptions } from './prepare.js';

export interface PlanOptions extends PrepareOptions {
  /** The lock file to compare with: a path, false for none; default images.lock.json beside the manifest. */
  lock?: string | false | undefined;
  /** Exit code 2 when not in sync (or drifted from the lock), as terraform's -detailed-exitcode. */
  detailedExitcode?: boolean | undefined;
}

export interface PlanResult {
  plan: Plan;
  observations: Observation[];
  /** Where the clouds differ from the lock file. */
  drift: DriftEntry[];
  /** The lock file as messages show it; undefined without one. */
  lockFile: string | undefined;
  exitCode: number;
  /** HTTP requests made. */
  requests: number;
}

/** 1 when a target could not be read; with `detailed`, 2 when something is to change or drifted; else 0. */
export function planExitCode(plan: Plan, detailed: boolean | undefined, drift: readonly DriftEntry[] = []): number {
  if (plan.summary.unreachableTargets.length) return ExitCode.failure;
  if (detailed && (!plan.summary.inSync || drift.length > 0)) return ExitCode.changesPending;
  return ExitCode.ok;
}

export async function plan(opts: PlanOptions, deps: AppDeps): Promise<PlanResult> {
  const ctx = await prepare(opts, deps);
  try {
    // A bad lock file is invalid input: found before any cloud is contacted.
    const lock = await openLock(ctx.manifestFile, opts.lock, deps.cwd);
    ctx.orphans = orphanSources(ctx, lock.lock);
    const n = ctx.targets.length;
    const { plan, observations } = await observe(ctx, deps, { name: 'observe', title: `Reading ${n} target${n === 1 ? '' : 's'}` });
    const drift = lockDrift(lock, plan, observations);
    return { plan, observations, drift, lockFile: lock.shown, exitCode: planExitCode(plan, opts.detailedExitcode, drift), requests: ctx.requests() };
  } finally {
    await closeConnections(ctx);
  }
}
