// Step: check that nobody took the final name meanwhile, retire the images it replaces, give ours the name.
import { ImagesyncError } from '../../errors.js';
import { setProperty, type GlanceImage, type JsonPatchOp } from '../../openstack/glance.js';
import { MANAGED_PROPERTY, PUBLISHED_NAME_PROPERTY } from '../../plan/orphans.js';
import { sharingDrift, type WantedSharing } from '../../plan/sharing.js';
import { ClaimLostError, verifyClaim, type ClaimedBuildState } from '../claim.js';
import { applySharing } from '../sharing.js';
import { retiredName, retireImage } from '../retire.js';
import { VOLUME_BACKS_IMAGE } from '../../resources/volume-backed.js';
import type { CleanupHandle, DeclaredResource, Step, StepContext } from '../runner.js';
import { clocks, type BuildState } from '../state.js';

export class NameTakenError extends ImagesyncError {
  override readonly code = 'NAME_TAKEN';
}

/** `<name> (superseded 2026-11-29)`, cut so it stays within Glance's 255 characters. */
export function supersededName(name: string, at: Date): string {
  return retiredName(name, 'superseded', at);
}

/** Property on a retired image naming the final name it had, so retention finds it without parsing names. */
export const SUPERSEDED_NAME_PROPERTY = 'imagesync_superseded_name';

/** What publishing needs: the claimed name, the finished temporary image, what it replaces. */
export type PublishState = ClaimedBuildState & {
  /** The temporary image to publish (a snapshot, a copy, an import). */
  snapshotId?: string | undefined;
  /** Dismissed once the image carries the final name: from then on it is the product. */
  snapshotCleanup?: CleanupHandle | undefined;
  /** Images that carry the final name now, to retire. */
  replaces: GlanceImage[];
  /** The manifest's visibility and members: set on the temporary image before it takes the name. */
  sharing?: WantedSharing | undefined;
  /** Changes made together with the rename (a copy kept hidden until now shows itself). */
  publishPatch?: JsonPatchOp[] | undefined;
  result?: GlanceImage | undefined;
  rotated?: Array<{ id: string; newName: string }> | undefined;
};

/**
 * A temporary image just created (a snapshot, a copy) becomes what publish renames: its id is
 * recorded on its declaration, and its cleanup is dismissed once it carries the final name.
 */
export function toPublish(s: Pick<PublishState, 'snapshotId' | 'snapshotCleanup'>, image: DeclaredResource, created: { value: string; sole: boolean }): void {
  image.created({ id: created.value, sole: created.sole });
  s.snapshotId = created.value;
  s.snapshotCleanup = image;
}

