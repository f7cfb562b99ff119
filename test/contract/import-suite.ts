// The Glance data and import contract (Range downloads, stage + glance-direct, web-download, glance-download, tasks): run against the real tier and the emulator alike.
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFileServer } from '../helpers/file-server.js';
import { imageEndpoint, issueToken, send, sendExpect, type Credentials, type IssuedToken } from './http.js';

export interface ImportContractTarget extends Credentials {
  regions: [string, string];
}

/** Glance's enabled_import_methods on both sides: the defaults plus glance-download (scripts/openstack-loopback.sh). */
export const IMPORT_METHODS = ['glance-direct', 'web-download', 'copy-image', 'glance-download'];

const sha512 = (b: Uint8Array): string => createHash('sha512').update(b).digest('hex');
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

interface ImageView {
  id: string;
  status: string;
  [key: string]: unknown;
}

export function defineImportContract(label: string, setup: () => Promise<ImportContractTarget>): void {
  describe(`Glance data and import contract (${label})`, () => {
    const p = `ci-${randomBytes(4).toString('hex')}-`;
    const data = randomBytes(300_000);
    let target: ImportContractTarget;
    let tok: IssuedToken;
    let glanceA: string;
    let glanceB: string;
    // The upstream web-download reads.
    const files = useFileServer(data, '/image.raw');
    const created: string[] = [];
    const auth = (): Record<string, string> => ({ 'x-auth-token': tok.token, accept: 'application/json' });

    const create = async (glance: string, name: string, extra: Record<string, unknown> = {}): Promise<ImageView> => {
      const r = await sendExpect(
        `${glance}/v2/images`,
        { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ name: `${p}${name}`, disk_format: 'raw', container_format: 'bare', ...extra }) },
        [201],
      );
      const img = JSON.parse(r.text) as ImageView;
      created.push(`${glance}/v2/images/${img.id}`);
      return img;
    };
    const show = async (glance: string, id: string): Promise<ImageView> =>
      JSON.parse((await sendExpect(`${glance}/v2/images/${id}`, { headers: auth() }, [200])).text) as ImageView;
    const importCall = (glance: string, id: string, body: unknown) =>
      send(`${glance}/v2/images/${id}/import`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    /** Poll until the import ends: active, or back to queued with the store named in os_glance_failed_import. */
    const settle = async (glance: string, id: string): Promise<ImageView> => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const img = await show(glance, id);
        if (img.status === 'active' || (img.status === 'queued' && img.os_glance_failed_import)) return img;
        if (Date.now() > deadline) throw new Error(`import of ${id} did not settle: ${img.status}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const tasks = async (glance: string, id: string): Promise<Array<{ status: string; type: string; message: string }>> =>
      (JSON.parse((await sendExpect(`${glance}/v2/images/${id}/tasks`, { headers: auth() }, [200])).text) as { tasks: Array<{ status: string; type: string; message: string }> }).tasks;
    /** The statuses of the image's tasks once none is still running (Glance finishes a task just after the image). */
    const finishedTasks = async (glance: string, id: string): Promise<string[]> => {
      for (let i = 0; ; i++) {
        const list = await tasks(glance, id);
        if (list.every((t) => t.status === 'success' || t.status === 'failure') || i >= 100) return list.map((t) => `${t.type} ${t.status}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    let source: ImageView;

    beforeAll(async () => {
      target = await setup();
      tok = await issueToken(target);
      glanceA = imageEndpoint(tok, target.regions[0]);
      glanceB = imageEndpoint(tok, target.regions[1]);
      source = await create(glanceA, 'source', { disk_format: 'qcow2', hw_disk_bus: 'scsi', ct_other: 'not copied' });
      await sendExpect(
        `${glanceA}/v2/images/${source.id}/file`,
        { method: 'PUT', headers: { ...auth(), 'content-type': 'application/octet-stream' }, body: data },
        [204],
      );
    }, 120_000);

    afterAll(async () => {
      for (const url of created) await sendExpect(url, { method: 'DELETE', headers: auth() }, [204, 404]);
    }, 60_000);

    it('lists the enabled import methods in /v2/info/import and on a created image', async () => {
      const info = JSON.parse((await sendExpect(`${glanceB}/v2/info/import`, { headers: auth() }, [200])).text) as { 'import-methods': { value: string[] } };
      expect(info['import-methods'].value).toEqual(IMPORT_METHODS);
      const made = await send(`${glanceB}/v2/images`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json' },
        body: JSON.stringify({ name: `${p}methods`, disk_format: 'raw', container_format: 'bare' }),
      });
      expect(made.status).toBe(201);
      created.push(`${glanceB}/v2/images/${(JSON.parse(made.text) as ImageView).id}`);
      expect(made.headers['openstack-image-import-methods']).toBe(IMPORT_METHODS.join(','));
    });

    it('serves a single Range with 206 and Content-Range; a suffix range; 416 past the end; 400 for several ranges', async () => {
      const url = `${glanceA}/v2/images/${source.id}/file`;
      const mid = await send(url, { headers: { ...auth(), range: 'bytes=1000-1999' } });
      expect(mid.status).toBe(206);
      expect(mid.headers['content-range']).toBe(`bytes 1000-1999/${data.length}`);
      expect(mid.headers['content-length']).toBe('1000');
      const midBytes = await rawBytes(url, { ...auth(), range: 'bytes=1000-1999' });
      expect(midBytes.equals(data.subarray(1000, 2000))).toBe(true);
      const open = await rawBytes(url, { ...auth(), range: `bytes=${data.length - 10}-` });
      expect(open.equals(data.subarray(data.length - 10))).toBe(true);
      const suffix = await rawBytes(url, { ...auth(), range: 'bytes=-7' });
      expect(suffix.equals(data.subarray(data.length - 7))).toBe(true);
      const past = await send(url, { headers: { ...auth(), range: `bytes=${data.length}-` } });
      expect(past.status).toBe(416);
      const several = await send(url, { headers: { ...auth(), range: 'bytes=0-1,5-6' } });
      expect(several.status).toBe(400);
      const whole = await send(url, { headers: auth() });
      expect(whole.status).toBe(200);
      expect(whole.headers['content-range']).toBeUndefined();
    });

    it('stages data (415 for another type, status uploading, size set) and imports it with glance-direct; the task succeeds', async () => {
      const img = await create(glanceB, 'staged');
      const wrong = await send(`${glanceB}/v2/images/${img.id}/stage`, { method: 'PUT', headers: { ...auth(), 'content-type': 'application/json' }, body: '{}' });
      expect(wrong.status).toBe(415);
      const early = await importCall(glanceB, img.id, { method: { name: 'glance-direct' } });
      expect(early.status).toBe(409);
      expect(JSON.parse(early.text).message).toContain("Image needs to be staged before 'glance-direct' method can be used");
      await sendExpect(`${glanceB}/v2/images/${img.id}/stage`, { method: 'PUT', headers: { ...auth(), 'content-type': 'application/octet-stream' }, body: data }, [204]);
      expect(await show(glanceB, img.id)).toMatchObject({ status: 'uploading', size: data.length, os_hash_value: null });
      const started = await importCall(glanceB, img.id, { method: { name: 'glance-direct' } });
      expect(started.status).toBe(202);
      expect(started.text).toBe('');
      // The task's lock on the image is taken before the 202, and let go only once the task is done with it.
      expect(typeof (await show(glanceB, img.id)).os_glance_import_task).toBe('string');
      const done = await settle(glanceB, img.id);
      expect(done).toMatchObject({ status: 'active', size: data.length, checksum: md5(data), os_hash_algo: 'sha512', os_hash_value: sha512(data) });
      expect(await finishedTasks(glanceB, img.id)).toEqual(['api_image_import success']);
      let lock = (await show(glanceB, img.id)).os_glance_import_task;
      for (let i = 0; i < 100 && lock !== undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
        lock = (await show(glanceB, img.id)).os_glance_import_task;
      }
      expect(lock).toBeUndefined();
      const again = await importCall(glanceB, img.id, { method: { name: 'glance-direct' } });
      expect(again.status).toBe(409);
      expect(JSON.parse(again.text).message).toContain('Image with status active cannot be target for import');
    });

    it('refuses an unknown method (400) and glance-download without its region (400)', async () => {
      const img = await create(glanceB, 'refused');
      const unknown = await importCall(glanceB, img.id, { method: { name: 'carrier-pigeon' } });
      expect(unknown.status).toBe(400);
      expect(JSON.parse(unknown.text).message).toContain("Unknown import method name 'carrier-pigeon'.");
      const noRegion = await importCall(glanceB, img.id, { method: { name: 'glance-download', glance_image_id: source.id } });
      expect(noRegion.status).toBe(400);
      expect(JSON.parse(noRegion.text).message).toContain("'glance_region' needs to be set for glance-download import method");
      expect((await show(glanceB, img.id)).status).toBe('queued');
    });

    it("imports another region's image with glance-download: same sha512, its disk format and hw_ properties, not the others", async () => {
      const img = await create(glanceB, 'fetched', { disk_format: 'raw' });
      const started = await importCall(glanceB, img.id, { method: { name: 'glance-download', glance_image_id: source.id, glance_region: target.regions[0] } });
      expect(started.status).toBe(202);
      const done = await settle(glanceB, img.id);
      expect(done).toMatchObject({ status: 'active', size: data.length, os_hash_value: sha512(data), disk_format: 'qcow2', hw_disk_bus: 'scsi' });
      expect(done.ct_other).toBeUndefined();
      expect((await rawBytes(`${glanceB}/v2/images/${img.id}/file`, auth())).equals(data)).toBe(true);
    });

    it('imports a URL with web-download; a URL that answers 404 leaves the image queued, the store in os_glance_failed_import and a failed task', async () => {
      const img = await create(glanceB, 'web');
      expect((await importCall(glanceB, img.id, { method: { name: 'web-download', uri: files.url } })).status).toBe(202);
      expect(await settle(glanceB, img.id)).toMatchObject({ status: 'active', size: data.length, os_hash_value: sha512(data) });

      const missing = await create(glanceB, 'web-missing');
      expect((await importCall(glanceB, missing.id, { method: { name: 'web-download', uri: new URL('/missing.raw', files.url).href } })).status).toBe(202);
      const failed = await settle(glanceB, missing.id);
      expect(failed).toMatchObject({ status: 'queued', os_glance_failed_import: 'fs', os_hash_value: null });
      expect(await finishedTasks(glanceB, missing.id)).toEqual(['api_image_import failure']);
    });
  });
}

/** The body as bytes (the contract's `send` reads text). */
async function rawBytes(url: string, headers: Record<string, string>): Promise<Buffer> {
  const res = await request(url, { headers });
  const buf = Buffer.from(await res.body.arrayBuffer());
  if (res.statusCode !== 200 && res.statusCode !== 206) throw new Error(`GET ${url} answered ${res.statusCode}`);
  return buf;
}
