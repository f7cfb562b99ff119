// Glance v2 image client: list only the wanted names (name=in: batches), follow `next` to the end, hidden included.
import { HttpError, ResponseError } from '../errors.js';
import type { ServiceClient } from './service.js';

/** An image as Glance v2 returns it (extra properties are flattened at the top level). */
export interface GlanceImage {
  id: string;
  name: string | null;
  status: string;
  visibility?: string;
  os_hidden?: boolean;
  checksum?: string | null;
  os_hash_algo?: string | null;
  os_hash_value?: string | null;
  size?: number | null;
  created_at?: string;
  updated_at?: string;
  owner?: string | null;
  tags?: string[];
  [property: string]: unknown;
}

export interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

/** Set a property whether or not the image has it yet ("add" replaces in Glance's JSON-patch). */
export function setProperty(name: string, value: unknown): JsonPatchOp {
  return { op: 'add', path: `/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`, value };
}

interface ImagesPage {
  images?: unknown;
  next?: unknown;
}

/** Glance's own page limit cap (api_limit_max defaults to 1000). */
export const GLANCE_PAGE_LIMIT = 1000;
/** Keep each query string well under common URL limits (8 KiB in most proxies). */
export const NAME_BATCH_CHARS = 3000;
/** A `next` chain longer than this is a loop, not a listing. */
const MAX_PAGES = 10_000;

/**
 * Glance's `in:` operator splits on commas; a value with a comma must be double-quoted.
 * A name with a double quote cannot be expressed in `in:`, so it gets an exact `name=` query of its own.
 */
export function nameQueries(names: string[], maxChars = NAME_BATCH_CHARS): string[] {
  const unique = [...new Set(names)].sort();
  const queries: string[] = [];
  let batch: string[] = [];
  let len = 0;
  const flush = () => {
    if (batch.length === 1) queries.push(exactName(unquoted(batch[0]!)));
    else if (batch.length > 1) queries.push(`name=${encodeURIComponent('in:' + batch.join(','))}`);
    batch = [];
    len = 0;
  };
  for (const name of unique) {
    if (name.includes('"')) {
      queries.push(exactName(name));
      continue;
    }
    const item = name.includes(',') || name.startsWith('in:') ? `"${name}"` : name;
    const cost = encodeURIComponent(item).length + 3;
    if (len + cost > maxChars && batch.length) flush();
    batch.push(item);
    len += cost;
  }
  flush();
  return queries;
}

/** A bare value with a colon would be read as an operator ("a:b" → 400): say `eq:` outright. */
function exactName(name: string): string {
  return `name=${encodeURIComponent(name.includes(':') ? `eq:${name}` : name)}`;
}

function unquoted(item: string): string {
  return item.startsWith('"') && item.endsWith('"') ? item.slice(1, -1) : item;
}

/**
 * `next` is relative to the host root ("/v2/images?…") even when Glance sits behind a path
 * prefix: join what follows "/v2/" onto our own versioned base, which keeps the prefix.
 */
