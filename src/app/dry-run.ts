// apply --dry-run with --keep: which superseded images retention would delete, read from the clouds; nothing is deleted.
import { applyRetention } from '../build/retention.js';
import type { Plan } from '../plan/types.js';
import type { DryRunReport } from '../report/apply-report.js';
import type { AppDeps } from './deps.js';
import type { PlanContext } from './prepare.js';

/** Per reachable entry, one target after the other; none without --keep. */
export async function previewRetention(ctx: PlanContext, plan: Plan, keep: number | undefined, deps: AppDeps): Promise<DryRunReport['retention']> {
  const retention: DryRunReport['retention'] = [];
  if (keep === undefined) return retention;
  for (const e of plan.entries.filter((x) => x.state !== 'unreachable')) {
    const services = await ctx.connections.get(e.cloud)!.buildServices(e.region, deps.signal);
    for (const r of await applyRetention({ glance: services.glance, nova: services.nova, cinder: services.cinder, name: e.image, keep, dryRun: true, signal: deps.signal })) {
      retention.push({ ...r, cloud: e.cloud, region: e.region });
    }
  }
  return retention;
}
