// Glance v2 image members: list, add (the owner's side; the member accepts in its own project), remove.
import { HttpError } from '../errors.js';
import type { GlanceClient } from './glance.js';

/** One membership as Glance shows it; `status` is the member's answer: pending, accepted or rejected. */
export interface ImageMember {
  member_id: string;
  image_id: string;
  status: string;
}

const membersPath = (id: string) => `images/${encodeURIComponent(id)}/members`;

/** GET …/members: who the (shared) image is shared with. Glance answers 403 for an image that is not "shared". */
export async function listMembers(glance: GlanceClient, id: string, signal?: AbortSignal): Promise<ImageMember[]> {
  const { body } = await glance.service.getJson<{ members?: unknown }>(membersPath(id), signal);
  const list = Array.isArray(body?.members) ? body.members : [];
  return list.filter((m): m is ImageMember => !!m && typeof m === 'object' && typeof (m as ImageMember).member_id === 'string');
}

/**
 * POST …/members {"member": id}: the membership starts "pending" until the member accepts it. A
 * 409 says the member is there already (a retried call, another run): that is what was wanted.
 */
export async function addMember(glance: GlanceClient, id: string, member: string, signal?: AbortSignal): Promise<void> {
  try {
    await glance.service.request({ method: 'POST', path: membersPath(id), json: { member }, expect: [200], signal, idempotent: false });
  } catch (err) {
    if (err instanceof HttpError && err.status === 409) return;
    throw err;
  }
}

/** DELETE …/members/{member}; one already gone counts as removed. */
export async function removeMember(glance: GlanceClient, id: string, member: string, signal?: AbortSignal): Promise<void> {
  await glance.service.request({ method: 'DELETE', path: `${membersPath(id)}/${encodeURIComponent(member)}`, expect: [204, 404], signal });
}