export function resolveNext(baseV2: string, next: string): string {
  if (/^https?:\/\//.test(next)) return next;
  const m = /^\/?(?:.*?\/)?v2\/(.*)$/.exec(next);
  if (m) return `${baseV2}/${m[1]}`;
  return new URL(next, baseV2 + '/').toString();
}

export class GlanceClient {
  constructor(readonly service: ServiceClient) {}

  /** Every image (any status, hidden or not) whose name is one of `names`. */
  async listByNames(names: string[], signal?: AbortSignal): Promise<GlanceImage[]> {
    if (names.length === 0) return [];
    const queries = nameQueries(names);
    // Hidden images are left out unless os_hidden=true is asked, and that lists only hidden ones:
    // both lists, in parallel, so a hidden duplicate cannot go unseen.
    const lists = await Promise.all(
      queries.flatMap((q) => [
        this.listAll(`images?${q}&limit=${GLANCE_PAGE_LIMIT}`, signal),
        this.listAll(`images?${q}&os_hidden=true&limit=${GLANCE_PAGE_LIMIT}`, signal),
      ]),
    );
    const byId = new Map<string, GlanceImage>();
    for (const img of lists.flat()) byId.set(img.id, img);
    const wanted = new Set(names);
    // Glance's name filter is exact, but a proxy or an older release might be looser: re-check.
    return [...byId.values()].filter((i) => i.name !== null && wanted.has(i.name));
  }

  async getImage(id: string, signal?: AbortSignal): Promise<GlanceImage | undefined> {
    try {
      const { body, res } = await this.service.getJson<GlanceImage>(`images/${encodeURIComponent(id)}`, signal);
      return checkImage(body, `${this.service.target.cloud}/${this.service.target.region}`, {
        method: 'GET', url: this.service.url(`images/${id}`), status: res.status, requestId: res.requestId, target: this.service.target,
      });
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * Create an image record (201, `queued`). Not idempotent: a caller that may retry looks for it
   * first (createOnce with a find by its temporary name).
   */
  async createImage(fields: Record<string, unknown>, signal?: AbortSignal): Promise<GlanceImage> {
    const res = await this.service.request({ method: 'POST', path: 'images', json: fields, expect: [201], signal });
    return checkImage(res.json(), `${this.service.target.cloud}/${this.service.target.region}`, {
      method: 'POST', url: this.service.url('images'), status: res.status, requestId: res.requestId, target: this.service.target,
    });
  }

  /** JSON-patch an image (rename, properties, os_hidden). */
  async patchImage(id: string, ops: JsonPatchOp[], signal?: AbortSignal): Promise<GlanceImage> {
    const res = await this.service.request({
      method: 'PATCH',
      path: `images/${encodeURIComponent(id)}`,
      json: ops,
      contentType: 'application/openstack-images-v2.1-json-patch',
      expect: [200],
      signal,
    });
    return res.json<GlanceImage>();
  }

  /** Delete; an already-missing image counts as deleted. */
  async deleteImage(id: string, signal?: AbortSignal): Promise<void> {
    await this.service.request({ method: 'DELETE', path: `images/${encodeURIComponent(id)}`, expect: [204, 404], signal });
  }

  /**
   * The visible images with an extra property of exactly this value (Glance filters any other
   * query parameter as a property), owned by `owner` when given: one filtered listing, whatever
   * the number of images in the region.
   */
  async listByProperty(property: string, value: string, owner: string | undefined, signal?: AbortSignal): Promise<GlanceImage[]> {
    const q = new URLSearchParams({ [property]: value, ...(owner ? { owner } : {}), limit: String(GLANCE_PAGE_LIMIT) });
    return this.listAll(`images?${q}`, signal);
  }

  /** Follow `next` until it is absent; a repeated `next` is a loop and an error. */
  async listAll(firstPath: string, signal?: AbortSignal): Promise<GlanceImage[]> {
    const out: GlanceImage[] = [];
    const seen = new Set<string>();
    let path: string | undefined = firstPath;
    for (let page = 0; path; page++) {
      const { body, res } = await this.service.getJson<ImagesPage>(path, signal);
      const info = { method: 'GET', url: this.service.url(path), status: res.status, requestId: res.requestId, target: this.service.target };
      const where = `${this.service.target.cloud}/${this.service.target.region}`;
      if (!body || !Array.isArray(body.images)) {
        throw new ResponseError(`${where}: GET ${info.url} → ${res.status}, but the body has no "images" list${res.requestId ? ` (request ${res.requestId})` : ''}`, info);
      }
      for (const raw of body.images) out.push(checkImage(raw, where, info));
      if (body.next === undefined || body.next === null) break;
      if (typeof body.next !== 'string') throw new ResponseError(`${where}: Glance's "next" is not a string (request ${res.requestId ?? 'unknown'})`, info);
      const nextUrl = resolveNext(this.service.baseUrl, body.next);
      if (seen.has(nextUrl) || page >= MAX_PAGES) {
        throw new ResponseError(`${where}: Glance's "next" link loops (${body.next}${res.requestId ? `, request ${res.requestId}` : ''})`, info);
      }
      seen.add(nextUrl);
      path = nextUrl;
    }
    return out;
  }
}

function checkImage(raw: unknown, where: string, info: ConstructorParameters<typeof ResponseError>[1]): GlanceImage {
  const i = raw as Partial<GlanceImage>;
  if (!i || typeof i !== 'object' || typeof i.id !== 'string' || typeof i.status !== 'string' || (i.name !== null && typeof i.name !== 'string')) {
    throw new ResponseError(
      `${where}: Glance listed an image without a string id, name or status${info.requestId ? ` (request ${info.requestId})` : ''}: ${JSON.stringify(raw).slice(0, 120)}`,
      info,
    );
  }
  return i as GlanceImage;
}
