// Glance v2 interoperable import: POST /v2/images/{id}/import (glance-direct, web-download, glance-download, copy-image), run as a task, and the image's task list.
import { randomUUID } from 'node:crypto';
import { readBody } from './http.js';
import { setImageData, type RegionImages, type StoredImage } from './image-store.js';
import type { RouteContext, World } from './world.js';

/** Glance 25's defaults plus glance-download (Zed), as the real test tier is configured. */
export const DEFAULT_IMPORT_METHODS: readonly string[] = ['glance-direct', 'web-download', 'copy-image', 'glance-download'];
/** `[glance_download_properties] extra_properties`: what glance-download copies from the remote image. */
const GLANCE_DOWNLOAD_PREFIXES = ['hw_', 'trait:', 'os_distro', 'os_secure_boot', 'os_type'];
/** How long after its image the task lets go of it. */
const LOCK_RELEASE_MS = 50;
/** The only store: where copy-image would copy to. */
const STORE = 'fs';

/** One task of Glance's task list (`GET /v2/images/{id}/tasks`), as much as clients read. */
export interface ImportTask {
  id: string;
  type: 'api_image_import';
  status: 'pending' | 'processing' | 'success' | 'failure';
  owner: string | null;
  image_id: string;
  request_id: string;
  user_id: string;
  input: unknown;
  result: unknown;
  message: string;
  created_at: string;
  updated_at: string;
  expires_at: string | null;
  deleted: false;
  deleted_at: null;
}

export class ImportFailure extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

interface ImportMethod {
  name: string;
  uri?: unknown;
  glance_region?: unknown;
  glance_image_id?: unknown;
  glance_service_interface?: unknown;
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** Glance's task timestamps: microseconds, no zone. */
function taskTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000');
}

async function importBody(ctx: RouteContext, methods: readonly string[]): Promise<{ method: ImportMethod; allStores: boolean }> {
  const raw = await readBody(ctx.req, 1024 * 1024);
  let body: unknown;
  try {
    body = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
  } catch {
    throw new ImportFailure(400, 'Malformed JSON in request body.');
  }
  if (body === undefined) throw new ImportFailure(400, 'Body expected in request.');
  const b = body as { method?: unknown; all_stores?: unknown; all_stores_must_succeed?: unknown };
  if (typeof b !== 'object' || b === null || b.method === undefined) throw new ImportFailure(400, "Import request requires a 'method' field.");
  const method = b.method as Partial<ImportMethod>;
  if (typeof method !== 'object' || method === null || method.name === undefined) throw new ImportFailure(400, "Import request requires a 'name' field.");
  if (!methods.includes(String(method.name))) throw new ImportFailure(400, `Unknown import method name '${String(method.name)}'.`);
  if (b.all_stores_must_succeed !== undefined && typeof b.all_stores_must_succeed !== 'boolean') {
    throw new ImportFailure(400, "'all_stores_must_succeed' must be boolean value only");
  }
  if (b.all_stores !== undefined && typeof b.all_stores !== 'boolean') throw new ImportFailure(400, "'all_stores' must be boolean value only");
  return { method: method as ImportMethod, allStores: b.all_stores === true };
}

/** The checks Glance makes before it accepts an import (the order matters: the first failing one answers). */
function checkImportable(img: StoredImage, method: ImportMethod): void {
  const name = method.name;
  if (img.status === 'active' && name !== 'copy-image') throw new ImportFailure(409, 'Image with status active cannot be target for import');
  if (img.status !== 'active' && name === 'copy-image') throw new ImportFailure(409, 'Only images with status active can be targeted for copying');
  if (img.status !== 'queued' && (name === 'web-download' || name === 'glance-download')) {
    throw new ImportFailure(409, `Image needs to be in 'queued' state to use '${name}' method`);
  }
  if (img.status !== 'uploading' && name === 'glance-direct') throw new ImportFailure(409, "Image needs to be staged before 'glance-direct' method can be used");
  if (!img.container_format) throw new ImportFailure(409, "'container_format' needs to be set before import");
  if (!img.disk_format) throw new ImportFailure(409, "'disk_format' needs to be set before import");
  if (name === 'glance-download') {
    if (method.glance_region === undefined) throw new ImportFailure(400, "'glance_region' needs to be set for glance-download import method");
    if (method.glance_image_id === undefined) throw new ImportFailure(400, "'glance_image_id' needs to be set for glance-download import method");
    if (typeof method.glance_image_id !== 'string' || !UUID.test(method.glance_image_id)) {
      throw new ImportFailure(400, `Remote image id does not look like a UUID: ${String(method.glance_image_id)}`);
    }
  }
  if (img.properties.os_glance_import_task) {
    throw new ImportFailure(409, `New operation on image '${img.id}' is not permitted as prior operation is still in progress`);
  }
}

