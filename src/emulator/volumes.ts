// Cinder's state in one emulated region: volumes and snapshots with their states, volume types, and a volume's data (a server disk as a tar).
import type { IdSource } from './ids.js';
import type { BackendImage, ComputeCaller, ImageBackend } from './image-backend.js';

export type VolumeStatus = 'creating' | 'available' | 'in-use' | 'deleting' | 'error';
export type SnapshotStatus = 'creating' | 'available' | 'deleting' | 'error';

export interface VolumeRecord {
  id: string;
  name: string;
  description: string;
  projectId: string;
  userId: string;
  size: number;
  status: VolumeStatus;
  volumeType: string;
  availabilityZone: string;
  metadata: Record<string, string>;
  /** The image it was made from: Cinder keeps its properties (volume_image_metadata), which Nova reads at boot. */
  imageId: string | null;
  imageProperties: Record<string, string> | null;
  imageMinRam: number;
  snapshotId: string | null;
  /** The disk: a tar of what differs from the host's root, as a server's image data. */
  data: Buffer | undefined;
  /** The server it is attached to (a boot volume), as Nova's attachment. */
  attachment: { serverId: string; attachmentId: string; device: string } | null;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface SnapshotRecord {
  id: string;
  name: string;
  description: string;
  projectId: string;
  volumeId: string;
  size: number;
  status: SnapshotStatus;
  data: Buffer | undefined;
  metadata: Record<string, string>;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface VolumeTypeRecord {
  id: string;
  name: string;
  description: string | null;
}

/** A failure the API layer turns into Cinder's error body. */
export class CinderError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The one zone the emulator has, for Nova and Cinder alike. */
export const EMULATOR_ZONE = 'nova';
const GIB = 1024 ** 3;

export interface VolumeEnv {
  ids: IdSource;
  now(): number;
  /** A new volume or snapshot stays `creating`, a deleted one `deleting`, this long. */
  delayMs(): number;
  images: ImageBackend;
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

export class VolumeStore {
  readonly volumes = new Map<string, VolumeRecord>();
  readonly snapshots = new Map<string, SnapshotRecord>();
  readonly types: VolumeTypeRecord[];

  constructor(private readonly env: VolumeEnv) {
    // Cinder's own default type, and one a provider would add.
    this.types = [
      { id: env.ids.uuid(), name: '__DEFAULT__', description: 'Default Volume Type' },
      { id: env.ids.uuid(), name: 'ssd', description: null },
    ];
  }

  volume(projectId: string, id: string): VolumeRecord {
    const v = this.volumes.get(id);
    if (!v || v.projectId !== projectId) throw new CinderError(404, `Volume ${id} could not be found.`);
    return v;
  }

  snapshot(projectId: string, id: string): SnapshotRecord {
    const s = this.snapshots.get(id);
    if (!s || s.projectId !== projectId) throw new CinderError(404, `Snapshot ${id} could not be found.`);
    return s;
  }

  private typeNamed(ref: string | undefined): VolumeTypeRecord {
    if (ref === undefined) return this.types[0]!;
    const t = this.types.find((x) => x.name === ref || x.id === ref);
    if (!t) throw new CinderError(404, `Volume type with name ${ref} could not be found.`);
    return t;
  }

  /** POST /volumes: from an image (its data and properties), from a snapshot, or blank. Ends `available` after the delay. */
  async create(
    caller: ComputeCaller,
    req: { name: string; description: string; size: number; imageRef?: string; snapshotId?: string; volumeType?: string; availabilityZone?: string; metadata: Record<string, string> },
  ): Promise<VolumeRecord> {
    if (!Number.isInteger(req.size) || req.size < 1) throw new CinderError(400, `Invalid input received: Volume size '${req.size}' must be an integer and greater than 0.`);
    if (req.availabilityZone !== undefined && req.availabilityZone !== EMULATOR_ZONE) {
      throw new CinderError(400, `Invalid input received: Availability zone '${req.availabilityZone}' is invalid.`);
    }
    const type = this.typeNamed(req.volumeType);
    let image: BackendImage | undefined;
    let data: Buffer | undefined;
    let snapshotId: string | null = null;
    let imageProperties: Record<string, string> | null = null;
    if (req.imageRef !== undefined) {
      image = await this.env.images.get(caller, req.imageRef);
      if (!image || image.status !== 'active') throw new CinderError(400, `Invalid image identifier or unable to access requested image.`);
      if (image.minDisk > req.size) throw new CinderError(400, `Invalid input received: Volume size ${req.size}GB cannot be smaller than the image minDisk size ${image.minDisk}GB.`);
      data = await this.env.images.data(caller, image.id);
      if (data && data.length > req.size * GIB) throw new CinderError(400, `Invalid input received: Size of specified image ${Math.ceil(data.length / GIB)}GB is larger than volume size ${req.size}GB.`);
      imageProperties = { ...image.properties, image_id: image.id, image_name: image.name ?? '', min_disk: String(image.minDisk), min_ram: String(image.minRam) };
    } else if (req.snapshotId !== undefined) {
      const snap = this.snapshot(caller.projectId, req.snapshotId);
      if (snap.status !== 'available') throw new CinderError(400, `Invalid snapshot: Originating snapshot status must be one of 'available' values`);
      if (req.size < snap.size) throw new CinderError(400, `Invalid input received: Volume size '${req.size}'GB cannot be smaller than the snapshot size ${snap.size}GB. They must be >= original snapshot size.`);
      data = snap.data;
      snapshotId = snap.id;
      imageProperties = this.volumes.get(snap.volumeId)?.imageProperties ?? null;
    }
    const now = this.env.now();
    const v: VolumeRecord = {
      id: this.env.ids.uuid(),
      name: req.name,
      description: req.description,
      projectId: caller.projectId,
      userId: caller.userId,
      size: req.size,
      status: 'creating',
      volumeType: type.name,
      availabilityZone: EMULATOR_ZONE,
      metadata: { ...req.metadata },
      imageId: image?.id ?? null,
      imageProperties,
      imageMinRam: image?.minRam ?? 0,
      snapshotId,
      data,
      attachment: null,
      createdAtMs: now,
      updatedAtMs: now,
    };
    this.volumes.set(v.id, v);
    void sleep(this.env.delayMs()).then(() => {
      if (v.status === 'creating') this.set(v, 'available');
    });
    return v;
  }

  private set(v: VolumeRecord | SnapshotRecord, status: VolumeStatus & SnapshotStatus | VolumeStatus): void {
    (v as { status: string }).status = status;
    v.updatedAtMs = this.env.now();
  }

  /** DELETE /volumes/{id}: not while attached or with snapshots (Cinder's rules); gone after the delay. */
  remove(projectId: string, id: string): void {
    const v = this.volume(projectId, id);
    if (v.status === 'deleting') return;
    if (v.status !== 'available' && v.status !== 'error') {
      throw new CinderError(400, `Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots or be disassociated from snapshots after volume transfer.`);
    }
    const dependents = [...this.snapshots.values()].filter((s) => s.volumeId === id).length;
    if (dependents > 0) throw new CinderError(400, `Invalid volume: Volume still has ${dependents} dependent snapshots.`);
    this.set(v, 'deleting');
    void sleep(this.env.delayMs()).then(() => this.volumes.delete(id));
  }

  /** Nova's boot from a volume: available → in-use, attached as the root disk. */
  attach(projectId: string, id: string, serverId: string): VolumeRecord {
    const v = this.volume(projectId, id);
    if (v.status !== 'available') throw new CinderError(400, `Invalid volume: volume ${id} status must be available, but current status is: ${v.status}`);
    v.attachment = { serverId, attachmentId: this.env.ids.uuid(), device: '/dev/vda' };
    this.set(v, 'in-use');
    return v;
  }

  /** The server is gone: the volume keeps its disk (`data`) and becomes available, or goes (delete_on_termination) unless snapshots hold it. */
  detach(id: string, data: Buffer | undefined, deleteOnTermination: boolean): void {
    const v = this.volumes.get(id);
    if (!v) return;
    if (data !== undefined) v.data = data;
    v.attachment = null;
    this.set(v, 'available');
    // Nova asks Cinder to delete it; Cinder refuses while snapshots depend on it (Nova logs that and goes on).
    if (deleteOnTermination) {
      try {
        this.remove(v.projectId, id);
      } catch {
        /* kept: a snapshot (an image of this server) depends on it */
      }
    }
  }

  /** Nova's createImage of a volume-backed server: a snapshot of the root volume, `creating` for the delay. */
  snapshotVolume(caller: ComputeCaller, volumeId: string, name: string, data: Buffer | undefined): SnapshotRecord {
    const v = this.volume(caller.projectId, volumeId);
    const now = this.env.now();
    const s: SnapshotRecord = {
      id: this.env.ids.uuid(),
      name,
      description: '',
      projectId: caller.projectId,
      volumeId,
      size: v.size,
      status: 'creating',
      data: data ?? v.data,
      metadata: {},
      createdAtMs: now,
      updatedAtMs: now,
    };
    this.snapshots.set(s.id, s);
    void sleep(this.env.delayMs()).then(() => {
      if (s.status === 'creating') this.set(s, 'available');
    });
    return s;
  }

  /** DELETE /snapshots/{id}: not while creating; gone after the delay. */
  removeSnapshot(projectId: string, id: string): void {
    const s = this.snapshot(projectId, id);
    if (s.status === 'deleting') return;
    if (s.status !== 'available' && s.status !== 'error') throw new CinderError(400, `Invalid snapshot: Snapshot status must be available or error and must not be part of a group.`);
    this.set(s, 'deleting');
    void sleep(this.env.delayMs()).then(() => this.snapshots.delete(id));
  }

  listVolumes(projectId: string): VolumeRecord[] {
    return [...this.volumes.values()].filter((v) => v.projectId === projectId).sort((a, b) => b.createdAtMs - a.createdAtMs);
  }

  listSnapshots(projectId: string): SnapshotRecord[] {
    return [...this.snapshots.values()].filter((s) => s.projectId === projectId).sort((a, b) => b.createdAtMs - a.createdAtMs);
  }
}
