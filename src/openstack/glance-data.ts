// Glance v2 image data as streams: download (from an offset, with Range), upload (PUT .../file) and staging (PUT .../stage).
import type { Readable } from 'node:stream';
import { ResponseError } from '../errors.js';
import type { GlanceClient } from './glance.js';

/** Longest silence of a data transfer (no byte either way) before it counts as stalled. */
export const DEFAULT_DATA_IDLE_MS = 5 * 60_000;

export interface ImageDataStream {
  /** The bytes from `offset` on. */
  body: Readable;
  /** Where the body starts in the image. */
  offset: number;
  /** The whole image's size, from Content-Range or Content-Length, when Glance says. */
  totalSize?: number | undefined;
  /** Glance's Content-MD5 (the image's MD5 `checksum`): the same image across resumed reads. */
  contentMd5?: string | undefined;
  requestId?: string | undefined;
}

export interface DownloadOptions {
  /** Resume here: sends `Range: bytes=<offset>-` (Glance answers 206 with Content-Range). */
  offset?: number;
  signal?: AbortSignal | undefined;
  idleTimeoutMs?: number;
}

/** GET /v2/images/{id}/file, whole or from an offset. */
export async function downloadImageData(glance: GlanceClient, id: string, o: DownloadOptions = {}): Promise<ImageDataStream> {
  const offset = o.offset ?? 0;
  const path = `images/${encodeURIComponent(id)}/file`;
  const res = await glance.service.stream({
    method: 'GET',
    path,
    headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
    // 204: an image without data; the caller asked for bytes, so that is an error too.
    expect: offset > 0 ? [206] : [200],
    signal: o.signal,
    idleTimeoutMs: o.idleTimeoutMs ?? DEFAULT_DATA_IDLE_MS,
  });
  let totalSize: number | undefined;
  if (offset > 0) {
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers['content-range'] ?? '');
    if (!m || Number(m[1]) !== offset) {
      res.body.destroy();
      const where = `${glance.service.target.cloud}/${glance.service.target.region}`;
      throw new ResponseError(
        `${where}: GET ${glance.service.url(path)} from byte ${offset} → 206, but Content-Range is ${JSON.stringify(res.headers['content-range'] ?? null)}${res.requestId ? ` (request ${res.requestId})` : ''}`,
        { method: 'GET', url: glance.service.url(path), status: res.status, requestId: res.requestId, target: glance.service.target },
      );
    }
    totalSize = Number(m[3]);
  } else if (res.headers['content-length'] !== undefined) {
    totalSize = Number(res.headers['content-length']);
  }
  return { body: res.body, offset, totalSize, contentMd5: res.headers['content-md5'], requestId: res.requestId };
}

export interface UploadOptions {
  /** Sent as Content-Length (Glance checks quotas and the size with it); chunked without. */
  size?: number | undefined;
  signal?: AbortSignal | undefined;
  idleTimeoutMs?: number;
}

/** PUT /v2/images/{id}/file (204): the image becomes active once Glance has stored and hashed it. */
export async function uploadImageData(glance: GlanceClient, id: string, body: Readable, o: UploadOptions = {}): Promise<void> {
  await putData(glance, `images/${encodeURIComponent(id)}/file`, body, o);
}

/** PUT /v2/images/{id}/stage (204): the bytes wait in Glance's staging store for a glance-direct import. */
export async function stageImageData(glance: GlanceClient, id: string, body: Readable, o: UploadOptions = {}): Promise<void> {
  await putData(glance, `images/${encodeURIComponent(id)}/stage`, body, o);
}

async function putData(glance: GlanceClient, path: string, body: Readable, o: UploadOptions): Promise<void> {
  const res = await glance.service.stream({
    method: 'PUT',
    path,
    body,
    contentLength: o.size,
    contentType: 'application/octet-stream',
    expect: [204],
    signal: o.signal,
    idleTimeoutMs: o.idleTimeoutMs ?? DEFAULT_DATA_IDLE_MS,
  });
  res.body.resume();
}
