// Nova's root disk on a Cinder volume, as the emulator plays it: boot from a volume (block_device_mapping_v2), from an image that points at a volume snapshot, and snapshots of such servers.
import { ComputeError } from './compute.js';
import { isJsonObject } from './http.js';
import type { BackendImage, ComputeCaller, ImageBackend } from './image-backend.js';
import { CinderError, EMULATOR_ZONE, type VolumeRecord, type VolumeStore } from './volumes.js';

/** One block_device_mapping_v2 entry as the emulator reads it. */
export interface BootDevice {
  bootIndex: number | null;
  uuid: string | undefined;
  sourceType: string;
  destinationType: string;
  volumeSize: number | undefined;
  deleteOnTermination: boolean;
}

const isObject = isJsonObject;

function bad(message: string): ComputeError {
  return new ComputeError(400, message);
}

/** Parse block_device_mapping_v2 as Nova validates it (the fields the emulator uses). */
export function parseBlockDevices(value: unknown): BootDevice[] {
  if (!Array.isArray(value)) throw bad(`Invalid input for field/attribute block_device_mapping_v2. Value: ${JSON.stringify(value)}. is not of type 'array'`);
  return value.map((d) => {
    if (!isObject(d)) throw bad('Invalid input for field/attribute block_device_mapping_v2: items must be objects');
    const sourceType = typeof d.source_type === 'string' ? d.source_type : 'volume';
    if (!['volume', 'image', 'snapshot', 'blank'].includes(sourceType)) throw bad(`Invalid input for field/attribute source_type. Value: ${JSON.stringify(d.source_type)}.`);
    const bootIndex = d.boot_index === undefined || d.boot_index === null || d.boot_index === 'none' ? null : Number(d.boot_index);
    if (bootIndex !== null && !Number.isInteger(bootIndex)) throw bad(`Invalid input for field/attribute boot_index. Value: ${JSON.stringify(d.boot_index)}.`);
    const dot = d.delete_on_termination;
    return {
      bootIndex,
      uuid: typeof d.uuid === 'string' ? d.uuid : undefined,
      sourceType,
      destinationType: typeof d.destination_type === 'string' ? d.destination_type : 'volume',
      volumeSize: typeof d.volume_size === 'number' ? d.volume_size : undefined,
      deleteOnTermination: dot === true || dot === 'true' || dot === 'True',
    };
  });
}

/** The zones Nova knows here: the emulator has one. */
export function checkZone(zone: string | undefined): void {
  if (zone === undefined || zone === EMULATOR_ZONE || zone.startsWith(`${EMULATOR_ZONE}:`)) return;
  throw bad(`The requested availability zone is not available`);
}

/** What Nova shows of a volume-backed server's image: the properties Cinder kept of the image the volume came from. */
function imageOfVolume(v: VolumeRecord): BackendImage {
  const p = v.imageProperties ?? {};
  const { image_id: imageId = '', image_name: name = null, min_disk: _minDisk, min_ram: minRam = '0', ...properties } = p;
  return { id: imageId, name, status: 'active', minRam: Number(minRam) || 0, minDisk: v.size, properties };
}

interface SnapshotMapping {
  snapshot_id?: unknown;
  source_type?: unknown;
  boot_index?: unknown;
  volume_size?: unknown;
  delete_on_termination?: unknown;
}

/** The root entry of an image's block_device_mapping property (an image of a volume-backed server), if any. */
export function imageRootSnapshot(properties: Record<string, string>): { snapshotId: string; size: number | undefined; deleteOnTermination: boolean } | undefined {
  const raw = properties.block_device_mapping;
  if (!raw) return undefined;
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!Array.isArray(list)) return undefined;
  const root = (list as SnapshotMapping[]).find((m) => isObject(m) && m.source_type === 'snapshot' && Number(m.boot_index ?? 0) === 0 && typeof m.snapshot_id === 'string');
  if (!root) return undefined;
  return { snapshotId: root.snapshot_id as string, size: typeof root.volume_size === 'number' ? root.volume_size : undefined, deleteOnTermination: root.delete_on_termination === true };
}

