// Glance v2 image members and who sees what: members of shared images (owner adds, member accepts), visibility by caller, publicize_image.
import { emptyReply, jsonReply, readBody, isoSeconds, type Reply } from './http.js';
import type { StoredImage } from './image-store.js';
import type { RouteContext, World } from './world.js';

/** One project an image is shared with, and its answer. */
export interface Membership {
  memberId: string;
  status: 'pending' | 'accepted' | 'rejected';
  createdAtMs: number;
  updatedAtMs: number;
}

const MEMBER_STATUSES = ['pending', 'accepted', 'rejected'] as const;

/** A members-API refusal, with webob's explanation text (the caller renders it). */
export class MemberFailure extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Who calls: its project, and whether it holds the admin role (Glance's context_is_admin). */
export interface Caller {
  projectId: string | null;
  admin: boolean;
}

export function callerOf(world: World, ctx: RouteContext): Caller {
  const token = ctx.token;
  const user = token ? world.directory.userById(token.userId) : undefined;
  return { projectId: token?.projectId ?? null, admin: user?.admin ?? false };
}

function membership(img: StoredImage, project: string | null): Membership | undefined {
  return project === null ? undefined : img.members?.find((m) => m.memberId === project);
}

/**
 * Glance's is_image_visible, for GET of one image: admins see all; others their own, public and
 * community ones, and shared ones they are a member of (whatever their answer).
 */
export function canSee(img: StoredImage, c: Caller): boolean {
  if (c.admin || img.owner === c.projectId || img.visibility === 'public' || img.visibility === 'community') return true;
  return img.visibility === 'shared' && membership(img, c.projectId) !== undefined;
}

/**
 * For listings (the matcher still applies its own visibility filter): as canSee, but a shared
 * image shows to a member only once it accepted (Glance's default member_status=accepted).
 */
export function listedFor(c: Caller): ((img: StoredImage) => boolean) | undefined {
  if (c.admin) return undefined;
  return (img) => {
    if (img.owner === c.projectId || img.visibility === 'public' || img.visibility === 'community') return true;
    return img.visibility === 'shared' && membership(img, c.projectId)?.status === 'accepted';
  };
}

/** Glance's policy on a visibility change: "public" needs admin (publicize_image); community is the owner's choice. */
export function checkVisibilityChange(value: unknown, c: Caller): void {
  if (value === 'public' && !c.admin) throw new MemberFailure(403, 'You are not authorized to complete publicize_image action.');
}

function memberView(img: StoredImage, m: Membership): Record<string, unknown> {
  return {
    member_id: m.memberId,
    image_id: img.id,
    status: m.status,
    created_at: isoSeconds(m.createdAtMs),
    updated_at: isoSeconds(m.updatedAtMs),
    schema: '/v2/schemas/member',
  };
}

async function bodyObject(ctx: RouteContext): Promise<Record<string, unknown>> {
  const raw = await readBody(ctx.req, 64 * 1024);
  if (raw.length === 0) throw new MemberFailure(400, 'Body expected in request.');
  try {
    const v = JSON.parse(raw.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    throw new MemberFailure(400, 'Malformed JSON in request body.');
  }
}

/**
 * The members routes of one (visible) image: `member` is undefined for the collection. `save`
 * writes the image back (so the store sees the change). Glance's checks, in its order: shared
 * images only, the owner adds and removes, the member (only) answers.
 */
export async function membersRoute(world: World, img: StoredImage, member: string | undefined, ctx: RouteContext, save: (change: (i: StoredImage) => void) => void): Promise<Reply> {
  const c = callerOf(world, ctx);
  const owner = c.admin || (img.owner !== null && img.owner === c.projectId);
  const shared = img.visibility === 'shared';
  const method = ctx.method === 'HEAD' ? 'GET' : ctx.method;
  if (member === undefined && method === 'GET') {
    if (!shared) throw new MemberFailure(403, `Not allowed to list members for image ${img.id}: Only shared images have members.`);
    const list = (img.members ?? []).filter((m) => owner || m.memberId === c.projectId);
    return jsonReply(200, { members: list.map((m) => memberView(img, m)), schema: '/v2/schemas/members' });
  }
  if (member === undefined && method === 'POST') {
    const body = await bodyObject(ctx);
    if (!('member' in body)) throw new MemberFailure(400, 'Member to be added not specified');
    if (typeof body.member !== 'string') throw new MemberFailure(400, "Expected a member in the form: {'member': 'image_id'}");
    if (body.member === '') throw new MemberFailure(400, "Member can't be empty");
    if (!shared || !owner) throw new MemberFailure(403, `Not allowed to create members for image ${img.id}.`);
    if (membership(img, body.member)) throw new MemberFailure(409, `Member ${body.member} is duplicated for image ${img.id}`);
    const now = world.now();
    const m: Membership = { memberId: body.member, status: 'pending', createdAtMs: now, updatedAtMs: now };
    save((i) => (i.members = [...(i.members ?? []), m]));
    return jsonReply(200, memberView(img, m));
  }
  if (member === undefined) throw new MemberFailure(405, `The method ${ctx.method} is not allowed for this resource.`);
  const found = membership(img, member);
  if (method === 'GET') {
    // Glance answers 404, not 403, so as not to tell who an image is shared with.
    if (!shared || !found || !(owner || member === c.projectId)) throw new MemberFailure(404, `${member} not found in the member list of the image ${img.id}.`);
    return jsonReply(200, memberView(img, found));
  }
  if (method === 'PUT') {
    const body = await bodyObject(ctx);
    if (!('status' in body)) throw new MemberFailure(400, 'Status not specified');
    if (typeof body.status !== 'string') throw new MemberFailure(400, "Expected a status in the form: {'status': 'status'}");
    // The owner cannot answer for its members: only the member's own project (or an admin).
    if (!shared || (!c.admin && c.projectId === img.owner)) throw new MemberFailure(403, `Not allowed to update members for image ${img.id}.`);
    if (!found) throw new MemberFailure(404, `${member} not found in the member list of the image ${img.id}.`);
    if (!c.admin && member !== c.projectId) throw new MemberFailure(403, `Not allowed to update members for image ${img.id}.`);
    const status = body.status;
    if (!(MEMBER_STATUSES as readonly string[]).includes(status)) throw new MemberFailure(400, `Incorrect request: Status must be one of ${MEMBER_STATUSES.join(', ')}`);
    const now = world.now();
    save((i) => {
      const m = membership(i, member);
      if (m) Object.assign(m, { status, updatedAtMs: now });
    });
    return jsonReply(200, memberView(img, { ...found, status: status as Membership['status'], updatedAtMs: now }));
  }
  if (method === 'DELETE') {
    if (!shared || !owner) throw new MemberFailure(403, `Not allowed to delete members for image ${img.id}.`);
    if (!found) throw new MemberFailure(404, `${member} not found in the member list of the image ${img.id}.`);
    save((i) => (i.members = (i.members ?? []).filter((m) => m.memberId !== member)));
    return emptyReply(204);
  }
  throw new MemberFailure(405, `The method ${ctx.method} is not allowed for this resource.`);
}