export const publish: Step<PublishState> = {
  name: 'verify and rename',
  async run(s, ctx) {
    const { glance } = s.services;
    const where = `${s.target.cloud}/${s.target.region}`;
    const ours = s.snapshotId!;
    const name = s.image.name;
    // Both reads at once: the claim is judged first, as before, and nothing is written until both are in.
    const listing = glance.listByNames([name], ctx.signal);
    listing.catch(() => undefined);
    await verifyClaim(s, ctx.signal);
    const expected = new Set(s.replaces.map((i) => i.id));
    const holders = (await listing).filter((i) => i.id !== ours && i.status !== 'deleted');
    const intruders = holders.filter((i) => !expected.has(i.id));
    const otherRun = intruders.find((i) => i.status === 'active' && typeof i.imagesync_run === 'string' && i.imagesync_run !== s.runId);
    if (otherRun && intruders.every((i) => i.status === 'active' && typeof i.imagesync_run === 'string')) {
      // Another imagesync run published first (its claim was gone before ours was made): the image exists.
      const run = otherRun.imagesync_run as string;
      throw new ClaimLostError(`${where}: "${name}" was published meanwhile by run ${run} (${otherRun.id}); this run's image is not published (it is deleted)`, run);
    }
    if (intruders.length) {
      const who = intruders.map((i) => `${i.id} (${i.status}${typeof i.imagesync_run === 'string' ? `, built by run ${i.imagesync_run}` : ''})`);
      throw new NameTakenError(`${where}: "${name}" was taken while this build ran: ${who.join(', ')}; the new image is not published (it is deleted)`);
    }
    // Sharing before the name: a refusal (a 403 for "public") fails here, while the old image
    // still carries the name and this one is deleted; the name never shows with the wrong sharing.
    await shareTemporary(s, ours, ctx);
    const now = clocks(s).now();
    // Retire first, then publish: for a moment no image has the name, but never two.
    s.rotated = [];
    for (const old of holders) {
      const newName = supersededName(name, now);
      await retireImage(
        glance,
        old.id,
        newName,
        { imagesync_superseded_by: ours, imagesync_superseded_at: now.toISOString(), [SUPERSEDED_NAME_PROPERTY]: name },
        ctx.signal,
      );
      s.rotated.push({ id: old.id, newName });
      ctx.log(`retired ${old.id} as "${newName}" (hidden)`);
    }
    await markVolume(s, ctx.signal);
    // Published: the name, and the marks plan finds it by once the manifest no longer names it (orphans).
    s.result = await glance.patchImage(
      ours,
      [{ op: 'replace', path: '/name', value: name }, setProperty(MANAGED_PROPERTY, 'true'), setProperty(PUBLISHED_NAME_PROPERTY, name), ...(s.publishPatch ?? [])],
      ctx.signal,
    );
    s.snapshotCleanup?.dismiss();
    keepVolumeData(s, ctx);
    const after = (await glance.listByNames([name], ctx.signal)).filter((i) => i.status !== 'deleted');
    if (after.length !== 1) {
      ctx.log(`warning: ${after.length} images carry "${name}" right after publishing: ${after.map((i) => i.id).join(', ')}`);
    }
  },
};

/** The temporary image gets the manifest's sharing; it is fresh, so it has no members yet. */
async function shareTemporary(s: PublishState, id: string, ctx: StepContext): Promise<void> {
  if (!s.sharing) return;
  const { glance } = s.services;
  const img = await glance.getImage(id, ctx.signal);
  const drift = sharingDrift(s.sharing, { visibility: img?.visibility, members: [] });
  if (!drift) return;
  await applySharing({ glance, id, where: `${s.target.cloud}/${s.target.region}`, name: s.image.name, signal: ctx.signal, log: ctx.log }, drift);
}

/** A build's boot volume and its snapshot, when it booted from a volume (a copy or an import has none). */
type VolumeBacked = ClaimedBuildState & Partial<Pick<BuildState, 'volume' | 'volumeSnapshot' | 'snapshotId'>> & { services: { cinder?: BuildState['services']['cinder'] } };

/** Before the rename: the boot volume names the image its snapshot backs, so gc leaves it while that image exists. */
async function markVolume(s: VolumeBacked, signal: AbortSignal): Promise<void> {
  if (!s.volume || !s.volumeSnapshot) return;
  await s.services.cinder?.setVolumeMetadata(s.volume.id, { [VOLUME_BACKS_IMAGE]: s.snapshotId!, imagesync_image: s.image.name.slice(0, 255) }, signal);
}

/**
 * A volume-backed image's data is its Cinder snapshot, and Cinder keeps a volume while snapshots of
 * it exist: both stay with the published image. Deleting the image (retention, gc) deletes them.
 */
function keepVolumeData(s: VolumeBacked, ctx: StepContext): void {
  if (!s.volume || !s.volumeSnapshot) return;
  s.volumeSnapshot.dismiss();
  s.volume.cleanup.dismiss();
  ctx.log(`boot volume ${s.volume.id} stays with the image: its snapshot ${s.volumeSnapshot.resource.id ?? ''} holds the image's data`);
}
