// Bring an image's sharing in line with the manifest: visibility first (members need "shared"), then members added and removed.
import { HttpError, ImagesyncError } from '../errors.js';
import type { GlanceClient } from '../openstack/glance.js';
import { addMember, removeMember } from '../openstack/glance-members.js';
import type { SharingDrift } from '../plan/sharing.js';

/** Glance's policy refused a sharing change (403): which policy, on which image, in which target. */
export class SharingRefusedError extends ImagesyncError {
  override readonly code = 'SHARING_REFUSED';
}

/** The Glance policy rule that decides a visibility change (its defaults: glance/policies/image.py). */
function visibilityPolicy(v: string): string {
  if (v === 'public') return '"publicize_image" (admin only by default: ask the cloud\'s admins, or use "community")';
  if (v === 'community') return '"communitize_image" (the owner\'s project members by default)';
  return '"modify_image"';
}

export interface SharingSubject {
  glance: GlanceClient;
  /** The image changed (a temporary one before publish, or the published one). */
  id: string;
  /** "cloud/region", and the wanted name: every message names both. */
  where: string;
  name: string;
  signal?: AbortSignal | undefined;
  log?: ((line: string) => void) | undefined;
}

/** Apply `drift` to the image; a 403 becomes a SharingRefusedError naming the target, the image and the policy. */
export async function applySharing(s: SharingSubject, drift: SharingDrift): Promise<void> {
  const refused = (what: string, policy: string) => (err: unknown) => {
    if (!(err instanceof HttpError) || err.status !== 403) throw err;
    const glanceSays = err.info.bodyStart ? `: ${err.info.bodyStart}` : '';
    throw new SharingRefusedError(`${s.where}: "${s.name}": Glance refused to ${what} image ${s.id} (403${glanceSays}); policy ${policy} decides`, { cause: err });
  };
  if (drift.visibility) {
    const want = drift.visibility.want;
    await s.glance.patchImage(s.id, [{ op: 'replace', path: '/visibility', value: want }], s.signal).catch(refused(`make ${want}`, visibilityPolicy(want)));
    s.log?.(`visibility ${drift.visibility.is ?? 'unknown'} → ${want}`);
  }
  for (const m of drift.add) {
    await addMember(s.glance, s.id, m, s.signal).catch(refused(`share with project ${m}`, '"add_member" (only the image\'s owner may add members)'));
    s.log?.(`shared with project ${m} (pending until it accepts)`);
  }
  for (const m of drift.remove) {
    await removeMember(s.glance, s.id, m, s.signal).catch(refused(`stop sharing with project ${m}`, '"delete_member"'));
    s.log?.(`no longer shared with project ${m}`);
  }
}
