// Where replicated bytes come from: an image in a Glance, or a URL with a declared checksum; each opened at any offset.
import type { Readable } from 'node:stream';
import { ImagesyncError } from '../errors.js';
import type { GlanceClient, GlanceImage } from '../openstack/glance.js';
import { downloadImageData } from '../openstack/glance-data.js';
import type { HttpClient } from '../openstack/http.js';
import type { Target } from '../plan/types.js';
import type { Checksum, Expected } from './digest.js';

export type SourceRef =
  | { kind: 'glance'; target: Target; glance: GlanceClient; image: GlanceImage }
  | { kind: 'url'; url: string; checksum: Checksum; http: HttpClient };

/** One opened read of the source. */
export interface SourceRead {
  body: Readable;
  /** Where `body` starts in the image. */
  offset: number;
  /** The whole size, when the source says. */
  totalSize?: number | undefined;
  /** Something that changes when the bytes do (Glance's Content-MD5, a URL's ETag): a resumed read must match the first. */
  identity?: string | undefined;
}

export type OpenSource = (offset: number, signal: AbortSignal) => Promise<SourceRead>;

export function describeSource(s: SourceRef): string {
  return s.kind === 'glance' ? `image ${s.image.id} in ${s.target.cloud}/${s.target.region}` : s.url;
}

/** What the source's bytes must hash to: Glance's own size and sha512, or the declared checksum. */
export function expectedOf(s: SourceRef): Expected {
  if (s.kind === 'url') return { declared: s.checksum };
  const img = s.image;
  return {
    size: typeof img.size === 'number' ? img.size : undefined,
    sha512: img.os_hash_algo === 'sha512' && typeof img.os_hash_value === 'string' ? img.os_hash_value : undefined,
  };
}

const MAX_REDIRECTS = 5;
const REDIRECTS = [301, 302, 303, 307, 308];

/** How to read the source from an offset. */
export function sourceOpener(s: SourceRef, idleTimeoutMs?: number): OpenSource {
  if (s.kind === 'glance') {
    return async (offset, signal) => {
      const d = await downloadImageData(s.glance, s.image.id, { offset, signal, ...(idleTimeoutMs ? { idleTimeoutMs } : {}) });
      return { body: d.body, offset: d.offset, totalSize: d.totalSize, identity: d.contentMd5 };
    };
  }
  return (offset, signal) => openUrl(s.http, s.url, offset, signal, idleTimeoutMs);
}

/**
 * A plain GET of a public URL. No credentials go with it, so redirects (mirrors) are followed. A
 * server that ignores Range answers 200 from byte 0: the bytes before the offset are skipped.
 */
async function openUrl(http: HttpClient, url: string, offset: number, signal: AbortSignal, idleTimeoutMs?: number): Promise<SourceRead> {
  let at = url;
  for (let hop = 0; ; hop++) {
    const res = await http.stream({
      method: 'GET',
      url: at,
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      expect: [200, 206, ...REDIRECTS],
      signal,
      ...(idleTimeoutMs ? { idleTimeoutMs } : {}),
    });
    if (REDIRECTS.includes(res.status)) {
      res.body.resume();
      const location = res.headers.location;
      if (!location || hop >= MAX_REDIRECTS) throw new ImagesyncError(`${url}: ${location ? `more than ${MAX_REDIRECTS} redirects` : `redirect ${res.status} without a Location`}`);
      at = new URL(location, at).toString();
      continue;
    }
    const identity = res.headers.etag ?? res.headers['last-modified'];
    if (res.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
      if (!m || Number(m[1]) !== offset) {
        res.body.destroy();
        throw new ImagesyncError(`${url}: asked for the bytes from ${offset} on, got Content-Range ${JSON.stringify(res.headers['content-range'] ?? null)}`);
      }
      return { body: res.body, offset, totalSize: m[3] === '*' ? undefined : Number(m[3]), identity };
    }
    const length = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
    if (offset > 0) await skipBytes(res.body, offset, url);
    return { body: res.body, offset, totalSize: length, identity };
  }
}

/** Read and drop `n` bytes (a server without Range support). */
async function skipBytes(body: Readable, n: number, url: string): Promise<void> {
  let left = n;
  while (left > 0) {
    const chunk = body.read() as Buffer | null;
    if (chunk === null) {
      if (body.readableEnded) throw new ImagesyncError(`${url}: the body ended before byte ${n}`);
      await new Promise<void>((resolve, reject) => {
        const done = (): void => {
          body.off('readable', done);
          body.off('end', done);
          body.off('error', fail);
          resolve();
        };
        const fail = (e: Error): void => {
          body.off('readable', done);
          body.off('end', done);
          reject(e);
        };
        body.once('readable', done);
        body.once('end', done);
        body.once('error', fail);
      });
      continue;
    }
    if (chunk.length > left) {
      body.unshift(chunk.subarray(left));
      left = 0;
    } else {
      left -= chunk.length;
    }
  }
}
