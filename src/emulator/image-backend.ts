// Where compute finds boot images and writes snapshots: the emulator's own store, or a real Glance over HTTP.
import { applyImageChange, createStoredImage, setImageData, type RegionImages } from './image-store.js';
import type { IdSource } from './ids.js';

/** Who called Nova: the snapshot is made with this token, as Nova does with the user's token. */
export interface ComputeCaller {
  token: string;
  userId: string;
  projectId: string;
}

export interface BackendImage {
  id: string;
  name: string | null;
  status: string;
  minRam: number;
  minDisk: number;
  /** Extra (non-core) properties, e.g. default_user, os_distro. */
  properties: Record<string, string>;
}

export interface SnapshotFields {
  name: string;
  minRam: number;
  minDisk: number;
  properties: Record<string, string>;
}

export interface ImageBackend {
  /** The Glance endpoint, without /v2 (for Location headers). */
  readonly glanceUrl: string;
  get(caller: ComputeCaller, id: string): Promise<BackendImage | undefined>;
  data(caller: ComputeCaller, id: string): Promise<Buffer | undefined>;
  /** A new `queued` image; returns its id. */
  createSnapshot(caller: ComputeCaller, fields: SnapshotFields): Promise<string>;
  /** Mark the upload as started (`saving`), where the backend lets us. */
  startUpload(caller: ComputeCaller, id: string): Promise<void>;
  upload(caller: ComputeCaller, id: string, data: Buffer): Promise<void>;
  /** The snapshot failed: `killed` in the emulator; a real Glance cannot be told so, and Nova deletes it. */
  fail(caller: ComputeCaller, id: string): Promise<void>;
}

export class ImageBackendError extends Error {}

const CORE = new Set([
  'id', 'name', 'status', 'visibility', 'protected', 'os_hidden', 'checksum', 'os_hash_algo', 'os_hash_value', 'size',
  'virtual_size', 'disk_format', 'container_format', 'min_ram', 'min_disk', 'owner', 'tags', 'created_at', 'updated_at',
  'self', 'file', 'schema', 'stores', 'locations', 'direct_url',
]);

/** The emulator's own store: no HTTP, so no fault injection and regions without Glance work too. */
export function storeImageBackend(images: RegionImages, ids: IdSource, now: () => number, glanceUrl: string): ImageBackend {
  return {
    glanceUrl,
    async get(caller, id) {
      const img = images.get(id);
      if (!img || img.status === 'deleted') return undefined;
      const visible = img.visibility === 'public' || img.visibility === 'community' || img.owner === caller.projectId || img.owner === null;
      if (!visible) return undefined;
      return { id: img.id, name: img.name, status: img.status, minRam: img.min_ram, minDisk: img.min_disk, properties: { ...img.properties } };
    },
    async data(_caller, id) {
      return images.get(id)?.data;
    },
    async createSnapshot(caller, f) {
      const img = createStoredImage(
        {
          name: f.name,
          status: 'queued',
          visibility: 'private',
          disk_format: 'raw',
          container_format: 'bare',
          min_ram: f.minRam,
          min_disk: f.minDisk,
          owner: caller.projectId,
          properties: f.properties,
        },
        ids,
        now(),
        caller.projectId,
      );
      images.insert(img);
      return img.id;
    },
    async startUpload(_caller, id) {
      images.update(id, (i) => {
        if (i.status === 'queued') applyImageChange(i, { status: 'saving' }, now());
      });
    },
    async upload(_caller, id, data) {
      const img = images.update(id, (i) => {
        if (i.status !== 'saving' && i.status !== 'queued') return;
        setImageData(i, data);
        applyImageChange(i, { status: 'active' }, now());
      });
      if (!img) throw new ImageBackendError(`image ${id} was deleted during the snapshot upload`);
    },
    async fail(_caller, id) {
      images.update(id, (i) => applyImageChange(i, { status: 'killed' }, now()));
    },
  };
}

async function glanceCall(
  url: string,
  caller: ComputeCaller,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Response> {
  const headers: Record<string, string> = { 'x-auth-token': caller.token, accept: 'application/json', ...(init.headers ?? {}) };
  try {
    return await fetch(url, {
      method: init.method ?? 'GET',
      headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
  } catch (err) {
    throw new ImageBackendError(`Glance at ${url} is unreachable: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function failure(res: Response, what: string): Promise<ImageBackendError> {
  const text = (await res.text().catch(() => '')).replace(/\s+/g, ' ').slice(0, 200);
  return new ImageBackendError(`${what}: Glance answered HTTP ${res.status} ${text}`);
}

/** A real Glance (v2), called with the caller's own token. */
export function httpImageBackend(glanceUrl: string): ImageBackend {
  const base = glanceUrl.replace(/\/+$/, '');
  return {
    glanceUrl: base,
    async get(caller, id) {
      const res = await glanceCall(`${base}/v2/images/${encodeURIComponent(id)}`, caller);
      if (res.status === 404) {
        await res.arrayBuffer();
        return undefined;
      }
      if (res.status !== 200) throw await failure(res, `GET image ${id}`);
      const body = (await res.json()) as Record<string, unknown>;
      const properties: Record<string, string> = {};
      for (const [k, v] of Object.entries(body)) if (!CORE.has(k) && typeof v === 'string') properties[k] = v;
      return {
        id: String(body.id),
        name: typeof body.name === 'string' ? body.name : null,
        status: String(body.status),
        minRam: Number(body.min_ram ?? 0),
        minDisk: Number(body.min_disk ?? 0),
        properties,
      };
    },
    async data(caller, id) {
      const res = await glanceCall(`${base}/v2/images/${encodeURIComponent(id)}/file`, caller, { headers: { accept: '*/*' } });
      if (res.status === 204 || res.status === 404) {
        await res.arrayBuffer();
        return undefined;
      }
      if (res.status !== 200) throw await failure(res, `download image ${id}`);
      return Buffer.from(await res.arrayBuffer());
    },
    async createSnapshot(caller, f) {
      const res = await glanceCall(`${base}/v2/images`, caller, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          ...f.properties,
          name: f.name,
          disk_format: 'raw',
          container_format: 'bare',
          visibility: 'private',
          min_ram: f.minRam,
          min_disk: f.minDisk,
        }),
      });
      if (res.status !== 201) throw await failure(res, `create snapshot image '${f.name}'`);
      return String(((await res.json()) as { id: unknown }).id);
    },
    async startUpload() {
      // Glance itself moves the image to `saving` when the upload starts.
    },
    async upload(caller, id, data) {
      const res = await glanceCall(`${base}/v2/images/${id}/file`, caller, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: data,
      });
      if (res.status !== 204) throw await failure(res, `upload snapshot data of image ${id}`);
      await res.arrayBuffer();
    },
    async fail(caller, id) {
      const res = await glanceCall(`${base}/v2/images/${id}`, caller, { method: 'DELETE' });
      await res.arrayBuffer();
    },
  };
}
