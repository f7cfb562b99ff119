// One download feeds several destinations (the emulator's four regions); one destination whose upload is cut starts again alone.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRunId } from '../../src/app/run-id.js';
import { imageV2Base } from '../../src/openstack/catalog.js';
import { CloudConnection } from '../../src/openstack/cloud.js';
import { GlanceClient, type GlanceImage } from '../../src/openstack/glance.js';
import { ServiceClient } from '../../src/openstack/service.js';
import { fieldsOf } from '../../src/replicate/fields.js';
import { replicate } from '../../src/replicate/replicate.js';
import { emulatorConnection, useEmulator } from '../helpers/emulator.js';
import { startCutProxy, type CutProxy } from '../helpers/cut-proxy.js';

const REGIONS = ['R1', 'R2', 'R3', 'R4'];
const MIB = 1024 * 1024;
const emu = useEmulator({ regions: REGIONS, seedBaseImages: false });
let conn: CloudConnection;
let proxy: CutProxy;
const data = randomBytes(6 * MIB + 7);
const sha512 = (b: Uint8Array) => createHash('sha512').update(b).digest('hex');

beforeAll(async () => {
  conn = emulatorConnection(emu);
  proxy = await startCutProxy(emu.url, [{ request: /^PUT \/image\/R3\/v2\/images\/[^ ]+\/file /, direction: 'upload', afterBytes: 4 * MIB }]);
});

afterAll(async () => {
  await proxy?.close();
  await conn?.close();
});

const glance = (region: string, origin = emu.url) =>
  new GlanceClient(new ServiceClient(conn.session, conn.http, imageV2Base(`${origin}/image/${region}`), { cloud: 'emu', region }));

describe('replication into several destinations', () => {
  it('reads the source once for every destination; the one whose upload is cut takes a second pass alone', async () => {
    const src = emu.state.addImage('R1', { name: 'base', data, disk_format: 'raw', container_format: 'bare', properties: { os_distro: 'debian' } });
    const source: GlanceImage = (await glance('R1').getImage(src.id))!;
    emu.stats.reset();
    const outcomes = await replicate({
      runId: newRunId(new Date()),
      name: 'base',
      source: { kind: 'glance', target: { cloud: 'emu', region: 'R1' }, glance: glance('R1'), image: source },
      fields: fieldsOf(source),
      destinations: ['R2', 'R3', 'R4'].map((r) => ({
        target: { cloud: 'emu', region: r },
        glance: glance(r, r === 'R3' ? proxy.url : emu.url),
        replaces: [],
        sameKeystone: false,
      })),
      signal: AbortSignal.timeout(60_000),
      tuning: { claimSettleMs: 50, pollIntervalMs: 50 },
    });
    expect(outcomes.map((o) => [o.target.region, o.ok, o.passes])).toEqual([
      ['R2', true, 1],
      ['R3', true, 2],
      ['R4', true, 1],
    ]);
    expect(proxy.cuts).toBe(1);
    // One download for the three first uploads, one more for R3's second pass.
    expect(emu.stats.count('image.download')).toBe(2);
    expect(emu.stats.count('image.upload')).toBe(4);
    for (const r of ['R2', 'R3', 'R4']) {
      const [img, ...more] = emu.state.images(r).filter((i) => i.name === 'base');
      expect(more).toEqual([]);
      expect(img).toMatchObject({ status: 'active', os_hidden: false, os_distro: 'debian' });
      expect(sha512(emu.state.imageData(r, img!.id)!)).toBe(sha512(data));
      expect(emu.state.images(r).filter((i) => i.name?.startsWith('imagesync-'))).toEqual([]);
    }
  });
});
