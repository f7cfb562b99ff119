// Steps: stop the server, snapshot it under a temporary name with provenance, wait for the image to be active.
import { HttpError, ImagesyncError } from '../../errors.js';
import { createOnce } from '../../openstack/idempotent.js';
import { RECIPE_PROPERTY } from '../../plan/diff.js';
import { waitFor } from '../../openstack/wait.js';
import type { Step } from '../runner.js';
import { tempName, timeoutMs, type BuildState } from '../state.js';

export const stopServer: Step<BuildState> = {
  name: 'stop server',
  async run(s, ctx) {
    await s.ssh?.close();
    const { nova } = s.services;
    await nova.stop(s.serverId!, ctx.signal);
    await waitFor({
      what: `server ${s.serverId} to stop`,
      poll: async () => (await nova.getServer(s.serverId!, ctx.signal))?.status,
      done: (st) => st === 'SHUTOFF',
      failed: (st) => (st === 'ERROR' ? `server ${s.serverId} went to ERROR while stopping` : st === undefined ? `server ${s.serverId} disappeared` : undefined),
      timeoutMs: timeoutMs(s, 'bootSeconds'),
      intervalMs: s.pollIntervalMs ?? 500,
      signal: ctx.signal,
    });
  },
};

/** Properties stamped on the image: the manifest's, then provenance (which wins). */
export function imageProperties(s: BuildState): Record<string, string> {
  return {
    ...(s.image.properties ?? {}),
    ...s.provenance,
    [RECIPE_PROPERTY]: s.recipe!,
    imagesync_run: s.runId,
    imagesync_source_image: s.sourceImage!.id,
    imagesync_source_name: s.image.source.image,
  };
}

export const snapshot: Step<BuildState> = {
  name: 'create image',
  async run(s, ctx) {
    const { nova, glance } = s.services;
    // A half-built image never carries the final name: it gets it only once active and verified.
    const name = tempName('snapshot', s);
    const serverId = s.serverId!;
    const where = `${s.target.cloud}/${s.target.region}`;
    const os = `openstack --os-cloud ${s.target.cloud} --os-region-name ${s.target.region}`;
    // Ours: the temporary name and Nova's instance_uuid property naming our build server.
    const ours = async (signal: AbortSignal) =>
      (await glance.listByNames([name], signal)).filter((i) => i.instance_uuid === serverId && i.status !== 'deleted');
    // Before the POST: if Nova made the image and we never heard its id, this still finds and deletes it.
    const sweep = ctx.defer({
      what: `any image named ${name}`,
      manual: `${os} image list --name ${name} (then: image delete <id>)`,
      async run(signal) {
        for (const img of await ours(signal)) await glance.deleteImage(img.id, signal);
      },
    });
    const created = await createOnce({
      what: `${where}: snapshot ${name} of server ${serverId}`,
      create: () => nova.createImage(serverId, name, imageProperties(s), ctx.signal),
      find: async () => (await ours(ctx.signal)).sort((a, b) => String(a.created_at ?? '').localeCompare(String(b.created_at ?? '')))[0]?.id,
      // 409 "in task_state image_snapshot": most likely our own earlier request, still running.
      alsoAmbiguous: (err) => err instanceof HttpError && err.status === 409,
      policy: nova.service.http.retryPolicy,
      signal: ctx.signal,
      log: (line) => ctx.log(line),
    });
    const id = created.value;
    if (!created.adopted && created.attempts === 1) sweep.dismiss();
    s.snapshotId = id;
    s.snapshotCleanup = ctx.defer({
      what: `image ${id} (${name})`,
      manual: `${os} image delete ${id}`,
      run: (signal) => glance.deleteImage(id, signal),
    });
  },
};

export const waitImageActive: Step<BuildState> = {
  name: 'wait for the image',
  async run(s, ctx) {
    const { glance } = s.services;
    const id = s.snapshotId!;
    s.result = await waitFor({
      what: `image ${id} to become active`,
      poll: async () => {
        const img = await glance.getImage(id, ctx.signal);
        if (!img) throw new ImagesyncError(`${s.target.cloud}/${s.target.region}: image ${id} disappeared while saving`);
        return img;
      },
      done: (img) => img.status === 'active',
      failed: (img) =>
        img.status === 'killed' || img.status === 'deleted' || img.status === 'deactivated'
          ? `${s.target.cloud}/${s.target.region}: the snapshot ${id} went to ${img.status}`
          : undefined,
      describe: (img) => img.status,
      timeoutMs: timeoutMs(s, 'snapshotSeconds'),
      intervalMs: s.pollIntervalMs ?? 500,
      signal: ctx.signal,
    });
  },
};
