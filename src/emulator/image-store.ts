// Per-region image store with a name index and cached sort orders, plus Glance's JSON view of an image.
import { createHash } from 'node:crypto';
import { isoSeconds } from './http.js';
import type { IdSource } from './ids.js';
import {
  GlanceBadRequest,
  compareImages,
  imageMatcher,
  indexAfter,
  type ImageListQuery,
  type SortDir,
  type SortKey,
} from './glance-query.js';
import type { ImportTask } from './glance-import.js';
import type { Membership } from './glance-members.js';
import type { GlanceImage, ImageChange, ImageCore, ImageSeed, ImageStatus, ImageVisibility } from './types.js';

export interface StoredImage extends ImageCore {
  properties: Record<string, string>;
  createdAtMs: number;
  updatedAtMs: number;
  data: Buffer | undefined;
  /** Bytes staged for a glance-direct import (PUT .../stage), until the import takes them. */
  staged?: Buffer | undefined;
  /** The projects a shared image is shared with (GET .../members). */
  members?: Membership[] | undefined;
  /** Import tasks run on this image (GET .../tasks). */
  tasks?: ImportTask[] | undefined;
  /** Cached JSON of glanceView; RegionImages clears it on every change. */
  viewJson?: string | undefined;
}

/** Store bytes and the hashes Glance computes on upload (MD5 checksum, SHA-512 os_hash). */
export function setImageData(img: StoredImage, data: Buffer): void {
  img.data = data;
  img.size = data.length;
  img.virtual_size = data.length;
  img.checksum = createHash('md5').update(data).digest('hex');
  img.os_hash_algo = 'sha512';
  img.os_hash_value = createHash('sha512').update(data).digest('hex');
}

const SEED_KEYS = new Set([
  'id', 'name', 'status', 'visibility', 'protected', 'os_hidden', 'disk_format', 'container_format', 'min_ram',
  'min_disk', 'owner', 'tags', 'properties', 'data', 'createdAtMs', 'updatedAtMs',
  // Read-only fields of a Glance view, so a view can be fed back in.
  'checksum', 'os_hash_algo', 'os_hash_value', 'size', 'virtual_size', 'created_at', 'updated_at', 'self', 'file',
  'schema', 'stores',
]);

/** Extra properties of a seed: its `properties` plus any unknown top-level key. */
function seedProperties(seed: ImageSeed): Record<string, string> {
  const out: Record<string, string> = { ...(seed.properties ?? {}) };
  for (const [k, v] of Object.entries(seed)) {
    if (SEED_KEYS.has(k) || v === undefined) continue;
    if (typeof v !== 'string') throw new TypeError(`emulator: image property '${k}' must be a string (Glance stores strings), got ${typeof v}`);
    out[k] = v;
  }
  return out;
}

export function createStoredImage(seed: ImageSeed, ids: IdSource, nowMs: number, defaultOwner: string | null): StoredImage {
  const createdAtMs = seed.createdAtMs ?? nowMs;
  const img: StoredImage = {
    id: seed.id ?? ids.uuid(),
    name: seed.name ?? null,
    status: seed.status ?? (seed.data !== undefined ? 'active' : 'queued'),
    visibility: seed.visibility ?? 'shared',
    protected: seed.protected ?? false,
    os_hidden: seed.os_hidden ?? false,
    checksum: null,
    os_hash_algo: null,
    os_hash_value: null,
    size: null,
    virtual_size: null,
    disk_format: seed.disk_format === undefined ? null : seed.disk_format,
    container_format: seed.container_format === undefined ? null : seed.container_format,
    min_ram: seed.min_ram ?? 0,
    min_disk: seed.min_disk ?? 0,
    owner: seed.owner === undefined ? defaultOwner : seed.owner,
    tags: [...(seed.tags ?? [])],
    properties: seedProperties(seed),
    createdAtMs,
    updatedAtMs: seed.updatedAtMs ?? createdAtMs,
    data: undefined,
  };
  let data: Buffer | undefined;
  if (seed.data !== undefined) data = typeof seed.data === 'string' ? Buffer.from(seed.data) : Buffer.from(seed.data);
  else if (['active', 'deactivated'].includes(img.status)) data = Buffer.from(`emulated image ${img.name ?? img.id}\n`);
  if (data !== undefined) {
    setImageData(img, data);
    img.disk_format ??= 'qcow2';
    img.container_format ??= 'bare';
  }
  return img;
}

