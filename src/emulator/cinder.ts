// Cinder (block storage v3) subset: volumes, volume types, snapshots, metadata, availability zones, over the emulator's volume store.
import { emptyReply, isJsonObject, jsonReply, readJsonObject, type Reply } from './http.js';
import type { ComputeCaller } from './image-backend.js';
import { CinderError, EMULATOR_ZONE, type SnapshotRecord, type VolumeRecord, type VolumeStore } from './volumes.js';
import type { Route, RouteContext, World } from './world.js';

/** Cinder's error body: `{"badRequest": {"code": 400, "message": "..."}}`. */
export function cinderError(status: number, message: string): Reply {
  const name = status === 404 ? 'itemNotFound' : status === 400 ? 'badRequest' : status === 409 ? 'conflictingRequest' : 'computeFault';
  return jsonReply(status, { [name]: { code: status, message } });
}

const isObject = isJsonObject;

function jsonBody(ctx: RouteContext): Promise<Record<string, unknown>> {
  // Cinder says "Malformed request body" for both.
  return readJsonObject(ctx.req, () => new CinderError(400, 'Malformed request body'));
}

function stringMap(field: string, v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) throw new CinderError(400, `Invalid input for field/attribute ${field}: values must be strings`);
  return v as Record<string, string>;
}

function cinderTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000');
}

export function volumeView(v: VolumeRecord, links: string): Record<string, unknown> {
  return {
    id: v.id,
    name: v.name,
    description: v.description,
    status: v.status,
    size: v.size,
    volume_type: v.volumeType,
    availability_zone: v.availabilityZone,
    bootable: v.imageId !== null || v.snapshotId !== null ? 'true' : 'false',
    encrypted: false,
    multiattach: false,
    metadata: { ...v.metadata },
    snapshot_id: v.snapshotId,
    source_volid: null,
    user_id: v.userId,
    'os-vol-tenant-attr:tenant_id': v.projectId,
    attachments: v.attachment
      ? [{ id: v.id, attachment_id: v.attachment.attachmentId, volume_id: v.id, server_id: v.attachment.serverId, device: v.attachment.device, host_name: null, attached_at: cinderTime(v.updatedAtMs) }]
      : [],
    ...(v.imageProperties ? { volume_image_metadata: { ...v.imageProperties } } : {}),
    created_at: cinderTime(v.createdAtMs),
    updated_at: cinderTime(v.updatedAtMs),
    links: [{ rel: 'self', href: `${links}/volumes/${v.id}` }],
  };
}

function snapshotView(s: SnapshotRecord): Record<string, unknown> {
  return {
    id: s.id,
    name: s.name,
    description: s.description,
    status: s.status,
    size: s.size,
    volume_id: s.volumeId,
    metadata: { ...s.metadata },
    created_at: cinderTime(s.createdAtMs),
    updated_at: cinderTime(s.updatedAtMs),
  };
}

/** Cinder filters lists by exact name, status and (JSON) metadata. */
function filterList<T extends { name: string; status: string; metadata: Record<string, string> }>(items: T[], pairs: Array<[string, string]>): T[] {
  let out = items;
  for (const [k, v] of pairs) {
    if (k === 'name') out = out.filter((i) => i.name === v);
    else if (k === 'status') out = out.filter((i) => i.status === v);
    else if (k === 'metadata') {
      let want: Record<string, unknown>;
      try {
        want = JSON.parse(v) as Record<string, unknown>;
      } catch {
        throw new CinderError(400, `Invalid filter metadata: ${v}`);
      }
      out = out.filter((i) => Object.entries(want).every(([mk, mv]) => i.metadata[mk] === mv));
    }
  }
  return out;
}

interface CinderCall {
  ctx: RouteContext;
  caller: ComputeCaller;
}

