// Deleting a declared resource by its id: one function for the build's cleanups and for gc, with "deleted" meaning gone.
import { HttpError, ImagesyncError } from '../errors.js';
import type { BuildServices } from '../openstack/cloud.js';
import type { CinderClient } from '../openstack/cinder.js';
import type { NeutronClient } from '../openstack/neutron.js';
import type { NovaClient } from '../openstack/nova.js';
import { waitFor } from '../openstack/wait.js';
import { deleteHint } from './hints.js';
import { kindInfo, resourceId, type Resource } from './resource.js';
import { deleteVolumeAndWait, deleteVolumeDataOf, deleteVolumeSnapshotAndWait } from './volume-backed.js';

/** How long a server may take to go after its DELETE was accepted. */
export const SERVER_GONE_TIMEOUT_MS = 5 * 60_000;

export interface DeleteOptions {
  /** First poll interval while waiting for a server to be gone. */
  pollIntervalMs: number;
  signal?: AbortSignal | undefined;
}

/** A resource this version has no client to delete (a kind for a later strategy). */
export class CannotDeleteError extends ImagesyncError {
  override readonly code = 'CANNOT_DELETE';
}

/** Delete one resource by its id; an already-missing one counts as deleted. */
export async function deleteResource(services: BuildServices, r: Resource, o: DeleteOptions): Promise<void> {
  const id = resourceId(r);
  if (!id) throw new ImagesyncError(`${r.cloud}/${r.region}: cannot delete ${kindInfo(r.kind).label} ${r.name} by id: its id is not known`);
  switch (r.kind) {
    case 'server':
      return deleteServerAndWait(services.nova, id, o);
    case 'keypair':
      return services.nova.deleteKeypair(id, o.signal);
    case 'image':
      return deleteImage(services, id, o);
    case 'image-upload':
      return services.glance.deleteImage(id, o.signal);
    case 'volume':
      return deleteVolumeAndWait(cinderOf(services, r), id, { pollIntervalMs: o.pollIntervalMs, timeoutMs: VOLUME_GONE_TIMEOUT_MS, signal: o.signal });
    case 'volume-snapshot':
      return deleteVolumeSnapshotAndWait(cinderOf(services, r), id, { pollIntervalMs: o.pollIntervalMs, timeoutMs: VOLUME_GONE_TIMEOUT_MS, signal: o.signal });
    case 'security-group':
      if (!services.neutron) throw new ImagesyncError(`${r.cloud}/${r.region}: no network service (Neutron) in the catalog to delete security group ${id}`);
      return deleteSecurityGroupWhenFree(services.neutron, id, o);
    case 'floating-ip':
      if (!services.neutron) throw new ImagesyncError(`${r.cloud}/${r.region}: no network service (Neutron) in the catalog to delete floating IP ${id}`);
      return services.neutron.deleteFloatingIp(id, o.signal);
    default:
      throw new CannotDeleteError(`${r.cloud}/${r.region}: this imagesync cannot delete a ${kindInfo(r.kind).label} yet; delete it with: ${deleteHint(r)}`);
  }
}

/** How long a volume or volume snapshot may take to settle and then to go. */
export const VOLUME_GONE_TIMEOUT_MS = 5 * 60_000;

function cinderOf(services: BuildServices, r: Resource): CinderClient {
  if (!services.cinder) throw new ImagesyncError(`${r.cloud}/${r.region}: no block storage service (Cinder) in the catalog to delete ${kindInfo(r.kind).label} ${resourceId(r)}; delete it with: ${deleteHint(r)}`);
  return services.cinder;
}

/**
 * An image; when it is the image of a volume-backed build, the Cinder snapshots Nova made for it
 * (and the boot volume they came from) go too: Glance never deletes them.
 */
async function deleteImage(services: BuildServices, id: string, o: DeleteOptions): Promise<void> {
  const image = services.cinder ? await services.glance.getImage(id, o.signal) : undefined;
  await services.glance.deleteImage(id, o.signal);
  if (image && services.cinder) await deleteVolumeDataOf(services.cinder, image, { pollIntervalMs: o.pollIntervalMs, timeoutMs: VOLUME_GONE_TIMEOUT_MS, signal: o.signal });
}

/** How long a security group may stay in use by the ports of a server being deleted. */
export const GROUP_FREE_TIMEOUT_MS = 2 * 60_000;

/** A group a port still carries answers 409: the ports of a deleted server go a moment after it. */
async function deleteSecurityGroupWhenFree(neutron: NeutronClient, id: string, o: DeleteOptions): Promise<void> {
  await waitFor({
    what: `security group ${id} to be free of ports and deleted`,
    poll: async () => {
      try {
        await neutron.deleteSecurityGroup(id, o.signal);
        return true;
      } catch (err) {
        if (err instanceof HttpError && err.status === 409) return false;
        throw err;
      }
    },
    done: (deleted) => deleted,
    describe: () => 'in use',
    timeoutMs: GROUP_FREE_TIMEOUT_MS,
    intervalMs: o.pollIntervalMs,
    signal: o.signal,
  });
}

/** Deleted means gone: a server stuck in deletion still costs money and must be reported. */
export async function deleteServerAndWait(nova: NovaClient, id: string, o: DeleteOptions): Promise<void> {
  await nova.deleteServer(id, o.signal);
  await waitFor({
    what: `server ${id} to be deleted`,
    poll: () => nova.getServer(id, o.signal),
    done: (srv) => srv === undefined,
    failed: (srv) => (srv?.status === 'ERROR' && srv['OS-EXT-STS:task_state'] !== 'deleting' ? `server ${id} went to ERROR while being deleted` : undefined),
    describe: (srv) => srv?.status ?? 'gone',
    timeoutMs: SERVER_GONE_TIMEOUT_MS,
    intervalMs: o.pollIntervalMs,
    signal: o.signal,
  });
}
