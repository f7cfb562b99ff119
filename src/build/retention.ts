// Retention (--keep N): after a publish, superseded images of a name beyond the newest N go, unless a server still uses them.
import { cmp, newestFirst } from '../order.js';
import { errorMessage } from '../errors.js';
import type { GlanceClient, GlanceImage } from '../openstack/glance.js';
import type { NovaClient, Server } from '../openstack/nova.js';
import { IMAGE_NAME_MAX_LENGTH } from '../manifest/schema.js';
import { SUPERSEDED_NAME_PROPERTY } from './steps/publish.js';
import type { CinderClient } from '../openstack/cinder.js';
import { VOLUME_GONE_TIMEOUT_MS } from '../resources/delete.js';
import { deleteVolumeDataOf, volumeSnapshotsOf } from '../resources/volume-backed.js';

export interface RetentionAction {
  id: string;
  /** The superseded image's name, e.g. "web (superseded 2026-11-29)". */
  name: string;
  action: 'deleted' | 'kept' | 'kept-in-use' | 'would-delete' | 'delete-failed';
  /** Why it was kept or not deleted: "newest 2", "used by server …", the delete error. */
  reason: string;
}

const SUPERSEDED_SUFFIX = / \(superseded \d{4}-\d{2}-\d{2}\)$/;

/**
 * Images retired from `name` by imagesync: the property publish and prune write, or (older
 * retirements) the name pattern `<name> (superseded YYYY-MM-DD)` with an `imagesync_superseded_by`
 * — hidden either way.
 */
export function supersededOf(images: readonly GlanceImage[], name: string): GlanceImage[] {
  return images.filter((i) => {
    if (i.status === 'deleted' || i.status === 'pending_delete' || i.os_hidden !== true) return false;
    // Superseded by a newer build, or pruned from the manifest (nothing replaced it): the property says which name it had.
    if (i[SUPERSEDED_NAME_PROPERTY] !== undefined) return i[SUPERSEDED_NAME_PROPERTY] === name;
    if (typeof i.imagesync_superseded_by !== 'string') return false;
    const m = SUPERSEDED_SUFFIX.exec(i.name ?? '');
    if (!m) return false;
    // supersededName() cuts long names to fit the suffix within Glance's limit.
    return i.name!.slice(0, m.index) === name.slice(0, IMAGE_NAME_MAX_LENGTH - m[0].length);
  });
}

function retiredAt(i: GlanceImage): string {
  return typeof i.imagesync_superseded_at === 'string' ? i.imagesync_superseded_at : (i.created_at ?? '');
}

/** Pure: newest retirement first; the first `keep` stay, the rest are candidates for deletion. */
export function splitByAge(superseded: readonly GlanceImage[], keep: number): { kept: GlanceImage[]; candidates: GlanceImage[] } {
  const sorted = [...superseded].sort((a, b) => cmp(retiredAt(b), retiredAt(a)) || newestFirst(a, b));
  return { kept: sorted.slice(0, keep), candidates: sorted.slice(keep) };
}

/** Image id → the servers (visible to this project) booted from it. Volume-backed servers name no image. */
export function serversByImage(servers: readonly Server[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of servers) {
    const image = (s as Server & { image?: unknown }).image;
    const id = image && typeof image === 'object' ? (image as { id?: unknown }).id : undefined;
    if (typeof id !== 'string') continue;
    out.set(id, [...(out.get(id) ?? []), `${s.id} (${s.name})`]);
  }
  return out;
}

export interface RetentionOptions {
  glance: GlanceClient;
  nova: NovaClient;
  /** Block storage: an image of a volume-backed build goes with its Cinder snapshot and boot volume. */
  cinder?: CinderClient | undefined;
  /** First poll interval while a snapshot or volume is being deleted. */
  pollIntervalMs?: number | undefined;
  /** The final name whose superseded images are trimmed. */
  name: string;
  /** Superseded images to keep (newest first); 0 keeps none. */
  keep: number;
  /** Report what would be deleted; delete nothing. */
  dryRun?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

export async function applyRetention(o: RetentionOptions): Promise<RetentionAction[]> {
  // Retired images are hidden: the hidden listing is short, and Glance cannot filter by a name prefix.
  const hidden = await o.glance.listAll('images?os_hidden=true&limit=1000', o.signal);
  const { kept, candidates } = splitByAge(supersededOf(hidden, o.name), o.keep);
  const out: RetentionAction[] = kept.map((i) => ({ id: i.id, name: i.name ?? '', action: 'kept', reason: `one of the newest ${o.keep}` }));
  if (!candidates.length) return out;
  const users = serversByImage(await o.nova.listServers({}, o.signal));
  // A volume made from a volume-backed image's snapshot (a server booted from the image) needs that snapshot.
  const volumes = o.cinder && candidates.some((i) => volumeSnapshotsOf(i).length) ? await o.cinder.listVolumes(o.signal) : [];
  for (const i of candidates) {
    const name = i.name ?? '';
    const snaps = volumeSnapshotsOf(i);
    const using = [
      ...(users.get(i.id) ?? []).map((srv) => `server ${srv}`),
      ...volumes.filter((v) => v.snapshot_id && snaps.includes(v.snapshot_id)).map((v) => `volume ${v.id}${v.name ? ` (${v.name})` : ''}, made from its snapshot`),
    ];
    if (using.length) {
      out.push({ id: i.id, name, action: 'kept-in-use', reason: `used by ${using.join(', ')}` });
    } else if (i.protected === true) {
      out.push({ id: i.id, name, action: 'kept', reason: 'protected' });
    } else if (i.visibility === 'public' || i.visibility === 'community') {
      // Servers of other projects are out of sight: deleting could pull an image from under them.
      out.push({ id: i.id, name, action: 'kept', reason: `visibility ${i.visibility}: other projects may use it` });
    } else if (o.dryRun) {
      out.push({ id: i.id, name, action: 'would-delete', reason: `older than the newest ${o.keep}, no server uses it` });
    } else {
      try {
        await o.glance.deleteImage(i.id, o.signal);
        if (o.cinder) await deleteVolumeDataOf(o.cinder, i, { pollIntervalMs: o.pollIntervalMs ?? 500, timeoutMs: VOLUME_GONE_TIMEOUT_MS, signal: o.signal });
        out.push({ id: i.id, name, action: 'deleted', reason: `older than the newest ${o.keep}, no server uses it` });
      } catch (err) {
        out.push({ id: i.id, name, action: 'delete-failed', reason: errorMessage(err) });
      }
    }
  }
  return out;
}