/** The handler for `path` (after `/volume/<region>`), or undefined. */
function cinderHandler(store: VolumeStore, base: string, method: string, path: string): ((call: CinderCall) => Promise<Reply>) | undefined {
  const table = (handlers: Record<string, (call: CinderCall) => Reply | Promise<Reply>>) => {
    const h = handlers[method] ?? (method === 'HEAD' ? handlers.GET : undefined);
    return async (call: CinderCall): Promise<Reply> => (h ? h(call) : cinderError(405, `The method ${method} is not allowed for this resource.`));
  };
  const links = `${base}/v3`;
  if (path === '' || path === '/v3') {
    return table({
      GET: () =>
        jsonReply(200, {
          versions: [{ id: 'v3.0', status: 'CURRENT', version: '3.70', min_version: '3.0', links: [{ rel: 'self', href: `${links}/` }] }],
        }),
    });
  }
  if (path === '/v3/volumes' || path === '/v3/volumes/detail') {
    return table({
      GET: (call) => jsonReply(200, { volumes: filterList(store.listVolumes(call.caller.projectId), call.ctx.pairs).map((v) => volumeView(v, links)) }),
      ...(path === '/v3/volumes'
        ? {
            POST: async (call: CinderCall) => {
              const body = await jsonBody(call.ctx);
              const v = body.volume;
              if (!isObject(v)) throw new CinderError(400, "Missing required element 'volume' in request body.");
              const str = (k: string): string | undefined => (typeof v[k] === 'string' && v[k] !== '' ? (v[k] as string) : undefined);
              const created = await store.create(call.caller, {
                name: str('name') ?? '',
                description: str('description') ?? '',
                size: typeof v.size === 'number' ? v.size : Number(v.size),
                ...(str('imageRef') ? { imageRef: str('imageRef')! } : {}),
                ...(str('snapshot_id') ? { snapshotId: str('snapshot_id')! } : {}),
                ...(str('volume_type') ? { volumeType: str('volume_type')! } : {}),
                ...(str('availability_zone') ? { availabilityZone: str('availability_zone')! } : {}),
                metadata: stringMap('metadata', v.metadata),
              });
              return jsonReply(202, { volume: volumeView(created, links) });
            },
          }
        : {}),
    });
  }
  let m = /^\/v3\/volumes\/([^/]+)$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1]!);
    return table({
      GET: (call) => jsonReply(200, { volume: volumeView(store.volume(call.caller.projectId, id), links) }),
      DELETE: (call) => {
        store.remove(call.caller.projectId, id);
        return emptyReply(202);
      },
    });
  }
  m = /^\/v3\/volumes\/([^/]+)\/metadata$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1]!);
    return table({
      GET: (call) => jsonReply(200, { metadata: { ...store.volume(call.caller.projectId, id).metadata } }),
      POST: async (call) => {
        const v = store.volume(call.caller.projectId, id);
        Object.assign(v.metadata, stringMap('metadata', (await jsonBody(call.ctx)).metadata));
        return jsonReply(200, { metadata: { ...v.metadata } });
      },
    });
  }
  if (path === '/v3/types') {
    return table({ GET: () => jsonReply(200, { volume_types: store.types.map((t) => ({ id: t.id, name: t.name, description: t.description, is_public: true, extra_specs: {} })) }) });
  }
  if (path === '/v3/limits') {
    // Shown, not enforced (as the emulator's other quotas): what `openstack limits show` reads.
    return table({
      GET: ({ caller }) => {
        const volumes = store.listVolumes(caller.projectId);
        const snapshots = store.listSnapshots(caller.projectId);
        const gigabytes = volumes.reduce((n, v) => n + v.size, 0) + snapshots.reduce((n, x) => n + x.size, 0);
        return jsonReply(200, {
          limits: {
            rate: [],
            absolute: {
              maxTotalVolumes: 10,
              maxTotalSnapshots: 10,
              maxTotalVolumeGigabytes: 1000,
              maxTotalBackups: 10,
              maxTotalBackupGigabytes: 1000,
              totalVolumesUsed: volumes.length,
              totalSnapshotsUsed: snapshots.length,
              totalGigabytesUsed: gigabytes,
              totalBackupsUsed: 0,
              totalBackupGigabytesUsed: 0,
            },
          },
        });
      },
    });
  }
  m = /^\/v3\/os-quota-sets\/([^/]+?)(\/defaults)?$/.exec(path);
  if (m) {
    const project = decodeURIComponent(m[1]!);
    const defaults = m[2] !== undefined;
    return table({
      GET: ({ ctx, caller }) => {
        const usage = !defaults && ctx.pairs.some(([k, v]) => k === 'usage' && /^(true|1|yes)$/i.test(v));
        const mine = project === caller.projectId;
        const volumes = mine ? store.listVolumes(project) : [];
        const snapshots = mine ? store.listSnapshots(project) : [];
        const used: Record<string, number> = {
          volumes: volumes.length,
          snapshots: snapshots.length,
          gigabytes: volumes.reduce((n, v) => n + v.size, 0) + snapshots.reduce((n, x) => n + x.size, 0),
          backups: 0,
          backup_gigabytes: 0,
          groups: 0,
          per_volume_gigabytes: 0,
        };
        for (const t of store.types) {
          used[`volumes_${t.name}`] = volumes.filter((v) => v.volumeType === t.name).length;
          used[`gigabytes_${t.name}`] = volumes.filter((v) => v.volumeType === t.name).reduce((n, v) => n + v.size, 0);
          used[`snapshots_${t.name}`] = 0;
        }
        // Cinder's defaults for a project; per-type and per-volume limits are unlimited (-1).
        const limit = (k: string) => (k === 'gigabytes' || k === 'backup_gigabytes' ? 1000 : ['volumes', 'snapshots', 'backups', 'groups'].includes(k) ? 10 : -1);
        const quota: Record<string, unknown> = { id: project };
        for (const [k, n] of Object.entries(used)) quota[k] = usage ? { limit: limit(k), in_use: n, reserved: 0, allocated: 0 } : limit(k);
        return jsonReply(200, { quota_set: quota });
      },
    });
  }
  if (path === '/v3/os-availability-zone') {
    return table({ GET: () => jsonReply(200, { availabilityZoneInfo: [{ zoneName: EMULATOR_ZONE, zoneState: { available: true } }] }) });
  }
  if (path === '/v3/snapshots' || path === '/v3/snapshots/detail') {
    return table({ GET: (call) => jsonReply(200, { snapshots: filterList(store.listSnapshots(call.caller.projectId), call.ctx.pairs).map(snapshotView) }) });
  }
  m = /^\/v3\/snapshots\/([^/]+)$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1]!);
    return table({
      GET: (call) => jsonReply(200, { snapshot: snapshotView(store.snapshot(call.caller.projectId, id)) }),
      DELETE: (call) => {
        store.removeSnapshot(call.caller.projectId, id);
        return emptyReply(202);
      },
    });
  }
  return undefined;
}

