// Glance v2 interoperable import: the methods a cloud offers (GET /v2/info/import), starting one (POST .../import), and waiting for its task.
import { HttpError, ImagesyncError } from '../errors.js';
import type { GlanceClient, GlanceImage } from './glance.js';
import { waitFor } from './wait.js';

/** The import task's lock on an image: present from POST …/import until the task is done with it. */
export const IMPORT_LOCK_PROPERTY = 'os_glance_import_task';

export type ImportMethodName = 'glance-direct' | 'web-download' | 'glance-download' | 'copy-image';

/** The `method` of an import request, per method. */
export type ImportMethod =
  | { name: 'glance-direct' }
  | { name: 'web-download'; uri: string }
  /** Zed: the destination Glance fetches the image from the Glance of another region of the same Keystone, with the caller's token. */
  | { name: 'glance-download'; glance_image_id: string; glance_region: string; glance_service_interface?: string }
  | { name: 'copy-image' };

/** An import that Glance accepted and then failed (its task says failure, the image went back to queued). */
export class ImportFailedError extends ImagesyncError {
  override readonly code = 'IMPORT_FAILED';
}

export interface GlanceTask {
  id: string;
  type?: string;
  status: string;
  message?: string;
  created_at?: string;
}

/**
 * GET /v2/info/import: the enabled import methods. A Glance without the discovery call (before
 * Queens, or with it switched off) offers none: the caller falls back to uploading.
 */
export async function importMethods(glance: GlanceClient, signal?: AbortSignal): Promise<ImportMethodName[]> {
  try {
    const { body } = await glance.service.getJson<{ 'import-methods'?: { value?: unknown } }>('info/import', signal);
    const value = body?.['import-methods']?.value;
    return Array.isArray(value) ? (value.filter((v) => typeof v === 'string') as ImportMethodName[]) : [];
  } catch (err) {
    if (err instanceof HttpError && (err.status === 404 || err.status === 403)) return [];
    throw err;
  }
}

/** POST /v2/images/{id}/import (202): Glance runs it as a task; wait with waitImported. */
export async function startImport(glance: GlanceClient, id: string, method: ImportMethod, signal?: AbortSignal): Promise<void> {
  await glance.service.request({
    method: 'POST',
    path: `images/${encodeURIComponent(id)}/import`,
    json: { method },
    expect: [202],
    signal,
    // A second import of one image is refused (409, "prior operation is still in progress"): never sent blindly twice.
    idempotent: false,
  });
}

/** GET /v2/images/{id}/tasks (Glance 2.12+): the image's import tasks; an older Glance has none to show. */
export async function imageTasks(glance: GlanceClient, id: string, signal?: AbortSignal): Promise<GlanceTask[]> {
  try {
    const { body } = await glance.service.getJson<{ tasks?: unknown }>(`images/${encodeURIComponent(id)}/tasks`, signal);
    return Array.isArray(body?.tasks) ? (body.tasks as GlanceTask[]) : [];
  } catch (err) {
    if (err instanceof HttpError && err.status === 404) return [];
    throw err;
  }
}

export interface WaitImportOptions {
  timeoutMs: number;
  intervalMs?: number;
  signal?: AbortSignal | undefined;
}

/**
 * Until the image is active and the import's task has let go of it. Glance's task holds a lock
 * (the property os_glance_import_task) a while after the image turns active, and saves the whole
 * image it read before: a rename or a property set meanwhile is silently undone. An import fails
 * back to `queued`: with the store named in
 * os_glance_failed_import, or (when Glance could not even record that) with its task's status
 * `failure`; the task's message goes into the error.
 */
export async function waitImported(glance: GlanceClient, id: string, o: WaitImportOptions): Promise<GlanceImage> {
  const where = `${glance.service.target.cloud}/${glance.service.target.region}`;
  let failedTask: GlanceTask | undefined;
  let failure: string | undefined;
  const failedWhy = (img: GlanceImage): string | undefined => {
    if (img.status === 'killed' || img.status === 'deleted' || img.status === 'deactivated') return `${where}: image ${id} went to ${img.status} during its import`;
    const failedStores = typeof img.os_glance_failed_import === 'string' ? img.os_glance_failed_import : '';
    if (img.status === 'queued' && (failedStores || failedTask)) {
      return `${where}: Glance's import into image ${id} failed${failedTask?.message ? `: ${failedTask.message}` : ''}${failedStores ? ` (stores: ${failedStores})` : ''}`;
    }
    return undefined;
  };
  try {
    return await waitFor({
      what: `the import into image ${id} in ${where}`,
      poll: async () => {
        const img = await glance.getImage(id, o.signal);
        if (!img) throw new ImportFailedError(`${where}: image ${id} disappeared during its import`);
        // Glance finishes the task a moment after the image: ask only while the image is not done.
        if (img.status !== 'active' && img.status !== 'importing') {
          failedTask = (await imageTasks(glance, id, o.signal)).filter((t) => t.status === 'failure').at(-1);
        }
        return img;
      },
      done: (img) => img.status === 'active' && !img[IMPORT_LOCK_PROPERTY],
      failed: (img) => (failure = failedWhy(img)),
      describe: (img) => img.status,
      timeoutMs: o.timeoutMs,
      intervalMs: o.intervalMs ?? 500,
      signal: o.signal,
    });
  } catch (err) {
    if (failure !== undefined) throw new ImportFailedError(failure, { cause: err });
    throw err;
  }
}
