// Images of volume-backed servers: Glance holds 0 bytes and a block_device_mapping that points at Cinder snapshots; reading that, and deleting what imagesync made of it.
import type { CinderClient, Volume, VolumeSnapshot } from '../openstack/cinder.js';
import { VOLUME_FAILED } from '../openstack/cinder.js';
import type { GlanceImage } from '../openstack/glance.js';
import { waitFor } from '../openstack/wait.js';

/** Nova names the snapshot of a volume-backed server's root volume after the image: "snapshot for <image name>". */
export const NOVA_SNAPSHOT_PREFIX = 'snapshot for ';

/** The name Nova gives the volume snapshot of an image created under `imageName`. */
export function novaSnapshotName(imageName: string): string {
  return `${NOVA_SNAPSHOT_PREFIX}${imageName}`;
}

/** A volume snapshot made for an imagesync build's temporary image (its name says so even after the image was renamed). */
export function isImagesyncSnapshot(s: Pick<VolumeSnapshot, 'name'>): boolean {
  return (s.name ?? '').startsWith(`${NOVA_SNAPSHOT_PREFIX}imagesync-snapshot-`);
}

/** Metadata on a boot volume kept with a published image: that image's id (gc leaves the volume while the image exists). */
export const VOLUME_BACKS_IMAGE = 'imagesync_image_id';

/** The boot volumes imagesync makes are named so. */
export function isImagesyncVolume(v: Pick<Volume, 'name'>): boolean {
  return (v.name ?? '').startsWith('imagesync-volume-');
}

/** The Cinder snapshots an image's block_device_mapping points at; empty for an image that holds its data. */
export function volumeSnapshotsOf(image: Record<string, unknown>): string[] {
  const raw = image.block_device_mapping;
  if (typeof raw !== 'string' || raw === '') return [];
  try {
    const list = JSON.parse(raw) as unknown;
    if (!Array.isArray(list)) return [];
    return list
      .filter((m): m is { snapshot_id: string } => typeof m === 'object' && m !== null && typeof (m as { snapshot_id?: unknown }).snapshot_id === 'string')
      .map((m) => m.snapshot_id);
  } catch {
    return [];
  }
}

/** "volume-backed: data in Cinder snapshot …" for plan and show; undefined for an ordinary image. */
export function describeVolumeBacked(image: GlanceImage): string | undefined {
  const snaps = volumeSnapshotsOf(image);
  if (!snaps.length) return undefined;
  return `volume-backed: data in Cinder snapshot${snaps.length === 1 ? '' : 's'} ${snaps.join(', ')} (Glance holds ${image.size ?? 0} bytes)`;
}

export interface CinderWait {
  pollIntervalMs: number;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

const BUSY = new Set(['creating', 'attaching', 'detaching', 'in-use', 'reserved', 'downloading', 'uploading', 'backing-up', 'restoring-backup', 'extending']);

/** Delete a volume snapshot and wait until it is gone (it may still be creating: Cinder refuses to delete it then). */
export async function deleteVolumeSnapshotAndWait(cinder: CinderClient, id: string, o: CinderWait): Promise<void> {
  await deleteAndWait(
    {
      what: `volume snapshot ${id}`,
      get: () => cinder.getSnapshot(id, o.signal),
      remove: () => cinder.deleteSnapshot(id, o.signal),
      busy: (status) => status === 'creating',
      failed: (status) => status === 'error_deleting',
    },
    o,
  );
}

/**
 * Delete a volume and wait until it is gone. A volume still attached (Nova detaches it as it
 * deletes the server) is waited for first; Cinder refuses a volume with snapshots, and that error
 * is the caller's to report.
 */
export async function deleteVolumeAndWait(cinder: CinderClient, id: string, o: CinderWait): Promise<void> {
  await deleteAndWait(
    {
      what: `volume ${id}`,
      get: () => cinder.getVolume(id, o.signal),
      remove: () => cinder.deleteVolume(id, o.signal),
      busy: (status) => BUSY.has(status),
      failed: (status) => VOLUME_FAILED.has(status),
    },
    o,
  );
}

/** One Cinder resource to delete: how to read and delete it, and which of its states are busy or failed. */
interface CinderResource {
  what: string;
  get: () => Promise<{ status: string } | undefined>;
  remove: () => Promise<void>;
  /** Cinder refuses to delete it in these: wait them out first. */
  busy: (status: string) => boolean;
  /** Deleting it ended here instead of with it gone. */
  failed: (status: string) => boolean;
}

/** Wait until the resource is not busy, delete it unless it is already being deleted, then wait until it is gone. */
async function deleteAndWait(r: CinderResource, o: CinderWait): Promise<void> {
  const timing = { timeoutMs: o.timeoutMs, intervalMs: o.pollIntervalMs, signal: o.signal };
  const describe = (x: { status: string } | undefined) => x?.status ?? 'gone';
  const settled = await waitFor({ what: `${r.what} to settle before deleting it`, poll: r.get, done: (x) => x === undefined || !r.busy(x.status), describe, ...timing });
  if (!settled) return;
  if (settled.status !== 'deleting') await r.remove();
  await waitFor({
    what: `${r.what} to be deleted`,
    poll: r.get,
    done: (x) => x === undefined,
    failed: (x) => (x && r.failed(x.status) ? `${r.what} went to ${x.status} while being deleted` : undefined),
    describe,
    ...timing,
  });
}

/**
 * What an image of a volume-backed build leaves in Cinder once the image is deleted: its snapshots
 * (only those Nova made for an imagesync build) and then the boot volumes they came from, when
 * imagesync made them and no other snapshot needs them.
 */
export async function deleteVolumeDataOf(cinder: CinderClient, image: GlanceImage, o: CinderWait): Promise<void> {
  const parents = new Set<string>();
  for (const id of volumeSnapshotsOf(image)) {
    const snap = await cinder.getSnapshot(id, o.signal);
    if (!snap || !isImagesyncSnapshot(snap)) continue;
    parents.add(snap.volume_id);
    await deleteVolumeSnapshotAndWait(cinder, id, o);
  }
  if (!parents.size) return;
  const left = await cinder.listSnapshots(o.signal);
  for (const id of parents) {
    const vol = await cinder.getVolume(id, o.signal);
    // A volume still attached belongs to a build going on: its own cleanup (after its server's) removes it.
    if (!vol || !isImagesyncVolume(vol) || vol.attachments?.length || vol.status === 'in-use' || left.some((s) => s.volume_id === id)) continue;
    await deleteVolumeAndWait(cinder, id, o);
  }
}