async function waitAvailable(store: VolumeStore, projectId: string, id: string): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    const v = store.volume(projectId, id);
    if (v.status === 'available') return;
    if (v.status === 'error') throw new ComputeError(400, `Volume ${id} went to error while Nova waited for it`);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new ComputeError(500, `Volume ${id} did not become available`);
}

function cinderToNova(err: unknown): never {
  if (err instanceof CinderError) throw new ComputeError(err.status === 404 ? 400 : err.status, err.message);
  throw err;
}

/**
 * The root disk of a new server: a volume of block_device_mapping_v2 (attached), a new volume from
 * the snapshot an image points at (as Nova does for an image of a volume-backed server), or the image.
 */
export async function rootDisk(
  volumes: VolumeStore,
  images: ImageBackend,
  caller: ComputeCaller,
  req: { imageRef: string; blockDevices?: BootDevice[] | undefined },
  attachTo: string,
): Promise<{ image: BackendImage; volume?: { id: string; deleteOnTermination: boolean } }> {
  const boot = req.blockDevices?.find((d) => d.bootIndex === 0);
  if (boot) {
    if (boot.sourceType !== 'volume' || boot.destinationType !== 'volume' || !boot.uuid) {
      throw bad(`The emulator boots from a volume made beforehand (source_type "volume", destination_type "volume", with its uuid), not from source_type "${boot.sourceType}"`);
    }
    try {
      const v = volumes.attach(caller.projectId, boot.uuid, attachTo);
      return { image: imageOfVolume(v), volume: { id: v.id, deleteOnTermination: boot.deleteOnTermination } };
    } catch (err) {
      cinderToNova(err);
    }
  }
  const imageId = req.imageRef.replace(/\/+$/, '').split('/').pop() ?? '';
  if (imageId === '') throw bad("Invalid input for field/attribute imageRef: an image is required unless block_device_mapping_v2 has a boot volume (boot_index 0)");
  let image: BackendImage | undefined;
  try {
    image = await images.get(caller, imageId);
  } catch (err) {
    throw new ComputeError(500, `Unable to look up image ${imageId} in Glance: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!image) throw bad(`Image ${imageId} could not be found.`);
  if (image.status !== 'active') throw bad(`Image ${imageId} is not active.`);
  const fromSnapshot = imageRootSnapshot(image.properties);
  if (!fromSnapshot) return { image };
  try {
    const snap = volumes.snapshot(caller.projectId, fromSnapshot.snapshotId);
    const v = await volumes.create(caller, { name: '', description: '', size: fromSnapshot.size ?? snap.size, snapshotId: snap.id, metadata: {} });
    await waitAvailable(volumes, caller.projectId, v.id);
    volumes.attach(caller.projectId, v.id, attachTo);
    return { image: { ...imageOfVolume(v), id: '' }, volume: { id: v.id, deleteOnTermination: fromSnapshot.deleteOnTermination } };
  } catch (err) {
    cinderToNova(err);
  }
}

/** The properties Nova gives the image of a volume-backed server: where its data is (the root volume's snapshot). */
export function volumeBackedImageProperties(snapshotId: string, volumeSize: number, deleteOnTermination: boolean): Record<string, string> {
  return {
    block_device_mapping: JSON.stringify([
      {
        source_type: 'snapshot',
        destination_type: 'volume',
        snapshot_id: snapshotId,
        volume_size: volumeSize,
        boot_index: 0,
        delete_on_termination: deleteOnTermination,
        device_name: '/dev/vda',
        device_type: 'disk',
        disk_bus: null,
        guest_format: null,
        volume_type: null,
        tag: null,
        no_device: null,
        image_id: null,
        volume_id: null,
      },
    ]),
    bdm_v2: 'True',
    root_device_name: '/dev/vda',
  };
}
