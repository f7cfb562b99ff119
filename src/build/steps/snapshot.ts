// Steps: stop the server, snapshot it under a temporary name with provenance, wait for the image to be active.
import { cmp } from '../../order.js';
import { HttpError, ImagesyncError } from '../../errors.js';
import { VOLUME_FAILED } from '../../openstack/cinder.js';
import type { GlanceImage } from '../../openstack/glance.js';
import { deleteResource } from '../../resources/delete.js';
import { novaSnapshotName, volumeSnapshotsOf } from '../../resources/volume-backed.js';
import { createOnce } from '../../openstack/idempotent.js';
import { RECIPE_PROPERTY } from '../../plan/diff.js';
import { encodeRecipeParts } from '../../plan/recipe-parts.js';
import type { Step, StepContext } from '../runner.js';
import { tempName, where, type BuildState } from '../state.js';
import { removeBy } from './delete.js';
import { pollUntil } from './poll.js';
import { toPublish } from './publish.js';

export const stopServer: Step<BuildState> = {
  name: 'stop server',
  async run(s, ctx) {
    await s.ssh?.close();
    const { nova } = s.services;
    const id = s.serverId!;
    await nova.stop(id, ctx.signal);
    await pollUntil(s, ctx, {
      what: `server ${id} to stop`,
      get: (signal) => nova.getServer(id, signal),
      gone: `server ${id} disappeared while stopping`,
      done: (srv) => srv.status === 'SHUTOFF',
      failed: (srv) => (srv.status === 'ERROR' ? `server ${id} went to ERROR while stopping` : undefined),
      describe: (srv) => srv.status,
      deadline: 'bootSeconds',
    });
  },
};

/** Properties stamped on the image: the manifest's, then provenance (which wins). */
export function imageProperties(s: BuildState): Record<string, string> {
  return {
    ...(s.image.properties ?? {}),
    ...s.provenance,
    [RECIPE_PROPERTY]: s.recipe!,
    // Per component, so a later plan can say what changed (in ≤255-character values).
    ...encodeRecipeParts(s.base.parts),
    imagesync_run: s.runId,
    imagesync_source_image: s.sourceImage!.id,
    imagesync_source_name: s.sourceImage!.name ?? '',
  };
}

export const snapshot: Step<BuildState> = {
  name: 'create image',
  async run(s, ctx) {
    const { nova, glance } = s.services;
    // A half-built image never carries the final name: it gets it only once active and verified.
    const name = tempName('snapshot', s);
    const serverId = s.serverId!;
    // Ours: the temporary name and Nova's instance_uuid property naming our build server.
    const ours = async (signal: AbortSignal) =>
      (await glance.listByNames([name], signal)).filter((i) => i.instance_uuid === serverId && i.status !== 'deleted');
    // Declared before the POST: if Nova made the image and we never heard its id, the sweep still finds and deletes it.
    // A volume-backed server's image points at a Cinder snapshot Nova makes and names after the
    // image: declared first (cleaned up last), so a failed build deletes it even before its id is known.
    if (s.volume && s.services.cinder) {
      const cinder = s.services.cinder;
      const snapName = novaSnapshotName(name);
      s.volumeSnapshot = await ctx.intend(
        { kind: 'volume-snapshot', ...s.target, name: snapName, runId: s.runId },
        {
          async sweep(signal) {
            for (const snap of await cinder.snapshotsNamed(snapName, signal)) {
              if (snap.volume_id === s.volume?.id) await deleteResource(s.services, { kind: 'volume-snapshot', ...s.target, name: snapName, runId: s.runId, id: snap.id }, { pollIntervalMs: s.pollIntervalMs ?? 500, signal });
            }
          },
          remove: removeBy(s),
        },
      );
    }
    const image = await ctx.intend(
      { kind: 'image', ...s.target, name, runId: s.runId },
      {
        async sweep(signal) {
          for (const img of await ours(signal)) await glance.deleteImage(img.id, signal);
        },
        remove: removeBy(s),
      },
    );
    const created = await createOnce({
      what: `${where(s)}: snapshot ${name} of server ${serverId}`,
      create: () => nova.createImage(serverId, name, imageProperties(s), ctx.signal),
      find: async () => (await ours(ctx.signal)).sort((a, b) => cmp(String(a.created_at ?? ''), String(b.created_at ?? '')))[0]?.id,
      // 409 "in task_state image_snapshot": most likely our own earlier request, still running.
      alsoAmbiguous: (err) => err instanceof HttpError && err.status === 409,
      policy: nova.service.http.retryPolicy,
      signal: ctx.signal,
      log: (line) => ctx.log(line),
    });
    toPublish(s, image, created);
  },
};

export const waitImageActive: Step<BuildState> = {
  name: 'wait for the image',
  async run(s, ctx) {
    const { glance } = s.services;
    const id = s.snapshotId!;
    s.result = await pollUntil(s, ctx, {
      what: `image ${id} to become active`,
      get: (signal) => glance.getImage(id, signal),
      gone: `image ${id} disappeared while saving`,
      done: (img) => img.status === 'active',
      failed: (img) => (img.status === 'killed' || img.status === 'deleted' || img.status === 'deactivated' ? `the snapshot ${id} went to ${img.status}` : undefined),
      describe: (img) => img.status,
      deadline: 'snapshotSeconds',
    });
    await waitVolumeSnapshots(s, ctx, s.result);
  },
};

/**
 * The image of a volume-backed server is active in Glance at once, with 0 bytes; its data is the
 * Cinder snapshot it points at, which may still be creating: a server booted from the image before
 * that snapshot is available fails. Wait for it too.
 */
async function waitVolumeSnapshots(s: BuildState, ctx: Pick<StepContext, 'signal' | 'log'>, image: GlanceImage): Promise<void> {
  const ids = volumeSnapshotsOf(image);
  if (!ids.length) return;
  const cinder = s.services.cinder;
  if (!cinder) throw new ImagesyncError(`${where(s)}: image ${image.id} points at Cinder snapshots (${ids.join(', ')}), and the catalog has no block storage service to wait for them`);
  // The snapshot of the root volume is the one declared; there is one root volume.
  s.volumeSnapshot?.created({ id: ids[0]! });
  for (const snapId of ids) {
    await pollUntil(s, ctx, {
      what: `volume snapshot ${snapId} of image ${image.id} to become available`,
      get: (signal) => cinder.getSnapshot(snapId, signal),
      gone: `volume snapshot ${snapId} of image ${image.id} disappeared while being created`,
      done: (snap) => snap.status === 'available',
      failed: (snap) => (VOLUME_FAILED.has(snap.status) ? `volume snapshot ${snapId} of image ${image.id} went to ${snap.status}` : undefined),
      describe: (snap) => snap.status,
      deadline: 'snapshotSeconds',
    });
  }
  ctx.log(`volume-backed image ${image.id}: its data is in Cinder snapshot ${ids.join(', ')}`);
}
