// Step: bring the bytes into the copy image: the cloud's own import where it fits, else a pass over the source shared with the other destinations; a cut upload starts again from a fresh download, the others go on.
import { PassThrough } from 'node:stream';
import { errorMessage, HttpError, ImagesyncError } from '../../errors.js';
import { stageImageData, uploadImageData } from '../../openstack/glance-data.js';
import { importMethods, ImportFailedError, startImport, waitImported, type ImportMethodName } from '../../openstack/glance-import.js';
import type { Step, StepContext } from '../../build/runner.js';
import type { Sink } from '../fanout.js';
import { expectedOf } from '../source.js';
import { COPY_DEFAULTS, destinationId, type CopyState } from '../state.js';
import { chooseTransfer, describeTransfer, type Transfer } from '../transfer.js';
import { renewCopyImage } from './copy-image.js';

/** Every pass into this destination failed, or failed for a reason another pass cannot fix. */
export class CopyTransferError extends ImagesyncError {
  override readonly code = 'COPY_TRANSFER_FAILED';
}

/** Per chunk buffered towards one destination: the fan-out waits for the slowest past this. */
const SINK_BUFFER_BYTES = 1024 * 1024;

function uploadSink(s: CopyState, via: 'file' | 'stage', size: number | undefined, signal: AbortSignal): Sink {
  const stream = new PassThrough({ highWaterMark: SINK_BUFFER_BYTES });
  const put = via === 'file' ? uploadImageData : stageImageData;
  return { id: destinationId(s.target), stream, done: put(s.services.glance, s.snapshotId!, stream, { size, signal }) };
}

/** The cloud imports by itself; true when the image is active with the data. */
async function importByCloud(s: CopyState, t: Exclude<Transfer, { kind: 'stream' }>, ctx: StepContext): Promise<boolean> {
  const { glance } = s.services;
  const where = destinationId(s.target);
  try {
    await startImport(
      glance,
      s.snapshotId!,
      t.kind === 'glance-download' ? { name: 'glance-download', glance_image_id: t.imageId, glance_region: t.region } : { name: 'web-download', uri: t.uri },
      ctx.signal,
    );
    await waitImported(glance, s.snapshotId!, { timeoutMs: (s.importSeconds ?? COPY_DEFAULTS.importSeconds) * 1000, intervalMs: s.pollIntervalMs ?? 500, signal: ctx.signal });
    return true;
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    // The cloud refused or failed (a misconfigured import, an unreachable source): imagesync streams the bytes instead.
    if (err instanceof ImportFailedError || (err instanceof HttpError && err.status !== undefined && err.status < 500)) {
      ctx.log(`${where}: ${describeTransfer(t)} failed (${errorMessage(err)}); streaming the data instead`);
      await renewCopyImage(s, ctx);
      return false;
    }
    throw err;
  }
}

async function stream(s: CopyState, methods: readonly ImportMethodName[], ctx: StepContext): Promise<void> {
  const id = destinationId(s.target);
  const max = s.maxPasses ?? COPY_DEFAULTS.maxPasses;
  let via: 'file' | 'stage' = 'file';
  s.transfer = { kind: 'stream', via };
  for (let pass = 1; ; pass++) {
    s.passes = pass;
    const result = await s.coordinator.join({ id, openSink: (size) => uploadSink(s, via, size, ctx.signal) });
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (result.ok) {
      s.digests = result.digests;
      // Not hashed here: the source's own sha512 is what the destination's must be.
      s.expected = result.digests ? { size: result.bytes, sha512: result.digests.sha512 } : { ...expectedOf(s.source), size: result.bytes };
      if (via === 'stage') {
        await startImport(s.services.glance, s.snapshotId!, { name: 'glance-direct' }, ctx.signal);
        await waitImported(s.services.glance, s.snapshotId!, { timeoutMs: (s.importSeconds ?? COPY_DEFAULTS.importSeconds) * 1000, intervalMs: s.pollIntervalMs ?? 500, signal: ctx.signal });
      }
      return;
    }
    const err = result.error;
    // A cloud whose policy refuses direct uploads may still take staged data.
    if (via === 'file' && err instanceof HttpError && err.status === 403 && methods.includes('glance-direct')) {
      ctx.log(`${id}: direct upload refused (403); staging the data for glance-direct instead`);
      via = 'stage';
      s.transfer = { kind: 'stream', via };
      await renewCopyImage(s, ctx);
      pass--;
      continue;
    }
    if (!result.again || pass >= max) {
      throw new CopyTransferError(`${id}: copying the data failed${pass > 1 ? ` (${pass} passes)` : ''}: ${errorMessage(err)}`, { cause: err });
    }
    ctx.log(`${id}: the upload failed (${errorMessage(err)}); starting it again from a fresh download (pass ${pass + 1} of ${max})`);
    // Always into a fresh image: Glance may still be busy with the cut upload (it puts the image back
    // to queued only once it notices), and a second PUT into it meanwhile is refused with a 409.
    await renewCopyImage(s, ctx);
  }
}

export const transferData: Step<CopyState> = {
  name: 'transfer the data',
  async run(s, ctx) {
    const id = destinationId(s.target);
    try {
      // glance-download needs the source in our Keystone; web-download a URL: otherwise there is nothing to ask.
      const mayImport = s.source.kind === 'url' || s.sameKeystone;
      const methods = mayImport ? await importMethods(s.services.glance, ctx.signal) : [];
      const t = chooseTransfer(s.source, { sameKeystone: s.sameKeystone, methods });
      if (t.kind !== 'stream') {
        // Not in the shared download: the others need not wait for this import.
        s.coordinator.leave(id);
        s.transfer = t;
        s.expected = expectedOf(s.source);
        ctx.log(`${id}: ${describeTransfer(t)}`);
        if (await importByCloud(s, t, ctx)) return;
      }
      await stream(s, methods, ctx);
    } finally {
      s.coordinator.leave(id);
    }
  },
};
