// Step: the copy is active and holds exactly the expected bytes, by the destination's own sha512 (or by reading it back where it hashes otherwise).
import { ImagesyncError } from '../../errors.js';
import type { GlanceImage } from '../../openstack/glance.js';
import { downloadImageData } from '../../openstack/glance-data.js';
import { waitFor } from '../../openstack/wait.js';
import type { Step } from '../../build/runner.js';
import { ChecksumMismatchError, digestMismatch, StreamDigest, type Digests } from '../digest.js';
import { resumableRead } from '../resumable.js';
import { COPY_DEFAULTS, destinationId, type CopyState } from '../state.js';

/** What Glance says it stored, as digests: its size and its sha512 os_hash. */
function storedDigests(img: GlanceImage): Digests | undefined {
  if (img.os_hash_algo !== 'sha512' || typeof img.os_hash_value !== 'string' || typeof img.size !== 'number') return undefined;
  return { bytes: img.size, sha512: img.os_hash_value };
}

export const verifyCopy: Step<CopyState> = {
  name: 'verify the copy',
  async run(s, ctx) {
    const { glance } = s.services;
    const id = s.snapshotId!;
    const where = destinationId(s.target);
    const img = await waitFor({
      what: `copy ${id} in ${where} to become active`,
      poll: async () => {
        const i = await glance.getImage(id, ctx.signal);
        if (!i) throw new ImagesyncError(`${where}: the copy ${id} disappeared`);
        return i;
      },
      done: (i) => i.status === 'active',
      failed: (i) => (['killed', 'deleted', 'deactivated'].includes(i.status) ? `${where}: the copy ${id} went to ${i.status}` : undefined),
      describe: (i) => i.status,
      timeoutMs: (s.activeSeconds ?? COPY_DEFAULTS.activeSeconds) * 1000,
      intervalMs: s.pollIntervalMs ?? 500,
      signal: ctx.signal,
    });
    const want = s.expected ?? {};
    if (want.sha512 === undefined && want.declared === undefined) {
      throw new ChecksumMismatchError(`${where}: nothing to verify the copy ${id} against (the source has no sha512 and no checksum was declared)`);
    }
    let got = storedDigests(img);
    let how = "the destination's os_hash_value";
    if (!got) {
      // This Glance hashes with another algorithm (hashing_algorithm): read the copy back and hash it here.
      const digest = new StreamDigest(want.declared?.algo);
      const open = async (offset: number, signal: AbortSignal) => {
        const d = await downloadImageData(glance, id, { offset, signal });
        return { body: d.body, offset: d.offset, totalSize: d.totalSize, identity: d.contentMd5 };
      };
      for await (const chunk of resumableRead(open, { signal: ctx.signal })) digest.update(chunk);
      got = digest.digest();
      how = `the bytes read back (the destination hashes with ${String(img.os_hash_algo ?? 'nothing')})`;
    }
    const why = digestMismatch(want, got);
    if (why) throw new ChecksumMismatchError(`${where}: the copy ${id} is not the source's bytes, by ${how}: ${why}; it is not published (it is deleted)`);
    ctx.log(`${where}: verified ${got.bytes} bytes, sha512 ${got.sha512.slice(0, 16)}… (${how})`);
    s.result = img;
  },
};
