// Checked before anything is created (pure): the flavor against the source image's min_disk and min_ram, the root disk (image or volume) and its size.
import type { VolumeSettings } from '../manifest/schema.js';
import type { GlanceImage } from '../openstack/glance.js';
import type { Flavor } from '../openstack/nova.js';
import { volumeSnapshotsOf } from '../resources/volume-backed.js';

const GIB = 1024 ** 3;

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** The disk the image needs, in GB: its min_disk, and its data (virtual size when known, else its size), rounded up. */
export function imageDiskGb(image: Pick<GlanceImage, 'size'> & Record<string, unknown>): { minDisk: number; dataGb: number } {
  const bytes = Math.max(num(image.virtual_size), num(image.size));
  return { minDisk: num(image.min_disk), dataGb: Math.ceil(bytes / GIB) };
}

/** What the boot volume is made from: the image, or (a volume-backed source image) the Cinder snapshot it points at. */
export type VolumeSource = { imageRef: string } | { snapshotId: string };

export interface VolumePlan {
  size: number;
  from: VolumeSource;
  type?: string | undefined;
  availabilityZone?: string | undefined;
}

export interface DiskCheck {
  /** Why the server cannot boot as asked (one line each, naming the values); empty when it can. */
  problems: string[];
  /** The boot volume to make (build.volume, or a volume-backed source image); undefined: boot from the image. */
  volume?: VolumePlan | undefined;
}

/**
 * The checks Nova (and Cinder) would make only after the claim, the keypair and the boot request:
 * RAM against min_ram; an image boot needs a flavor disk of at least min_disk and the image's data,
 * and a flavor with a 0 GB root disk cannot boot an image for a normal user (Nova's
 * zero_disk_flavor policy): that needs build.volume; a volume needs as much; an image that is only a
 * pointer to a Cinder snapshot (a volume-backed server's image) boots through a volume made from it.
 */
export function checkBootDisk(
  image: GlanceImage,
  flavor: Pick<Flavor, 'name' | 'ram' | 'disk'>,
  volume: VolumeSettings | undefined,
  zone: string | undefined,
): DiskCheck {
  const problems: string[] = [];
  const name = `"${image.name ?? image.id}"`;
  const minRam = num(image.min_ram);
  if (flavor.ram !== undefined && minRam > flavor.ram) {
    problems.push(`flavor "${flavor.name}" has ${flavor.ram} MB of RAM, and source image ${name} needs at least ${minRam} MB (its min_ram): choose a larger flavor`);
  }
  const { minDisk, dataGb } = imageDiskGb(image);
  const snapshots = volumeSnapshotsOf(image);
  const need = Math.max(minDisk, snapshots.length ? 0 : dataGb);
  if (!volume) {
    if (snapshots.length) {
      problems.push(`source image ${name} is volume-backed (its data is Cinder snapshot ${snapshots[0]}): set build.volume so that imagesync makes the build's volume from it`);
    } else if (flavor.disk === 0) {
      problems.push(`flavor "${flavor.name}" has a 0 GB root disk: Nova refuses to boot an image on it (policy zero_disk_flavor); set build.volume to boot from a volume of at least ${Math.max(need, 1)} GB`);
    } else if (flavor.disk !== undefined && need > flavor.disk) {
      problems.push(`flavor "${flavor.name}" has a ${flavor.disk} GB root disk, and source image ${name} needs ${need} GB (${minDisk >= dataGb || snapshots.length ? 'its min_disk' : 'its data'}): choose a larger flavor, or set build.volume with a size of at least ${need}`);
    }
    return { problems };
  }
  // Packer's default (min_disk, else the image's bytes) is too small for a sparse qcow2 that grows
  // during the build: take the largest of what the image needs and what the flavor would have given.
  const size = volume.size ?? Math.max(need, num(flavor.disk), 1);
  if (volume.size !== undefined && volume.size < need) {
    problems.push(`build.volume.size is ${volume.size} GB, and source image ${name} needs ${need} GB (${minDisk >= dataGb ? 'its min_disk' : 'its data'}): give at least ${need}`);
  }
  const from: VolumeSource = snapshots.length ? { snapshotId: snapshots[0]! } : { imageRef: image.id };
  return { problems, volume: { size, from, type: volume.type, availabilityZone: volume.availabilityZone ?? zone } };
}
