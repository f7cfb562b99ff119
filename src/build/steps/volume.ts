// Step: the boot volume of a volume-backed build (build.volume), made in Cinder from the source image (never twice), named and marked with the run; waited for until available.
import { ImagesyncError } from '../../errors.js';
import { VOLUME_FAILED } from '../../openstack/cinder.js';
import { createOnce } from '../../openstack/idempotent.js';
import { deleteResource } from '../../resources/delete.js';
import type { Step } from '../runner.js';
import { tempName, where, type BuildState } from '../state.js';
import { removeBy } from './delete.js';
import { pollUntil } from './poll.js';

export const createBootVolume: Step<BuildState> = {
  name: 'create boot volume',
  async run(s, ctx) {
    const plan = s.volumePlan;
    const cinder = s.services.cinder;
    if (!plan) throw new ImagesyncError(`${where(s)}: no boot volume was planned (the resolve step decides it)`);
    if (!cinder) throw new ImagesyncError(`${where(s)}: build.volume needs a block storage service (Cinder) in the catalog`);
    const name = tempName('volume', s);
    const pollIntervalMs = s.pollIntervalMs ?? 500;
    const ours = async (signal: AbortSignal) => (await cinder.volumesNamed(name, signal)).filter((v) => v.metadata?.imagesync_run === s.runId);
    // Declared before the POST: a volume Cinder made but never told us of is found by its name and run.
    const volume = await ctx.intend(
      { kind: 'volume', ...s.target, name, runId: s.runId },
      {
        async sweep(signal) {
          for (const v of await ours(signal)) await deleteResource(s.services, { kind: 'volume', ...s.target, name, runId: s.runId, id: v.id }, { pollIntervalMs, signal });
        },
        remove: removeBy(s),
      },
    );
    const created = await createOnce({
      what: `${where(s)}: volume ${name}`,
      create: async () =>
        (
          await cinder.createVolume(
            {
              name,
              size: plan.size,
              ...('imageRef' in plan.from ? { imageRef: plan.from.imageRef } : { snapshotId: plan.from.snapshotId }),
              volumeType: plan.type,
              availabilityZone: plan.availabilityZone,
              description: `imagesync run ${s.runId}: boot volume for "${s.image.name}"`.slice(0, 255),
              metadata: { imagesync_run: s.runId, imagesync_image: s.image.name.slice(0, 255), imagesync_role: 'build' },
            },
            ctx.signal,
          )
        ).id,
      find: async () => (await ours(ctx.signal))[0]?.id,
      policy: cinder.service.http.retryPolicy,
      signal: ctx.signal,
      log: (line) => ctx.log(line),
    });
    volume.created({ id: created.value, sole: created.sole });
    s.volume = { id: created.value, cleanup: volume };
    const id = created.value;
    await pollUntil(s, ctx, {
      what: `volume ${id} to become available`,
      get: (signal) => cinder.getVolume(id, signal),
      gone: `volume ${id} disappeared while being created`,
      done: (v) => v.status === 'available',
      failed: (v) => (VOLUME_FAILED.has(v.status) ? `volume ${id} went to ${v.status} (Cinder keeps the reason in its logs; is the type or zone right, is there quota?)` : undefined),
      describe: (v) => v.status,
      deadline: 'bootSeconds',
    });
    ctx.log(`boot volume ${id}: ${plan.size} GB${plan.type ? `, type ${plan.type}` : ''}, from ${'imageRef' in plan.from ? `image ${plan.from.imageRef}` : `snapshot ${plan.from.snapshotId}`}`);
  },
};
