// Phase "share" of apply: present images whose visibility or members drifted from the manifest get them set in place (no build).
import { applySharing } from '../build/sharing.js';
import { errorMessage } from '../errors.js';
import { describeSharingDrift } from '../plan/sharing.js';
import type { Plan, PlanEntry } from '../plan/types.js';
import type { ShareReport } from '../report/apply-report.js';
import type { AppDeps } from './deps.js';
import type { PlanContext } from './prepare.js';

/** The entries whose sharing apply sets: present, one image, drifted. */
export function sharingEntries(plan: Plan): Array<PlanEntry & { sharing: NonNullable<PlanEntry['sharing']> }> {
  return plan.entries.filter((e): e is PlanEntry & { sharing: NonNullable<PlanEntry['sharing']> } => e.sharing !== undefined && e.images.length === 1);
}

/** What a dry run says, and the report's line before the work: the image and the change in words. */
export function shareIntent(e: ReturnType<typeof sharingEntries>[number]): Omit<ShareReport, 'error'> {
  return { image: e.image, cloud: e.cloud, region: e.region, imageId: e.images[0]!, change: describeSharingDrift(e.sharing) };
}

/** One entry after the other (a PATCH and a few member calls each); one that fails is reported, the others go on. */
export async function shareAll(ctx: PlanContext, entries: ReturnType<typeof sharingEntries>, deps: AppDeps): Promise<ShareReport[]> {
  const out: ShareReport[] = [];
  for (const e of entries) {
    if (deps.signal.aborted) break;
    const intent = shareIntent(e);
    try {
      const glance = await ctx.connections.get(e.cloud)!.glance(e.region, deps.signal);
      await applySharing({ glance, id: intent.imageId, where: `${e.cloud}/${e.region}`, name: e.image, signal: deps.signal }, e.sharing);
      out.push(intent);
    } catch (err) {
      out.push({ ...intent, error: deps.redactor.text(errorMessage(err)) });
    }
  }
  return out;
}
