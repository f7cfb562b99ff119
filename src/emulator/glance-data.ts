// Glance v2 image data: download with a single Range (206 + Content-Range, as Glance 25 answers), and staging for glance-direct.
import { emptyReply, mediaType, readBody, BodyTooLargeError, header, type Reply } from './http.js';
import type { RegionImages, StoredImage } from './image-store.js';
import type { RouteContext, World } from './world.js';

/** A Glance error for the route wrapper to render (status, webob explanation). */
export class GlanceDataFailure extends Error {
  constructor(readonly status: number, message: string, readonly mediaType?: string) {
    super(message);
  }
}

/** The byte range [start, endExclusive) a `Range` header asks of an image of `size` bytes; undefined without one. */
export function requestedRange(rangeHeader: string | undefined, size: number): { start: number; end: number } | undefined {
  if (rangeHeader === undefined) return undefined;
  if (rangeHeader.includes(',')) {
    throw new GlanceDataFailure(400, 'Requests with multiple ranges are not supported in Glance. You may make multiple single-range requests instead.');
  }
  // webob's Range.parse: "bytes=a-b" (inclusive b), "bytes=a-", "bytes=-n" (the last n); anything else is None.
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(rangeHeader);
  let start: number;
  let end: number | undefined;
  if (!m || (m[1] === '' && m[2] === '')) throw new GlanceDataFailure(416, 'Invalid Range header.');
  if (m[1] === '') {
    start = -Number(m[2]);
  } else {
    start = Number(m[1]);
    if (m[2] !== '') {
      end = Number(m[2]) + 1;
      if (end <= start) throw new GlanceDataFailure(416, 'Invalid Range header.');
    }
  }
  if (start >= size) {
    throw new GlanceDataFailure(416, `Invalid start position in Range header. Start position MUST be in the inclusive range [0, ${size - 1}].`);
  }
  // Glance: a suffix longer than the image starts at 0; an end past the image is the image's end.
  const offset = start >= 0 ? start : Math.abs(start) < size ? size + start : 0;
  return { start: offset, end: end !== undefined && end < size ? end : size };
}

export function downloadImage(world: World, img: StoredImage, ctx: RouteContext): Reply {
  // Glance forbids the bytes of a deactivated image to non-admins only (context.is_admin); the
  // emulator's project roles are the same for every token, admin among them by default.
  const isAdmin = world.directory.roles.some((r) => r.name === 'admin');
  if (img.status === 'deactivated' && !isAdmin) {
    throw new GlanceDataFailure(403, 'The requested image has been deactivated. Image data download is forbidden.');
  }
  if (img.data === undefined) return emptyReply(204);
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'content-md5': img.checksum ?? '' };
  const range = requestedRange(header(ctx.req, 'range'), img.data.length);
  if (!range) return { status: 200, headers, body: img.data };
  headers['content-range'] = `bytes ${range.start}-${range.end - 1}/${img.data.length}`;
  return { status: 206, headers, body: img.data.subarray(range.start, range.end) };
}

/**
 * Take an upload's body into a queued image: `during` (saving, uploading) while it is read, back to
 * queued when the read fails (as Glance does: ready for another try), `keep` once it is all there.
 * False when the image was deleted meanwhile.
 */
export async function receiveData(
  world: World,
  images: RegionImages,
  img: StoredImage,
  ctx: RouteContext,
  during: 'saving' | 'uploading',
  keep: (i: StoredImage, data: Buffer) => void,
): Promise<boolean> {
  if (img.status !== 'queued') {
    throw new GlanceDataFailure(409, `Image status transition from ${img.status} to ${during} is not allowed`);
  }
  images.update(img.id, (i) => {
    i.status = during;
    i.updatedAtMs = world.now();
  });
  let data: Buffer;
  try {
    data = await readBody(ctx.req, world.maxUploadBytes);
  } catch (err) {
    images.update(img.id, (i) => {
      if (i.status === during) i.status = 'queued';
    });
    if (err instanceof BodyTooLargeError) {
      throw new GlanceDataFailure(413, during === 'saving' ? `Image exceeds the storage quota: ${err.message}` : `The incoming image is too large: ${err.message}`);
    }
    throw err;
  }
  return (
    images.update(img.id, (i) => {
      keep(i, data);
      i.updatedAtMs = world.now();
    }) !== undefined
  );
}

/** PUT /v2/images/{id}/stage: the bytes wait in the staging area (status `uploading`) for a glance-direct import. */
export async function stageImage(world: World, images: RegionImages, id: string, ctx: RouteContext, methods: readonly string[], get: (id: string) => StoredImage): Promise<Reply> {
  if (!methods.includes('glance-direct')) throw new GlanceDataFailure(404, "'glance-direct' method is not available at this site.");
  const type = mediaType(ctx.req);
  if (type !== 'application/octet-stream') throw new GlanceDataFailure(415, '', type ?? '');
  const img = get(id);
  if (img.staged !== undefined) throw new GlanceDataFailure(409, `The image ${img.id} has data on staging`);
  const kept = await receiveData(world, images, img, ctx, 'uploading', (i, data) => {
    i.staged = data;
    i.size = data.length;
  });
  if (!kept) throw new GlanceDataFailure(404, `No image found with ID ${id}`);
  return emptyReply(204);
}
