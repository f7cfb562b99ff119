// Step: the copy's temporary image (imagesync-copy-…, hidden, with the source's formats and properties), created once, removed unless published.
import { createOnce } from '../../openstack/idempotent.js';
import { tempName, where } from '../../build/state.js';
import type { Step, StepContext } from '../../build/runner.js';
import { toPublish } from '../../build/steps/publish.js';
import type { CopyState } from '../state.js';

/** The run that made a copy: gc and a retried create recognise its temporary image by it. */
export const COPY_RUN_PROPERTY = 'imagesync_copy_run';
/** Where the bytes came from: `<cloud>/<region>/<image id>` or the URL. */
export const COPIED_FROM_PROPERTY = 'imagesync_copied_from';

function copiedFrom(s: CopyState): string {
  const src = s.source;
  // Glance keeps property values to 255 characters.
  return (src.kind === 'glance' ? `${src.target.cloud}/${src.target.region}/${src.image.id}` : src.url).slice(0, 255);
}

/** Create the temporary image, declared before the POST; sets snapshotId (what publish renames). */
export async function createCopyImage(s: CopyState, ctx: StepContext): Promise<void> {
  const { glance } = s.services;
  const name = tempName('copy', s);
  const ours = async (signal: AbortSignal) =>
    (await glance.listByNames([name], signal)).filter((i) => i[COPY_RUN_PROPERTY] === s.runId && i.status !== 'deleted');
  // Declared before the POST: if Glance made the image and its answer was lost, the sweep still finds and deletes it.
  const image = await ctx.intend(
    { kind: 'image-upload', ...s.target, name, runId: s.runId, hidden: true },
    {
      async sweep(signal) {
        for (const img of await ours(signal)) await glance.deleteImage(img.id, signal);
      },
      remove: (r, signal) => glance.deleteImage(r.id, signal),
    },
  );
  const f = s.fields;
  const created = await createOnce({
    what: `${where(s)}: copy image ${name}`,
    create: async () =>
      (
        await glance.createImage(
          {
            ...f.properties,
            name,
            disk_format: f.disk_format,
            container_format: f.container_format,
            min_disk: f.min_disk,
            min_ram: f.min_ram,
            tags: f.tags,
            visibility: 'private',
            // Out of plain listings until verified and published: nobody boots a half-copied image.
            os_hidden: true,
            [COPY_RUN_PROPERTY]: s.runId,
            [COPIED_FROM_PROPERTY]: copiedFrom(s),
          },
          ctx.signal,
        )
      ).id,
    find: async () => (await ours(ctx.signal))[0]?.id,
    policy: glance.service.http.retryPolicy,
    signal: ctx.signal,
    log: (line) => ctx.log(line),
  });
  toPublish(s, image, created);
  s.publishPatch = [{ op: 'replace', path: '/os_hidden', value: false }];
}

/**
 * A fresh temporary image in place of one a failed transfer may still hold (Glance finishes a cut
 * upload in its own time). The old one stays declared: its cleanup deletes it when the copy ends.
 */
export async function renewCopyImage(s: CopyState, ctx: StepContext): Promise<void> {
  if (s.snapshotId) ctx.log(`${where(s)}: image ${s.snapshotId} cannot take the data again; a fresh one takes it`);
  await createCopyImage(s, ctx);
}

export const createCopy: Step<CopyState> = {
  name: 'create the copy image',
  run: (s, ctx) => createCopyImage(s, ctx),
};
