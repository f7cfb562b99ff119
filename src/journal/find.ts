// Find imagesync's temporary resources in one target: by name prefix AND a parseable run id (tag, metadata or property).
import { FLOATING_IP_DESCRIPTION_PREFIX } from '../build/steps/address.js';
import { RUN_TAG_PREFIX } from '../build/steps/boot.js';
import { sshGroupDescription } from '../build/steps/ssh-group.js';
import type { BuildServices } from '../openstack/cloud.js';
import type { CinderClient } from '../openstack/cinder.js';
import type { GlanceImage } from '../openstack/glance.js';
import { isImagesyncSnapshot, NOVA_SNAPSHOT_PREFIX, VOLUME_BACKS_IMAGE, volumeSnapshotsOf } from '../resources/volume-backed.js';
import type { Server } from '../openstack/nova.js';
import type { Leftover } from './liveness.js';
import { isRunId, runIdOfName } from './run-id.js';
import { CLAIM_FOR_PROPERTY, CLAIM_PREFIX } from '../build/claim.js';
import { COPY_RUN_PROPERTY } from '../replicate/steps/copy-image.js';

/** Nova and Keystone write UTC without a zone ("2026-11-29T21:41:05.000000"): read it as UTC, not local time. */
export function cloudTime(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value) return undefined;
  const t = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/.test(value) ? value : `${value}Z`);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** The run a build server belongs to: its metadata or its tag must name the run its name ends with. */
export function serverRunId(s: Pick<Server, 'name' | 'metadata' | 'tags'>): string | undefined {
  const fromName = runIdOfName(s.name, 'build');
  if (!fromName) return undefined;
  const marks = [s.metadata?.imagesync_run, ...(s.tags ?? []).filter((t) => t.startsWith(RUN_TAG_PREFIX)).map((t) => t.slice(RUN_TAG_PREFIX.length))];
  return marks.includes(fromName) ? fromName : undefined;
}

/** Why an imagesync-looking resource is not ours to touch; reported, never deleted. */
export interface Ignored {
  kind: Leftover['kind'];
  cloud: string;
  region: string;
  id: string;
  name: string;
  why: string;
}

export interface FindOptions {
  cloud: string;
  region: string;
  /** Final image names of the manifest: never deleted, even if one looked temporary. */
  finalNames: ReadonlySet<string>;
  /** Floating IP ids that journals say a run created, by run id (Neutron may not keep descriptions). */
  journalFloatingIps: ReadonlyMap<string, string>;
  signal?: AbortSignal | undefined;
}

export async function findLeftovers(services: BuildServices, o: FindOptions): Promise<{ found: Leftover[]; ignored: Ignored[] }> {
  const { nova, glance, neutron } = services;
  const where = { cloud: o.cloud, region: o.region };
  const found: Leftover[] = [];
  const ignored: Ignored[] = [];

  // Nova's name filter is a regular expression; the prefix is checked again here all the same.
  // Claims are hidden images, and Glance lists hidden images only when asked: both lists.
  const [servers, keypairs, visible, hidden] = await Promise.all([
    nova.listServers({ name: '^imagesync-build-' }, o.signal),
    nova.listKeypairs(o.signal),
    glance.listAll('images?limit=1000', o.signal),
    glance.listAll('images?os_hidden=true&limit=1000', o.signal),
  ]);
  const images = [...visible, ...hidden];

  const ours: Array<{ id: string; runId: string; name: string }> = [];
  for (const s of servers) {
    if (!s.name.startsWith('imagesync-build-')) continue;
    const runId = serverRunId(s);
    if (!runId) {
      ignored.push({ kind: 'server', ...where, id: s.id, name: s.name, why: 'named like a build server, but no imagesync run tag or metadata matches its name' });
      continue;
    }
    ours.push({ id: s.id, runId, name: s.name });
    found.push({ kind: 'server', ...where, id: s.id, name: s.name, runId, createdAt: cloudTime(s.created) });
  }

  for (const name of keypairs) {
    const runId = runIdOfName(name, 'key');
    if (!runId) continue;
    // The listing has no dates; ask for the one keypair only when it is one of ours.
    const detail = (await nova.getKeypair(name, o.signal)) as { created_at?: unknown } | undefined;
    if (!detail) continue;
    found.push({ kind: 'keypair', ...where, id: name, name, runId, createdAt: cloudTime(detail.created_at) });
  }

  for (const img of images) {
    const name = img.name ?? '';
    // A claim names no run: its run id is in its property (and it claims a name in imagesync_claim_for).
    if (name.startsWith(CLAIM_PREFIX) && typeof img[CLAIM_FOR_PROPERTY] === 'string' && isRunId(img.imagesync_run)) {
      if (img.status !== 'deleted') found.push({ kind: 'image', ...where, id: img.id, name, runId: img.imagesync_run as string, createdAt: cloudTime(img.created_at) });
      continue;
    }
    // A copy's temporary image (hidden): its run is in imagesync_copy_run (imagesync_run is the build's, copied with it).
    const copyRun = runIdOfName(name, 'copy');
    if (copyRun && img.status !== 'deleted') {
      if (o.finalNames.has(name)) ignored.push({ kind: 'image-upload', ...where, id: img.id, name, why: 'the manifest wants an image with this very name' });
      else if (img[COPY_RUN_PROPERTY] !== copyRun) ignored.push({ kind: 'image-upload', ...where, id: img.id, name, why: `named like a copy, but its ${COPY_RUN_PROPERTY} property does not match its name` });
      else found.push({ kind: 'image-upload', ...where, id: img.id, name, runId: copyRun, hidden: img.os_hidden === true, createdAt: cloudTime(img.created_at) });
      continue;
    }
    const runId = runIdOfName(name, 'snapshot');
    if (!runId || img.status === 'deleted') continue;
    if (o.finalNames.has(name)) {
      ignored.push({ kind: 'image', ...where, id: img.id, name, why: 'the manifest wants an image with this very name' });
      continue;
    }
    if (img.imagesync_run !== runId) {
      ignored.push({ kind: 'image', ...where, id: img.id, name, why: 'named like a snapshot, but its imagesync_run property does not match its name' });
      continue;
    }
    found.push({ kind: 'image', ...where, id: img.id, name, runId, createdAt: cloudTime(img.created_at) });
  }

  if (services.cinder) {
    const { found: vf, ignored: vi } = await volumeLeftovers(services.cinder, images, o);
    found.push(...vf);
    ignored.push(...vi);
  }

  if (neutron) {
    // Temporary SSH groups (build.ssh.openFrom): the name and the description both name the run.
    for (const g of await neutron.securityGroups({}, o.signal)) {
      const runId = runIdOfName(g.name, 'sg');
      if (!runId) continue;
      if (g.description !== sshGroupDescription(runId)) {
        ignored.push({ kind: 'security-group', ...where, id: g.id, name: g.name, why: 'named like an SSH group of a build, but its description does not name that run' });
        continue;
      }
      found.push({ kind: 'security-group', ...where, id: g.id, name: g.name, runId, createdAt: cloudTime(g.created_at) });
    }
    const fips = await neutron.floatingIps({}, o.signal);
    // Deleting a server detaches its floating IP but does not release it: find those on our servers first.
    const portOwner = new Map<string, { id: string; runId: string; name: string }>();
    for (const s of ours) {
      for (const p of await neutron.portsOf(s.id, o.signal)) portOwner.set(p.id, s);
    }
    for (const f of fips) {
      const text = f.description ?? '';
      const tail = text.startsWith(FLOATING_IP_DESCRIPTION_PREFIX) ? text.slice(FLOATING_IP_DESCRIPTION_PREFIX.length) : undefined;
      const described = isRunId(tail) ? tail : undefined;
      const owner = f.port_id ? portOwner.get(f.port_id) : undefined;
      const journaled = o.journalFloatingIps.get(f.id);
      const runId = described ?? owner?.runId ?? journaled;
      if (!runId) continue;
      found.push({
        kind: 'floating-ip',
        ...where,
        id: f.id,
        name: f.floating_ip_address,
        runId,
        createdAt: cloudTime((f as { created_at?: unknown }).created_at),
        via: described ? undefined : owner ? `attached to server ${owner.name}` : 'recorded in the run journal',
      });
    }
  }
  return { found, ignored };
}

