// Checks before boot (pure): the flavor against the source image's min_disk and min_ram, 0 GB flavors, the boot volume's size and what it is made from.
import { describe, expect, it } from 'vitest';
import { checkBootDisk, imageDiskGb } from '../../src/build/preflight.js';
import type { GlanceImage } from '../../src/openstack/glance.js';
import { describeVolumeBacked, volumeSnapshotsOf } from '../../src/resources/volume-backed.js';

const GIB = 1024 ** 3;
const image = (over: Partial<GlanceImage> = {}): GlanceImage => ({ id: 'img', name: 'debian-12', status: 'active', size: 400 * 1024 ** 2, min_disk: 2, min_ram: 0, ...over });
const flavor = (disk: number, ram = 2048) => ({ name: `f${disk}`, disk, ram });
const bfv = (snapshot: string, size = 5) => ({ block_device_mapping: JSON.stringify([{ source_type: 'snapshot', snapshot_id: snapshot, boot_index: 0, volume_size: size }]), size: 0, min_disk: size });

describe('checkBootDisk', () => {
  it('an image boot on a flavor large enough: no problem, no volume', () => {
    expect(checkBootDisk(image(), flavor(20), undefined, undefined)).toEqual({ problems: [] });
  });
  it('RAM under min_ram', () => {
    expect(checkBootDisk(image({ min_ram: 4096 }), flavor(20, 2048), undefined, undefined).problems).toEqual([
      'flavor "f20" has 2048 MB of RAM, and source image "debian-12" needs at least 4096 MB (its min_ram): choose a larger flavor',
    ]);
  });
  it('a flavor disk under min_disk, or under the image\'s data (virtual size)', () => {
    expect(checkBootDisk(image({ min_disk: 30 }), flavor(20), undefined, undefined).problems).toEqual([
      'flavor "f20" has a 20 GB root disk, and source image "debian-12" needs 30 GB (its min_disk): choose a larger flavor, or set build.volume with a size of at least 30',
    ]);
    expect(checkBootDisk(image({ min_disk: 0, virtual_size: 25 * GIB }), flavor(20), undefined, undefined).problems[0]).toMatch(/needs 25 GB \(its data\)/);
  });
  it('a 0 GB flavor cannot boot an image: it needs build.volume', () => {
    expect(checkBootDisk(image(), flavor(0), undefined, undefined).problems).toEqual([
      'flavor "f0" has a 0 GB root disk: Nova refuses to boot an image on it (policy zero_disk_flavor); set build.volume to boot from a volume of at least 2 GB',
    ]);
  });
  it('a volume: its size defaults to the largest of min_disk, the data and the flavor disk; it is made from the image in the zone asked', () => {
    expect(checkBootDisk(image(), flavor(0), {}, 'az-1')).toEqual({ problems: [], volume: { size: 2, from: { imageRef: 'img' }, type: undefined, availabilityZone: 'az-1' } });
    expect(checkBootDisk(image({ virtual_size: 3.5 * GIB }), flavor(0), {}, undefined).volume?.size).toBe(4);
    expect(checkBootDisk(image(), flavor(20), { type: 'ssd', availabilityZone: 'vol-az' }, 'az-1').volume).toEqual({ size: 20, from: { imageRef: 'img' }, type: 'ssd', availabilityZone: 'vol-az' });
    expect(checkBootDisk(image(), flavor(20), { size: 8 }, undefined).volume?.size).toBe(8);
  });
  it('a volume smaller than min_disk', () => {
    expect(checkBootDisk(image({ min_disk: 10 }), flavor(0), { size: 5 }, undefined).problems).toEqual([
      'build.volume.size is 5 GB, and source image "debian-12" needs 10 GB (its min_disk): give at least 10',
    ]);
  });
  it('a volume-backed source image: its volume comes from the Cinder snapshot; without build.volume it is refused', () => {
    const src = image(bfv('snap-1'));
    expect(checkBootDisk(src, flavor(20), undefined, undefined).problems).toEqual([
      'source image "debian-12" is volume-backed (its data is Cinder snapshot snap-1): set build.volume so that imagesync makes the build\'s volume from it',
    ]);
    expect(checkBootDisk(src, flavor(0), {}, undefined).volume).toEqual({ size: 5, from: { snapshotId: 'snap-1' }, type: undefined, availabilityZone: undefined });
  });
  it('image disk: min_disk and the larger of size and virtual size, rounded up', () => {
    expect(imageDiskGb({ size: GIB + 1, min_disk: 0 })).toEqual({ minDisk: 0, dataGb: 2 });
    expect(imageDiskGb({ size: null, virtual_size: null })).toEqual({ minDisk: 0, dataGb: 0 });
  });
});

describe('volume-backed images', () => {
  it('reads the Cinder snapshots from block_device_mapping, and says so for plan and show', () => {
    expect(volumeSnapshotsOf(image(bfv('snap-9')))).toEqual(['snap-9']);
    expect(volumeSnapshotsOf(image())).toEqual([]);
    expect(volumeSnapshotsOf({ block_device_mapping: 'not json' })).toEqual([]);
    expect(describeVolumeBacked(image(bfv('snap-9')))).toBe('volume-backed: data in Cinder snapshot snap-9 (Glance holds 0 bytes)');
    expect(describeVolumeBacked(image())).toBeUndefined();
  });
});
