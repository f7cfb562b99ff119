// Cinder (block storage v3) client for volume-backed builds: volumes, volume types, zones, snapshots.
import { HttpError, ResponseError } from '../errors.js';
import type { HttpResponse } from './http.js';
import type { ServiceClient } from './service.js';

export interface Volume {
  id: string;
  name: string | null;
  status: string;
  size: number;
  volume_type?: string | null;
  availability_zone?: string;
  metadata?: Record<string, string>;
  attachments?: Array<{ server_id?: string; attachment_id?: string }>;
  snapshot_id?: string | null;
  created_at?: string;
  /** The image's properties, copied by Cinder when the volume is made from an image. */
  volume_image_metadata?: Record<string, string>;
}

export interface VolumeSnapshot {
  id: string;
  name: string | null;
  status: string;
  volume_id: string;
  size?: number;
  created_at?: string;
  metadata?: Record<string, string>;
}

export interface VolumeType {
  id: string;
  name: string;
}

export interface CreateVolume {
  name: string;
  size: number;
  /** From an image, or from a snapshot (a volume-backed source image). */
  imageRef?: string | undefined;
  snapshotId?: string | undefined;
  volumeType?: string | undefined;
  availabilityZone?: string | undefined;
  description?: string | undefined;
  metadata: Record<string, string>;
}

/** Cinder's `status` values a volume or snapshot ends a wait in. */
export const VOLUME_FAILED = new Set(['error', 'error_deleting', 'error_restoring', 'error_extending', 'error_managing']);

export class CinderClient {
  constructor(readonly service: ServiceClient) {}

  get where(): string {
    return `${this.service.target.cloud}/${this.service.target.region}`;
  }

  private field<T>(res: HttpResponse, key: string, what: string): T {
    const v = res.json<Record<string, unknown>>()?.[key];
    if (v === undefined || v === null || typeof v !== 'object') {
      throw new ResponseError(`${this.where}: Cinder's reply to ${what} has no "${key}"${res.requestId ? ` (request ${res.requestId})` : ''}`, {
        method: 'GET', url: what, status: res.status, requestId: res.requestId, target: this.service.target,
      });
    }
    return v as T;
  }

  private async get<T>(path: string, key: string, signal?: AbortSignal): Promise<T> {
    const res = await this.service.request({ method: 'GET', path, expect: [200], signal });
    return this.field<T>(res, key, `GET ${path}`);
  }

  private async getOrUndefined<T>(path: string, key: string, signal?: AbortSignal): Promise<T | undefined> {
    try {
      return await this.get<T>(path, key, signal);
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Not idempotent (each POST makes a volume): callers go through createOnce. */
  async createVolume(req: CreateVolume, signal?: AbortSignal): Promise<Volume> {
    const volume: Record<string, unknown> = { name: req.name, size: req.size, metadata: req.metadata };
    if (req.imageRef) volume.imageRef = req.imageRef;
    if (req.snapshotId) volume.snapshot_id = req.snapshotId;
    if (req.volumeType) volume.volume_type = req.volumeType;
    if (req.availabilityZone) volume.availability_zone = req.availabilityZone;
    if (req.description) volume.description = req.description;
    const res = await this.service.request({ method: 'POST', path: 'volumes', json: { volume }, expect: [202], signal });
    return this.field<Volume>(res, 'volume', 'POST /volumes');
  }

  getVolume(id: string, signal?: AbortSignal): Promise<Volume | undefined> {
    return this.getOrUndefined<Volume>(`volumes/${encodeURIComponent(id)}`, 'volume', signal);
  }

  /** Volumes called exactly `name` (Cinder's name filter is exact), detail view. */
  async volumesNamed(name: string, signal?: AbortSignal): Promise<Volume[]> {
    const list = await this.get<Volume[]>(`volumes/detail?name=${encodeURIComponent(name)}`, 'volumes', signal);
    return list.filter((v) => v.name === name);
  }

  listVolumes(signal?: AbortSignal): Promise<Volume[]> {
    return this.get<Volume[]>('volumes/detail', 'volumes', signal);
  }

  /** Delete; an already-missing volume counts as deleted. */
  async deleteVolume(id: string, signal?: AbortSignal): Promise<void> {
    await this.service.request({ method: 'DELETE', path: `volumes/${encodeURIComponent(id)}`, expect: [202, 204, 404], signal });
  }

  /** Add or change metadata keys (others stay). */
  async setVolumeMetadata(id: string, metadata: Record<string, string>, signal?: AbortSignal): Promise<void> {
    await this.service.request({ method: 'POST', path: `volumes/${encodeURIComponent(id)}/metadata`, json: { metadata }, expect: [200], signal });
  }

  volumeTypes(signal?: AbortSignal): Promise<VolumeType[]> {
    return this.get<VolumeType[]>('types', 'volume_types', signal);
  }

  /** The zones volumes can be made in (available ones). */
  async availabilityZones(signal?: AbortSignal): Promise<string[]> {
    const zones = await this.get<Array<{ zoneName?: string; zoneState?: { available?: boolean } }>>('os-availability-zone', 'availabilityZoneInfo', signal);
    return zones.filter((z) => z.zoneState?.available !== false && typeof z.zoneName === 'string').map((z) => z.zoneName!);
  }

  getSnapshot(id: string, signal?: AbortSignal): Promise<VolumeSnapshot | undefined> {
    return this.getOrUndefined<VolumeSnapshot>(`snapshots/${encodeURIComponent(id)}`, 'snapshot', signal);
  }

  async snapshotsNamed(name: string, signal?: AbortSignal): Promise<VolumeSnapshot[]> {
    const list = await this.get<VolumeSnapshot[]>(`snapshots/detail?name=${encodeURIComponent(name)}`, 'snapshots', signal);
    return list.filter((s) => s.name === name);
  }

  listSnapshots(signal?: AbortSignal): Promise<VolumeSnapshot[]> {
    return this.get<VolumeSnapshot[]>('snapshots/detail', 'snapshots', signal);
  }

  /** Delete; an already-missing snapshot counts as deleted. */
  async deleteSnapshot(id: string, signal?: AbortSignal): Promise<void> {
    await this.service.request({ method: 'DELETE', path: `snapshots/${encodeURIComponent(id)}`, expect: [202, 204, 404], signal });
  }
}
