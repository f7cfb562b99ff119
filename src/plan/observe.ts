// Observe one target: the images that carry a wanted name (or a source image's name) in one (cloud, region).
import { errorMessage, HttpError, ImagesyncError } from '../errors.js';
import type { CloudConnection, ImageReader } from '../openstack/cloud.js';
import type { GlanceImage } from '../openstack/glance.js';
import { MANAGED_PROPERTY } from './orphans.js';
import type { NetworkObservation, Observation, Target } from './types.js';

export interface ObserveRequest extends Target {
  names: string[];
  /** Also list the target's networks (a build there names none), at the same time as the images. */
  networks?: boolean | undefined;
  /** Also list the project's images imagesync published (to find orphans), at the same time. */
  managed?: boolean | undefined;
  /** Wanted names whose images' members are compared (the manifest names members): read after the listing, shared images only. */
  membersOf?: string[] | undefined;
  /** Glance listings of source candidates by metadata (source.filter), e.g. `images?status=active&os_distro=debian…`. */
  queries?: string[] | undefined;
  /** Waited for once the token is there, before the listings are sent: targets take turns (pipeline/turns.ts). */
  turn?: (() => Promise<void>) | undefined;
}

/** One target; never throws: a failure becomes an unreachable observation that says why. */
export async function observeTarget(
  conn: CloudConnection,
  req: ObserveRequest,
  signal: AbortSignal | undefined,
  /** The clock, in ms: how long the read took. */
  now: () => number,
): Promise<Observation> {
  const started = now();
  const t = { cloud: req.cloud, region: req.region };
  try {
    const reader = await conn.imageReader(req.region, signal);
    await req.turn?.();
    // One round: the wanted names, the source listings, and (when asked) the networks and the published images, all at once.
    const [images, sourceLists, networks, managed] = await Promise.all([
      reader.listByNames(req.names, signal),
      listSources(reader, req.queries, signal),
      req.networks ? readNetworks(conn, req.region, signal) : undefined,
      req.managed && reader.listOwnedByProperty ? reader.listOwnedByProperty(MANAGED_PROPERTY, 'true', signal) : undefined,
    ]);
    const members = await readMembers(reader, images, req.membersOf, signal);
    return { ...t, ok: true, via: reader.via, images, ...(members ? { members } : {}), ...(sourceLists ? { sourceLists } : {}), ...(networks ? { networks } : {}), ...(managed ? { managed } : {}), durationMs: now() - started };
  } catch (err) {
    if (signal?.aborted) throw err;
    const status = err instanceof HttpError ? err.status : undefined;
    const requestId = err instanceof HttpError ? err.info.requestId : undefined;
    const code = err instanceof ImagesyncError ? err.code : 'UNEXPECTED';
    let message = errorMessage(err);
    // Messages already start with the cloud or target; do not repeat it.
    const prefix = `${req.cloud}/${req.region}: `;
    if (message.startsWith(prefix)) message = message.slice(prefix.length);
    else if (message.startsWith(`${req.cloud}: `)) message = message.slice(req.cloud.length + 2);
    return { ...t, ok: false, error: { message, code, status, requestId }, durationMs: now() - started };
  }
}

/** A failed network listing does not make the target unreachable: only builds without a network need it, and they say why they cannot run. */
async function readNetworks(conn: CloudConnection, region: string, signal: AbortSignal | undefined): Promise<NetworkObservation> {
  try {
    return { ok: true, ...(await conn.networks(region, signal)) };
  } catch (err) {
    if (signal?.aborted) throw err;
    return { ok: false, problem: `cannot list the networks to pick one: ${errorMessage(err)}` };
  }
}

/**
 * The members of each shared image carrying one of `names`: one request per such image, made only
 * for manifests that name members (Glance refuses to list the members of an image not shared).
 */
async function readMembers(reader: ImageReader, images: GlanceImage[], names: string[] | undefined, signal?: AbortSignal): Promise<Record<string, string[]> | undefined> {
  const list = reader.listMembers;
  if (!names?.length || !list) return undefined;
  const wanted = new Set(names);
  const shared = images.filter((i) => i.name !== null && wanted.has(i.name) && i.visibility === 'shared' && i.status !== 'deleted');
  return Object.fromEntries(await Promise.all(shared.map(async (i) => [i.id, await list(i.id, signal)] as const)));
}

/** The filter listings, where the image API can answer them (Glance; not the compute proxy). */
async function listSources(reader: ImageReader, queries: string[] | undefined, signal?: AbortSignal): Promise<Record<string, GlanceImage[]> | undefined> {
  const list = reader.listQuery;
  if (!queries?.length || !list) return undefined;
  return Object.fromEntries(await Promise.all(queries.map(async (q) => [q, await list(q, signal)] as const)));
}