/** Glance's serializer: extra properties first, then the base attributes in Glance's order. */
export function glanceView(img: StoredImage): GlanceImage {
  const view: Record<string, unknown> = { ...img.properties };
  view.name = img.name;
  view.disk_format = img.disk_format;
  view.container_format = img.container_format;
  view.visibility = img.visibility;
  view.size = img.size;
  view.virtual_size = img.virtual_size;
  view.status = img.status;
  view.checksum = img.checksum;
  view.protected = img.protected;
  view.min_ram = img.min_ram;
  view.min_disk = img.min_disk;
  view.owner = img.owner;
  view.os_hidden = img.os_hidden;
  view.os_hash_algo = img.os_hash_algo;
  view.os_hash_value = img.os_hash_value;
  view.id = img.id;
  view.created_at = isoSeconds(img.createdAtMs);
  view.updated_at = isoSeconds(img.updatedAtMs);
  view.tags = [...img.tags];
  view.self = `/v2/images/${img.id}`;
  view.file = `/v2/images/${img.id}/file`;
  view.schema = '/v2/schemas/image';
  if (img.data !== undefined) view.stores = 'fs';
  return view as GlanceImage;
}

/** glanceView as JSON text, cached: building views dominates the time of big listings. */
export function glanceViewJson(img: StoredImage): string {
  img.viewJson ??= JSON.stringify(glanceView(img));
  return img.viewJson;
}

export interface ListResult {
  images: StoredImage[];
  /** Set when the page is full, exactly like Glance (so a full last page still has `next`). */
  nextMarker?: string;
}

/** One region's images. Every change goes through here so the name index and caches stay right. */
export class RegionImages {
  private readonly byId = new Map<string, StoredImage>();
  private readonly byName = new Map<string, Map<string, StoredImage>>();
  private readonly sortedCache = new Map<string, StoredImage[]>();
  private lastCreatedAtMs = Number.NEGATIVE_INFINITY;

  constructor(readonly name: string) {}

  /**
   * A creation time for an image made through the API, after every earlier one: Glance keeps
   * microseconds, so images created in one millisecond still list newest first, not by id.
   */
  creationTime(nowMs: number): number {
    this.lastCreatedAtMs = nowMs > this.lastCreatedAtMs ? nowMs : this.lastCreatedAtMs + 0.001;
    return this.lastCreatedAtMs;
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): StoredImage | undefined {
    return this.byId.get(id);
  }

  all(): StoredImage[] {
    return this.sorted(['created_at', 'id'], ['desc', 'desc']);
  }

  insert(img: StoredImage): void {
    if (this.byId.has(img.id)) throw new Error(`emulator: image ${img.id} already exists in ${this.name}`);
    img.viewJson = undefined;
    this.byId.set(img.id, img);
    this.index(img);
    this.sortedCache.clear();
  }

  remove(id: string): StoredImage | undefined {
    const img = this.byId.get(id);
    if (!img) return undefined;
    this.byId.delete(id);
    this.unindex(img);
    this.sortedCache.clear();
    return img;
  }

  /** Apply `change` to an image, then fix the index; returns undefined for an unknown id. */
  update(id: string, change: (img: StoredImage) => void): StoredImage | undefined {
    const img = this.byId.get(id);
    if (!img) return undefined;
    this.unindex(img);
    try {
      change(img);
    } finally {
      img.viewJson = undefined;
      this.index(img);
      this.sortedCache.clear();
    }
    return img;
  }