function httpUri(uri: unknown): uri is string {
  if (typeof uri !== 'string') return false;
  try {
    const u = new URL(uri);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** The bytes behind a web-download URI, refusing more than the upload limit. */
async function fetchUri(uri: string, limitBytes: number): Promise<Buffer> {
  // fetch, as the emulator's image backend uses: the CLI's bundle carries only undici's Agent.
  const res = await fetch(uri, { redirect: 'manual', signal: AbortSignal.timeout(60_000) });
  if (res.status !== 200 || !res.body) {
    await res.body?.cancel();
    throw new Error(`HTTP Error ${res.status}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.length;
    if (size > limitBytes) throw new Error(`image exceeds ${limitBytes} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  const declared = Number(res.headers.get('content-length'));
  const data = Buffer.concat(chunks);
  if (res.headers.has('content-length') && declared !== data.length) {
    throw new Error(`downloaded data size ${data.length} is different from expected ${declared}`);
  }
  return data;
}

/**
 * What the task does once accepted: the data and the fields it sets. Errors become a failed task
 * (the image back to `queued`, the store listed in os_glance_failed_import), as Glance reverts.
 */
async function runMethod(world: World, img: StoredImage, method: ImportMethod): Promise<{ data?: Buffer; set?: (i: StoredImage) => void }> {
  switch (method.name) {
    case 'glance-direct':
      return { data: img.staged ?? Buffer.alloc(0) };
    case 'web-download':
      return { data: await fetchUri(method.uri as string, world.maxUploadBytes) };
    case 'glance-download': {
      const region = String(method.glance_region);
      // Glance finds the other Glance in the caller's catalog by region (case-insensitively).
      const known = [...world.imageRegions].find((r) => r.toLowerCase() === region.toLowerCase());
      if (!known) throw new Error(`Glance endpoint not found for region ${region} with interface ${String(method.glance_service_interface ?? 'public')}`);
      const remote = world.store.region(known).get(String(method.glance_image_id));
      if (!remote || remote.status === 'deleted') throw new Error('HTTP Error 404: Not Found');
      if (remote.status !== 'active' || remote.data === undefined) throw new Error(`Source image status should be active instead of ${remote.status}`);
      const data = remote.data;
      return {
        data,
        set: (i) => {
          i.disk_format = remote.disk_format;
          i.container_format = remote.container_format;
          for (const [k, v] of Object.entries(remote.properties)) {
            if (GLANCE_DOWNLOAD_PREFIXES.some((p) => k.startsWith(p))) i.properties[k] = v;
          }
        },
      };
    }
    default:
      // copy-image onto the one store it already lives in: accepted, nothing to do.
      return {};
  }
}

/** POST /v2/images/{id}/import: 202 at once; the import runs as a task, as in Glance. */
export async function importImage(
  world: World,
  images: RegionImages,
  img: StoredImage,
  ctx: RouteContext,
  methods: readonly string[],
): Promise<{ status: 202 }> {
  const { method, allStores } = await importBody(ctx, methods);
  checkImportable(img, method);
  if (method.name === 'copy-image' && !allStores) throw new ImportFailure(400, `Image is already present at store '${STORE}'`);
  if (method.name === 'copy-image') return { status: 202 };
  if (method.name === 'web-download' && !httpUri(method.uri)) {
    throw new ImportFailure(400, `URI for web-download does not pass filtering: ${String(method.uri)}`);
  }
  const now = world.now();
  const task: ImportTask = {
    id: randomUUID(),
    type: 'api_image_import',
    status: 'processing',
    owner: ctx.token?.projectId ?? null,
    image_id: img.id,
    request_id: `req-${randomUUID()}`,
    user_id: ctx.token?.userId ?? '',
    input: { image_id: img.id, import_req: { method }, backend: [STORE] },
    result: null,
    message: '',
    created_at: taskTime(now),
    updated_at: taskTime(now),
    expires_at: null,
    deleted: false,
    deleted_at: null,
  };
  images.update(img.id, (i) => {
    i.tasks = [...(i.tasks ?? []), task];
    i.status = 'importing';
    i.properties.os_glance_import_task = task.id;
    i.properties.os_glance_importing_to_stores = STORE;
    i.properties.os_glance_failed_import = '';
    i.updatedAtMs = now;
  });
  /** The image's outcome at once; the task's end and its lock's release a moment later, as Glance's task does them. */
  const finish = (change: (i: StoredImage) => void, end: Pick<ImportTask, 'status' | 'message' | 'result'>): void => {
    const done = images.update(img.id, (i) => {
      change(i);
      i.properties.os_glance_importing_to_stores = '';
      i.updatedAtMs = world.now();
    });
    // What the task's last step read: Glance saves that whole image object back, so a change made
    // meanwhile (a rename, os_hidden) is lost. Clients must wait for the lock to go before changing it.
    const read = done && { name: done.name, os_hidden: done.os_hidden, visibility: done.visibility, properties: { ...done.properties } };
    setTimeout(() => {
      Object.assign(task, end, { updated_at: taskTime(world.now()) });
      images.update(img.id, (i) => {
        if (i.properties.os_glance_import_task !== task.id || !read) return;
        Object.assign(i, { name: read.name, os_hidden: read.os_hidden, visibility: read.visibility, properties: read.properties });
        delete i.properties.os_glance_import_task;
      });
    }, LOCK_RELEASE_MS);
  };
  // Asynchronous, like Glance's task executor: the caller sees `importing` first.
  setImmediate(() => {
    runMethod(world, img, method).then(
      ({ data, set }) => {
        const current = images.get(img.id);
        if (!current || current.status === 'deleted') return;
        finish(
          (i) => {
            if (data !== undefined) setImageData(i, data);
            set?.(i);
            i.staged = undefined;
            i.status = 'active';
          },
          { status: 'success', result: { image_id: img.id }, message: `Copied ${Math.floor((data?.length ?? 0) / 1024 / 1024)} MiB` },
        );
      },
      () => {
        if (!images.get(img.id)) return;
        finish(
          (i) => {
            i.status = 'queued';
            i.properties.os_glance_failed_import = STORE;
          },
          { status: 'failure', result: null, message: 'Task failed due to Internal Error' },
        );
      },
    );
  });
  return { status: 202 };
}

/** GET /v2/images/{id}/tasks. */
export function imageTasks(img: StoredImage): { tasks: ImportTask[] } {
  return { tasks: [...(img.tasks ?? [])] };
}
