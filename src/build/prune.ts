// `apply --prune`: an orphaned image (its name left the manifest) is retired as a superseded one is — renamed and hidden first; deleted only by retention (--keep), never while a server uses it.
import { errorMessage } from '../errors.js';
import type { GlanceClient } from '../openstack/glance.js';
import type { NovaClient } from '../openstack/nova.js';
import type { Target } from '../plan/types.js';
import { applyRetention, type RetentionAction } from './retention.js';
import { retiredName, retireImage } from './retire.js';
import { SUPERSEDED_NAME_PROPERTY } from './steps/publish.js';

export interface PruneReport extends Target {
  /** The name the manifest no longer has. */
  image: string;
  retired: Array<{ id: string; newName: string }>;
  /** Ids the plan saw that no longer carry the name (someone else moved them): left alone. */
  left: string[];
  /** --keep N: what retention did with the retired images of this name. */
  retention?: RetentionAction[] | undefined;
  error?: string | undefined;
}

export interface PruneOptions {
  glance: GlanceClient;
  nova: NovaClient;
  /** --keep N: after retiring, delete retired images of the name beyond the newest N (none a server uses). */
  keep?: number | undefined;
  now: () => Date;
  signal?: AbortSignal | undefined;
}

/**
 * Retire the images of one orphaned (name, target). Reads them again first: the plan may be
 * minutes old, and only an image that still carries the name, as the plan saw it, is renamed.
 */
export async function pruneOrphan(entry: Target & { image: string; images: string[] }, o: PruneOptions): Promise<PruneReport> {
  const report: PruneReport = { cloud: entry.cloud, region: entry.region, image: entry.image, retired: [], left: [] };
  try {
    const now = o.now();
    const current = new Set((await o.glance.listByNames([entry.image], o.signal)).filter((i) => i.name === entry.image && i.os_hidden !== true).map((i) => i.id));
    for (const id of entry.images) {
      if (!current.has(id)) {
        report.left.push(id);
        continue;
      }
      const newName = retiredName(entry.image, 'pruned', now);
      await retireImage(o.glance, id, newName, { [SUPERSEDED_NAME_PROPERTY]: entry.image, imagesync_superseded_at: now.toISOString(), imagesync_pruned_at: now.toISOString() }, o.signal);
      report.retired.push({ id, newName });
    }
    if (o.keep !== undefined) report.retention = await applyRetention({ glance: o.glance, nova: o.nova, name: entry.image, keep: o.keep, signal: o.signal });
  } catch (err) {
    report.error = errorMessage(err);
  }
  return report;
}
