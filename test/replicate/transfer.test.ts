import { describe, expect, it } from 'vitest';
import type { GlanceClient, GlanceImage } from '../../src/openstack/glance.js';
import type { HttpClient } from '../../src/openstack/http.js';
import type { SourceRef } from '../../src/replicate/source.js';
import { chooseTransfer, describeTransfer } from '../../src/replicate/transfer.js';

const image = (over: Partial<GlanceImage> = {}): GlanceImage => ({ id: 'i1', name: 'web', status: 'active', os_hash_algo: 'sha512', os_hash_value: 'f'.repeat(128), ...over });
const fromGlance = (over: Partial<GlanceImage> = {}): SourceRef => ({ kind: 'glance', target: { cloud: 'acme', region: 'R1' }, glance: {} as GlanceClient, image: image(over) });
const fromUrl = (algo: 'sha256' | 'sha512'): SourceRef => ({ kind: 'url', url: 'https://example.org/x.qcow2', checksum: { algo, hex: 'a' }, http: {} as HttpClient });
const ALL = ['glance-direct', 'web-download', 'copy-image', 'glance-download'] as const;

describe('chooseTransfer', () => {
  it.each([
    ['same Keystone, glance-download offered, source hashed with sha512', fromGlance(), true, ALL, 'glance-download from R1'],
    ['another Keystone', fromGlance(), false, ALL, 'streamed upload'],
    ['glance-download not offered', fromGlance(), true, ['glance-direct', 'web-download'], 'streamed upload'],
    ['source without a sha512 (could not verify)', fromGlance({ os_hash_algo: 'sha256' }), true, ALL, 'streamed upload'],
    ['source without any hash', fromGlance({ os_hash_value: null }), true, ALL, 'streamed upload'],
    ['URL with sha512, web-download offered', fromUrl('sha512'), false, ALL, 'web-download'],
    ['URL with sha256 (Glance cannot prove it)', fromUrl('sha256'), false, ALL, 'streamed upload'],
    ['URL, web-download not offered', fromUrl('sha512'), false, ['glance-direct'], 'streamed upload'],
  ] as const)('%s → %s', (_what, source, sameKeystone, methods, expected) => {
    expect(describeTransfer(chooseTransfer(source, { sameKeystone, methods }))).toBe(expected);
  });
});
