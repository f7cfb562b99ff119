// Drift (pure): where the clouds no longer hold the images the lock file records.
import type { GlanceImage } from '../openstack/glance.js';
import { targetKey, type FoundImage, type Plan } from '../plan/types.js';
import type { Lock, LockEntry } from './lock.js';

export type DriftKind = 'deleted' | 'replaced' | 'changed' | 'inactive';

export interface DriftEntry {
  image: string;
  cloud: string;
  region: string;
  kind: DriftKind;
  lockedId: string;
  /** Ids that carry the name now. */
  currentIds: string[];
  /** One line naming image, target, locked id and what is there now. */
  detail: string;
}

function short(hash: string): string {
  return hash.length > 16 ? `${hash.slice(0, 12)}…` : hash;
}

function describe(f: FoundImage): string {
  return `${f.id} (${f.status}${f.hidden ? ', hidden' : ''}${f.createdAt ? `, ${f.createdAt.slice(0, 10)}` : ''})`;
}

/**
 * How the content of the locked image differs from what Glance reports for the same id, or
 * undefined. Glance never changes an active image's data, so a difference means the image was
 * re-uploaded or the record was edited: either way it is not what was locked. Values a side lacks
 * (the compute proxy reports no hashes) are not compared.
 */
export function contentDifference(locked: LockEntry, image: Pick<GlanceImage, 'os_hash_algo' | 'os_hash_value' | 'checksum' | 'size'>): string | undefined {
  const algo = image.os_hash_algo ?? null;
  const hash = image.os_hash_value ?? null;
  if (locked.os_hash_value !== null && hash !== null && (locked.os_hash_algo === algo || locked.os_hash_algo === null || algo === null)) {
    if (locked.os_hash_value !== hash) return `os_hash_value ${short(locked.os_hash_value)} → ${short(hash)}`;
  }
  const checksum = image.checksum ?? null;
  if (locked.checksum !== null && checksum !== null && locked.checksum !== checksum) return `checksum ${locked.checksum} → ${checksum}`;
  const size = image.size ?? null;
  if (locked.size !== null && size !== null && locked.size !== size) return `size ${locked.size} → ${size}`;
  return undefined;
}

/**
 * For each (image, target) of the plan that the lock records: the locked id gone, another id
 * carrying the name, the content changed, or the image no longer active. Unreachable targets are
 * not drift (nothing is known there), nor are pairs the plan does not cover. `imagesById` (from the
 * observations) supplies the hashes the plan entries lack; without it content is not compared.
 */
export function findDrift(lock: Lock, plan: Plan, imagesById?: ReadonlyMap<string, GlanceImage>): DriftEntry[] {
  const out: DriftEntry[] = [];
  const unreachable = new Set(plan.summary.unreachableTargets);
  for (const e of plan.entries) {
    // An orphan is reported as one; its lock entry is not also drift.
    if (e.state === 'unreachable' || e.state === 'orphaned' || unreachable.has(targetKey(e))) continue;
    const locked = lock.images.get(e.image)?.get(targetKey(e));
    if (!locked) continue;
    const where = `${e.image} in ${targetKey(e)}`;
    const drift = (kind: DriftKind, detail: string) =>
      out.push({ image: e.image, cloud: e.cloud, region: e.region, kind, lockedId: locked.id, currentIds: e.found.map((f) => f.id), detail: `${where}: ${detail}` });
    const same = e.found.find((f) => f.id === locked.id);
    if (!same) {
      if (e.found.length === 0) drift('deleted', `locked image ${locked.id} no longer carries the name (deleted or renamed) and no image does now`);
      else drift('replaced', `locked image ${locked.id} no longer carries the name; ${e.found.map(describe).join(', ')} ${e.found.length === 1 ? 'does' : 'do'} now`);
      continue;
    }
    if (same.status !== 'active') {
      drift('inactive', `locked image ${locked.id} is ${same.status} now (locked as ${locked.status})`);
      continue;
    }
    const current = imagesById?.get(locked.id);
    const diff = current ? contentDifference(locked, current) : undefined;
    if (diff) drift('changed', `locked image ${locked.id} changed content: ${diff}`);
  }
  return out;
}

export interface DriftRenderOptions {
  colour: boolean;
  /** How to name the lock file in the hint line. */
  lockFile?: string;
}

/** Lines for the human plan output (under the matrix); empty when there is no drift. */
export function renderDrift(entries: DriftEntry[], opts: DriftRenderOptions): string[] {
  if (!entries.length) return [];
  const label = opts.colour ? '\x1b[31mdrift\x1b[0m' : 'drift';
  const file = opts.lockFile ?? 'images.lock.json';
  return [
    ...entries.map((d) => `${label}  ${d.detail}`),
    `${entries.length} difference${entries.length === 1 ? '' : 's'} from ${file}: the images changed outside imagesync; \`imagesync apply\` rebuilds what is missing and records what is there.`,
  ];
}
