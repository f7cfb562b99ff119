// Sharing (visibility, members) as the manifest wants it and as an image has it: the difference, pure.
import type { Visibility, WantedImage } from '../manifest/schema.js';

/** What the manifest asks of an image's sharing; a key left out is not managed. */
export interface WantedSharing {
  visibility?: Visibility | undefined;
  /** Exactly these projects (ids), when given. */
  members?: readonly string[] | undefined;
}

/** The image's sharing as read from Glance: its visibility, and its members when they were read. */
export interface SharingSeen {
  visibility?: string | undefined;
  /** Undefined when not read (the manifest does not manage members, or the image is not shared). */
  members?: readonly string[] | undefined;
}

/** What apply changes to bring an image's sharing in line. */
export interface SharingDrift {
  visibility?: { is: string | undefined; want: Visibility } | undefined;
  /** Members to add, and to remove, in manifest (or id) order. */
  add: string[];
  remove: string[];
}

/**
 * The manifest's sharing of an image, or undefined when it says nothing (nothing then is read or
 * set: plans and publishes of manifests without sharing stay as they were). Members imply "shared".
 */
export function wantedSharing(image: Pick<WantedImage, 'visibility' | 'members'>): WantedSharing | undefined {
  if (image.visibility === undefined && image.members === undefined) return undefined;
  return { visibility: image.visibility ?? 'shared', ...(image.members !== undefined ? { members: image.members } : {}) };
}

/** Whether plan must read the image's member list to compare it: only when the manifest names members. */
export function readsMembers(want: WantedSharing | undefined): boolean {
  return want?.members !== undefined;
}

/**
 * How `seen` differs from `want`; undefined when it does not. A non-shared image has no members in
 * Glance (it refuses to list them): read as none.
 */
export function sharingDrift(want: WantedSharing | undefined, seen: SharingSeen): SharingDrift | undefined {
  if (!want) return undefined;
  const visibility = want.visibility !== undefined && seen.visibility !== want.visibility ? { is: seen.visibility, want: want.visibility } : undefined;
  let add: string[] = [];
  let remove: string[] = [];
  if (want.members !== undefined) {
    const has = new Set(seen.visibility === 'shared' ? (seen.members ?? []) : []);
    const wanted = new Set(want.members);
    add = want.members.filter((m) => !has.has(m));
    remove = [...has].filter((m) => !wanted.has(m));
  }
  return visibility || add.length || remove.length ? { ...(visibility ? { visibility } : {}), add, remove } : undefined;
}

/** `visibility private → shared; members to add: p1; to remove: p9`: a drift in words. */
export function describeSharingDrift(d: SharingDrift): string {
  const parts: string[] = [];
  if (d.visibility) parts.push(`visibility ${d.visibility.is ?? 'unknown'} → ${d.visibility.want}`);
  if (d.add.length) parts.push(`members to add: ${d.add.join(', ')}`);
  if (d.remove.length) parts.push(`members to remove: ${d.remove.join(', ')}`);
  return parts.join('; ');
}
