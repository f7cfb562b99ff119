// Replication against a cloud with two Glance regions of one Keystone (the real tier, or the emulator): copies, cut uploads and downloads, imports from a URL.
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRunId } from '../../src/app/run-id.js';
import { CloudConnection } from '../../src/openstack/cloud.js';
import { GlanceClient, type GlanceImage } from '../../src/openstack/glance.js';
import { imageV2Base } from '../../src/openstack/catalog.js';
import { ServiceClient } from '../../src/openstack/service.js';
import { Redactor } from '../../src/redact.js';
import { parseChecksum } from '../../src/replicate/digest.js';
import { fieldsOf, type CopyFields } from '../../src/replicate/fields.js';
import { replicate, type CopyDestination, type CopyOutcome, type ReplicateOptions } from '../../src/replicate/replicate.js';
import type { SourceRef } from '../../src/replicate/source.js';
import { imageEndpoint, issueToken, sendExpect, type Credentials, type IssuedToken } from '../contract/http.js';
import { credentialsCloud } from '../contract/cloud.js';
import { startCutProxy, type CutProxy } from '../helpers/cut-proxy.js';
import { useFileServer } from '../helpers/file-server.js';

export interface ReplicationTarget extends Credentials {
  regions: [string, string];
}

const MIB = 1024 * 1024;
const sha512 = (b: Uint8Array): string => createHash('sha512').update(b).digest('hex');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export function defineReplicationTests(label: string, setup: () => Promise<ReplicationTarget>): void {
  describe(`replication (${label})`, () => {
    const data = randomBytes(8 * MIB + 12345);
    let target: ReplicationTarget;
    let tok: IssuedToken;
    let conn: CloudConnection;
    // The upstream an import reads.
    const files = useFileServer(data, '/image.qcow2');
    let source: GlanceImage;
    const proxies: CutProxy[] = [];
    const finalNames: string[] = [];
    const p = `rp-${randomBytes(3).toString('hex')}-`;

    const auth = () => ({ 'x-auth-token': tok.token, accept: 'application/json' });
    const endpoint = (region: string) => imageEndpoint(tok, region);
    const glanceAt = (region: string, url = endpoint(region)) =>
      new GlanceClient(new ServiceClient(conn.session, conn.http, imageV2Base(url), { cloud: 'local', region }));
    /** Every image of a region, hidden ones too. */
    const allImages = async (region: string): Promise<GlanceImage[]> => {
      const g = glanceAt(region);
      return [...(await g.listAll('images?limit=1000')), ...(await g.listAll('images?os_hidden=true&limit=1000'))];
    };
    const bytesOf = async (region: string, id: string): Promise<Buffer> => {
      const res = await request(`${endpoint(region)}/v2/images/${id}/file`, { headers: { 'x-auth-token': tok.token } });
      expect(res.statusCode).toBe(200);
      return Buffer.from(await res.body.arrayBuffer());
    };
    /** The region's endpoint, reached through a proxy (the path, such as the emulator's /image/<region>, kept). */
    const via = (proxy: CutProxy, region: string) => `${proxy.url}${new URL(endpoint(region)).pathname.replace(/\/+$/, '')}`;
    const named = async (region: string, name: string) => (await allImages(region)).filter((i) => i.name === name);
    /** Nothing of this run left under a temporary name, anywhere. */
    const noTemporary = async (runId: string) => {
      for (const r of target.regions) {
        const left = (await allImages(r)).filter((i) => i.name?.startsWith('imagesync-') && (i.name.endsWith(runId) || i.imagesync_run === runId));
        expect(left.map((i) => `${r} ${i.name} ${i.status}`)).toEqual([]);
      }
    };
    const run = (o: Partial<ReplicateOptions> & Pick<ReplicateOptions, 'name' | 'destinations'>): Promise<CopyOutcome[]> => {
      finalNames.push(o.name);
      return replicate({
        runId: newRunId(new Date()),
        source: { kind: 'glance', target: { cloud: 'local', region: target.regions[0] }, glance: glanceAt(target.regions[0]), image: source },
        fields: fieldsOf(source),
        signal: AbortSignal.timeout(120_000),
        tuning: { claimSettleMs: 50, pollIntervalMs: 100 },
        ...o,
      });
    };
    const destination = (region: string, over: Partial<CopyDestination> = {}): CopyDestination => ({
      target: { cloud: 'local', region },
      glance: glanceAt(region),
      replaces: [],
      sameKeystone: false,
      ...over,
    });

    beforeAll(async () => {
      target = await setup();
      tok = await issueToken(target);
      conn = new CloudConnection(credentialsCloud(target, 'test/replicate/suite.ts', { name: 'local' }), { redactor: new Redactor() });
      const created = await sendExpect(
        `${endpoint(target.regions[0])}/v2/images`,
        {
          method: 'POST',
          headers: { ...auth(), 'content-type': 'application/json' },
          body: JSON.stringify({
            name: `${p}source`,
            disk_format: 'qcow2',
            container_format: 'bare',
            min_disk: 3,
            min_ram: 512,
            tags: ['base'],
            os_distro: 'debian',
            hw_disk_bus: 'scsi',
            imagesync_recipe: 'r'.repeat(64),
            imagesync_commit: 'abc1234',
          }),
        },
        [201],
      );
      const id = (JSON.parse(created.text) as { id: string }).id;
      await sendExpect(`${endpoint(target.regions[0])}/v2/images/${id}/file`, { method: 'PUT', headers: { ...auth(), 'content-type': 'application/octet-stream' }, body: data }, [204]);
      source = (await glanceAt(target.regions[0]).getImage(id))!;
    }, 120_000);

    afterAll(async () => {
      for (const px of proxies) await px.close();
      for (const r of target?.regions ?? []) {
        for (const img of await allImages(r)) {
          if (img.id === source?.id || finalNames.includes(img.name ?? '') || img.name?.startsWith(p)) await glanceAt(r).deleteImage(img.id);
        }
      }
      await conn?.close();
    }, 120_000);

    const expectCopied = async (outcome: CopyOutcome, region: string, name: string, fields: Partial<CopyFields> = fieldsOf(source)) => {
      expect(outcome.error, String(outcome.error)).toBeUndefined();
      expect(outcome.ok).toBe(true);
      const [img, ...more] = await named(region, name);
      expect(more).toEqual([]);
      expect(img).toMatchObject({ id: outcome.imageId, status: 'active', os_hidden: false, size: data.length, os_hash_algo: 'sha512' });
      // The test's own hash of what each region serves, not Glance's word for it.
      const copied = await bytesOf(region, img!.id);
      expect(sha512(copied)).toBe(sha512(data));
      expect(outcome.sha512).toBe(sha512(data));
      if (fields.disk_format) expect(img).toMatchObject({ disk_format: fields.disk_format, container_format: fields.container_format, min_disk: fields.min_disk, min_ram: fields.min_ram });
      if (fields.tags) expect(img!.tags).toEqual(fields.tags);
      for (const [k, v] of Object.entries(fields.properties ?? {})) expect(img![k], k).toBe(v);
      return img!;
    };

    it('streams 8 MiB of random bytes from one region into the other: the bytes, formats, minimums, tags and properties (recipe, provenance) arrive; nothing temporary is left', async () => {
      const [a, b] = target.regions;
      const name = `${p}streamed`;
      const runId = newRunId(new Date());
      const [out] = await run({ runId, name, destinations: [destination(b)] });
      expect(out!.via).toBe('streamed upload');
      expect(out!.passes).toBe(1);
      const img = await expectCopied(out!, b, name);
      expect(img.imagesync_copied_from).toBe(`local/${a}/${source.id}`);
      expect(sha512(await bytesOf(a, source.id))).toBe(sha512(data));
      await noTemporary(runId);
    });

    it('within one Keystone, lets the destination fetch it with glance-download, and verifies it the same way', async () => {
      const [, b] = target.regions;
      const name = `${p}fetched`;
      const runId = newRunId(new Date());
      const [out] = await run({ runId, name, destinations: [destination(b, { sameKeystone: true })] });
      expect(out!.via).toBe(`glance-download from ${target.regions[0]}`);
      expect(out!.passes).toBe(0);
      await expectCopied(out!, b, name);
      await noTemporary(runId);
    });

    it('falls back to streaming when the cloud\'s own import fails, and leaves the failed import\'s image behind nowhere', async () => {
      const [a, b] = target.regions;
      const name = `${p}fallback`;
      const runId = newRunId(new Date());
      // The source claims to live in the destination's region: glance-download there finds no such image and fails.
      const [out] = await run({
        runId,
        name,
        source: { kind: 'glance', target: { cloud: 'local', region: b }, glance: glanceAt(a), image: source },
        destinations: [destination(b, { sameKeystone: true })],
      });
      expect(out!.via).toBe('streamed upload');
      await expectCopied(out!, b, name);
      await noTemporary(runId);
    });

    it('starts an upload cut mid-way again from a fresh download: a second pass, the right bytes, nothing temporary left', async () => {
      const [, b] = target.regions;
      const proxy = await startCutProxy(endpoint(b), [{ request: /^PUT \S*\/v2\/images\/[^ ]+\/file /, direction: 'upload', afterBytes: 2 * MIB }]);
      proxies.push(proxy);
      const name = `${p}cut-upload`;
      const runId = newRunId(new Date());
      const [out] = await run({ runId, name, destinations: [destination(b, { glance: glanceAt(b, via(proxy, b)) })] });
      expect(proxy.cuts, String(out!.error)).toBe(1);
      expect(out!.passes).toBe(2);
      await expectCopied(out!, b, name);
      await noTemporary(runId);
    });

    it('gives up after every pass was cut: the copy fails, nothing carries the final name, no temporary image is left', async () => {
      const [, b] = target.regions;
      const proxy = await startCutProxy(endpoint(b), [{ request: /^PUT \S*\/v2\/images\/[^ ]+\/file /, direction: 'upload', afterBytes: MIB, times: Infinity }]);
      proxies.push(proxy);
      const name = `${p}always-cut`;
      const runId = newRunId(new Date());
      const [out] = await run({ runId, name, destinations: [destination(b, { glance: glanceAt(b, via(proxy, b)) })], tuning: { claimSettleMs: 50, pollIntervalMs: 100, maxPasses: 3 } });
      expect(out!.ok, String(out!.error)).toBe(false);
      expect(out!.failedStep, String(out!.error)).toBe('transfer the data');
      expect(String(out!.error)).toMatch(/copying the data failed \(3 passes\)/);
      expect(proxy.cuts).toBe(3);
      expect(out!.leftBehind).toEqual([]);
      expect(await named(b, name)).toEqual([]);
      await noTemporary(runId);
    });

    it('resumes a download cut mid-way with a Range from the last byte: one pass, the upload never restarts', async () => {
      const [a, b] = target.regions;
      const proxy = await startCutProxy(endpoint(a), [{ request: /^GET \S*\/v2\/images\/[^ ]+\/file /, direction: 'download', afterBytes: 3 * MIB }]);
      proxies.push(proxy);
      const name = `${p}cut-download`;
      const runId = newRunId(new Date());
      const [out] = await run({
        runId,
        name,
        source: { kind: 'glance', target: { cloud: 'local', region: a }, glance: glanceAt(a, via(proxy, a)), image: source },
        destinations: [destination(b)],
      });
      expect(proxy.cuts).toBe(1);
      expect(out!.passes).toBe(1);
      await expectCopied(out!, b, name);
      await noTemporary(runId);
    });

    it('refuses a copy whose bytes are not what the source states (its sha512), by the destination\'s own hash: nothing carries the final name, nothing temporary is left', async () => {
      const [a, b] = target.regions;
      const name = `${p}wrong-source`;
      const runId = newRunId(new Date());
      // The source's record says another sha512 than its bytes hash to (bytes corrupted at rest).
      const stated = { ...source, os_hash_value: '0'.repeat(128) };
      const [out] = await run({ runId, name, source: { kind: 'glance', target: { cloud: 'local', region: a }, glance: glanceAt(a), image: stated }, destinations: [destination(b)] });
      expect(out!.ok).toBe(false);
      expect(out!.failedStep, String(out!.error)).toBe('verify the copy');
      expect(String(out!.error)).toMatch(/not the source's bytes, by the destination's os_hash_value: sha512 [0-9a-f]{16}… ≠ expected 0{16}…/);
      expect(await named(b, name)).toEqual([]);
      await noTemporary(runId);
    });

    describe('from a URL with a declared checksum', () => {
      const urlSource = (checksum: string): SourceRef => ({ kind: 'url', url: files.url, checksum: parseChecksum(checksum)!, http: conn.http });
      const urlFields = (): CopyFields => ({ disk_format: 'qcow2', container_format: 'bare', min_disk: 0, min_ram: 0, tags: [], properties: { os_distro: 'debian' } });

      it('imports it with web-download when the checksum is sha512 (the destination proves it), and streams it when it is sha256', async () => {
        const [, b] = target.regions;
        const web = `${p}web-512`;
        const [byWeb] = await run({ name: web, source: urlSource(`sha512:${sha512(data)}`), fields: urlFields(), destinations: [destination(b)] });
        expect(byWeb!.via).toBe('web-download');
        await expectCopied(byWeb!, b, web, urlFields());
        const streamed = `${p}web-256`;
        const [byStream] = await run({ name: streamed, source: urlSource(`sha256:${sha256(data)}`), fields: urlFields(), destinations: [destination(b)] });
        expect(byStream!.via).toBe('streamed upload');
        await expectCopied(byStream!, b, streamed, urlFields());
      });

      it('fails a wrong checksum either way: nothing carries the final name, nothing temporary is left', async () => {
        const [, b] = target.regions;
        const wrong512 = `${p}wrong-512`;
        const run512 = newRunId(new Date());
        const [w512] = await run({ runId: run512, name: wrong512, source: urlSource(`sha512:${'0'.repeat(128)}`), fields: urlFields(), destinations: [destination(b)] });
        expect(w512!.ok).toBe(false);
        expect(w512!.failedStep).toBe('verify the copy');
        expect(String(w512!.error)).toMatch(/not the source's bytes.*declared/);
        const wrong256 = `${p}wrong-256`;
        const run256 = newRunId(new Date());
        const [w256] = await run({ runId: run256, name: wrong256, source: urlSource(`sha256:${'0'.repeat(64)}`), fields: urlFields(), destinations: [destination(b)] });
        expect(w256!.ok).toBe(false);
        expect(w256!.failedStep).toBe('transfer the data');
        expect(String(w256!.error)).toMatch(/sha256 .* ≠ declared/);
        for (const n of [wrong512, wrong256]) expect(await named(b, n)).toEqual([]);
        await noTemporary(run512);
        await noTemporary(run256);
      });
    });

  });
}