/** The emulator's route for `/volume/<region><rest>`; project ids in the path (`/v3/<project>/…`) are accepted and dropped. */
export function cinderRoute(world: World, region: string, method: string, rest: string): Route {
  const store = world.compute?.region(region).volumes;
  const base = `${world.baseUrl}/volume/${region}`;
  const path = rest.replace(/\/+$/, '').replace(/^\/v3\/[0-9a-f]{32}(?=\/|$)/, '/v3');
  const handler = store ? cinderHandler(store, base, method, path) : undefined;
  const versions = path === '' || path === '/v3';
  return {
    kind: handler ? `volume.${path.split('/')[2] ?? 'versions'}` : 'volume.other',
    service: 'volume',
    region,
    auth: versions ? 'none' : 'token',
    errorStyle: 'nova',
    run: async (ctx) => {
      if (!handler) return cinderError(404, 'The resource could not be found.');
      const t = ctx.token;
      const caller: ComputeCaller = t && t.projectId !== null ? { token: t.id, userId: t.userId, projectId: t.projectId } : { token: '', userId: '', projectId: '' };
      try {
        return await handler({ ctx, caller });
      } catch (err) {
        if (!(err instanceof CinderError)) throw err;
        return cinderError(err.status, err.message);
      }
    },
  };
}