/**
 * Boot volumes of volume-backed builds (`imagesync-volume-…`, marked with the run) and the volume
 * snapshots Nova made of them (`snapshot for imagesync-snapshot-…`). A published image needs both:
 * a volume that names an image still there, and a snapshot an image points at, are left alone.
 */
async function volumeLeftovers(cinder: CinderClient, images: GlanceImage[], o: FindOptions): Promise<{ found: Leftover[]; ignored: Ignored[] }> {
  const where = { cloud: o.cloud, region: o.region };
  const found: Leftover[] = [];
  const ignored: Ignored[] = [];
  const live = images.filter((i) => i.status !== 'deleted' && i.status !== 'pending_delete');
  const imageIds = new Set(live.map((i) => i.id));
  const pointedAt = new Map<string, GlanceImage>();
  for (const img of live) for (const id of volumeSnapshotsOf(img)) pointedAt.set(id, img);
  const [volumes, snapshots] = await Promise.all([cinder.listVolumes(o.signal), cinder.listSnapshots(o.signal)]);
  for (const v of volumes) {
    const name = v.name ?? '';
    const runId = runIdOfName(name, 'volume');
    if (!runId || v.status === 'deleting') continue;
    if (v.metadata?.imagesync_run !== runId) {
      ignored.push({ kind: 'volume', ...where, id: v.id, name, why: 'named like a boot volume, but its imagesync_run metadata does not match its name' });
      continue;
    }
    const backs = v.metadata?.[VOLUME_BACKS_IMAGE];
    if (backs && imageIds.has(backs)) {
      ignored.push({ kind: 'volume', ...where, id: v.id, name, why: `holds the data of image ${backs} (its snapshot): deleting that image deletes it` });
      continue;
    }
    found.push({ kind: 'volume', ...where, id: v.id, name, runId, createdAt: cloudTime(v.created_at) });
  }
  for (const snap of snapshots) {
    const name = snap.name ?? '';
    if (!isImagesyncSnapshot(snap) || snap.status === 'deleting') continue;
    const runId = runIdOfName(name.slice(NOVA_SNAPSHOT_PREFIX.length), 'snapshot');
    if (!runId) continue;
    const image = pointedAt.get(snap.id);
    if (image) {
      ignored.push({ kind: 'volume-snapshot', ...where, id: snap.id, name, why: `holds the data of image ${image.id} (${image.name ?? ''})` });
      continue;
    }
    found.push({ kind: 'volume-snapshot', ...where, id: snap.id, name, runId, createdAt: cloudTime(snap.created_at) });
  }
  return { found, ignored };
}