  sorted(keys: SortKey[], dirs: SortDir[]): StoredImage[] {
    const cacheKey = keys.map((k, i) => `${k}:${dirs[i]}`).join(',');
    let list = this.sortedCache.get(cacheKey);
    if (!list) {
      list = [...this.byId.values()].sort((a, b) => compareImages(a, b, keys, dirs));
      this.sortedCache.set(cacheKey, list);
    }
    return list;
  }

  /** Glance's list: filter, order, start after the marker, cut at the limit. */
  list(q: ImageListQuery, projectId: string | null, visible?: (img: StoredImage) => boolean): ListResult {
    let marker: StoredImage | undefined;
    if (q.marker !== undefined) {
      marker = this.byId.get(q.marker);
      if (!marker || marker.status === 'deleted') throw new GlanceBadRequest(`No image found with ID ${q.marker}`);
    }
    const matcher = imageMatcher(q, projectId);
    const match = visible ? (img: StoredImage) => visible(img) && matcher(img) : matcher;
    let candidates: StoredImage[];
    const names = q.attrs.name;
    if (names) {
      // The name index keeps `name=in:` over thousands of images to a few lookups.
      const found = new Map<string, StoredImage>();
      for (const n of names) for (const img of this.byName.get(n)?.values() ?? []) found.set(img.id, img);
      candidates = [...found.values()].filter(match).sort((a, b) => compareImages(a, b, q.sortKeys, q.sortDirs));
    } else {
      candidates = this.sorted(q.sortKeys, q.sortDirs).filter(match);
    }
    const start = marker ? indexAfter(candidates, marker, q.sortKeys, q.sortDirs) : 0;
    const images = candidates.slice(start, start + q.limit);
    const result: ListResult = { images };
    const last = images[images.length - 1];
    if (last && images.length === q.limit) result.nextMarker = last.id;
    return result;
  }

  private index(img: StoredImage): void {
    if (img.name === null) return;
    let bucket = this.byName.get(img.name);
    if (!bucket) {
      bucket = new Map();
      this.byName.set(img.name, bucket);
    }
    bucket.set(img.id, img);
  }

  private unindex(img: StoredImage): void {
    if (img.name === null) return;
    const bucket = this.byName.get(img.name);
    bucket?.delete(img.id);
    if (bucket && bucket.size === 0) this.byName.delete(img.name);
  }
}

export class ImageStore {
  private readonly regions = new Map<string, RegionImages>();

  constructor(regionNames: string[]) {
    for (const r of regionNames) this.regions.set(r, new RegionImages(r));
  }

  has(region: string): boolean {
    return this.regions.has(region);
  }

  region(name: string): RegionImages {
    const r = this.regions.get(name);
    if (!r) {
      throw new Error(`emulator: unknown region '${name}'; regions are ${[...this.regions.keys()].join(', ')}`);
    }
    return r;
  }
}

/** Apply a test's ImageChange to a stored image. */
export function applyImageChange(img: StoredImage, change: ImageChange, nowMs: number): void {
  if (change.name !== undefined) img.name = change.name;
  if (change.status !== undefined) img.status = change.status;
  if (change.visibility !== undefined) img.visibility = change.visibility;
  if (change.protected !== undefined) img.protected = change.protected;
  if (change.os_hidden !== undefined) img.os_hidden = change.os_hidden;
  if (change.tags !== undefined) img.tags = [...change.tags];
  if (change.owner !== undefined) img.owner = change.owner;
  if (change.min_ram !== undefined) img.min_ram = change.min_ram;
  if (change.min_disk !== undefined) img.min_disk = change.min_disk;
  for (const [k, v] of Object.entries(change.properties ?? {})) {
    if (v === null) delete img.properties[k];
    else img.properties[k] = v;
  }
  img.updatedAtMs = nowMs;
}
