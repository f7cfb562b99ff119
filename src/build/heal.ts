// `apply --heal-duplicates`: of several images with one name, keep one and rename+hide the others; never delete.
import { cmp } from '../order.js';
import type { GlanceClient, GlanceImage } from '../openstack/glance.js';
import { RECIPE_PROPERTY } from '../plan/diff.js';
import type { Target } from '../plan/types.js';
import { retiredName, retireImage } from './retire.js';

const PENDING = new Set(['queued', 'saving', 'uploading', 'importing']);
const GONE = new Set(['deleted', 'pending_delete']);

export const DUPLICATE_OF_PROPERTY = 'imagesync_duplicate_of';

/** `<name> (duplicate 2026-11-29)`, cut so it stays within Glance's 255 characters. */
export function duplicateName(name: string, at: Date): string {
  return retiredName(name, 'duplicate', at);
}

export interface HealCandidate {
  id: string;
  status: string;
  createdAt?: string | undefined;
  recipe?: string | undefined;
}

export interface HealDecision {
  /** Undefined when no image is active: nothing is renamed then. */
  keep?: HealCandidate | undefined;
  rename: HealCandidate[];
  /** Not touched, with why (an upload still in progress belongs to whoever runs it). */
  left: Array<{ id: string; why: string }>;
}

/**
 * Pure: keep the newest active image whose recipe matches the manifest's, else the newest active;
 * rename the other finished ones (active, killed, deactivated); leave in-progress ones alone.
 */
export function decideHeal(images: readonly HealCandidate[], recipe: string | undefined): HealDecision {
  const live = images.filter((i) => !GONE.has(i.status));
  const newestFirst = [...live].sort((a, b) => cmp(b.createdAt ?? '', a.createdAt ?? '') || cmp(a.id, b.id));
  const active = newestFirst.filter((i) => i.status === 'active');
  const keep = (recipe ? active.find((i) => i.recipe === recipe) : undefined) ?? active[0];
  if (!keep) return { rename: [], left: newestFirst.map((i) => ({ id: i.id, why: 'no active image among the duplicates: none is kept, none renamed' })) };
  const rename: HealCandidate[] = [];
  const left: HealDecision['left'] = [];
  for (const i of newestFirst) {
    if (i.id === keep.id) continue;
    if (PENDING.has(i.status)) left.push({ id: i.id, why: `still ${i.status} (an upload in progress?): left alone` });
    else rename.push(i);
  }
  return { keep, rename, left };
}

export interface HealReport extends Target {
  image: string;
  kept?: string | undefined;
  renamed: Array<{ id: string; newName: string }>;
  left: Array<{ id: string; why: string }>;
}

export interface HealOptions {
  glance: GlanceClient;
  /** The manifest's recipe hash in this target, when known. */
  recipe?: string | undefined;
  now?: () => Date;
  signal?: AbortSignal | undefined;
}

function candidate(i: GlanceImage): HealCandidate {
  const recipe = i[RECIPE_PROPERTY];
  return { id: i.id, status: i.status, createdAt: i.created_at, recipe: typeof recipe === 'string' ? recipe : undefined };
}

/**
 * Heal one (name, target) the plan found duplicated. Reads the images again first: the plan may be
 * minutes old. Renaming is safe for servers booted from an image (they refer to its id).
 */
export async function healDuplicate(entry: Target & { image: string }, o: HealOptions): Promise<HealReport> {
  const name = entry.image;
  const images = (await o.glance.listByNames([name], o.signal)).filter((i) => i.name === name);
  const decision = decideHeal(images.map(candidate), o.recipe);
  const report: HealReport = { cloud: entry.cloud, region: entry.region, image: name, kept: decision.keep?.id, renamed: [], left: decision.left };
  if (!decision.keep) return report;
  const now = (o.now ?? (() => new Date()))();
  for (const dup of decision.rename) {
    const newName = duplicateName(name, now);
    await retireImage(o.glance, dup.id, newName, { [DUPLICATE_OF_PROPERTY]: decision.keep.id, imagesync_duplicate_name: name, imagesync_duplicate_at: now.toISOString() }, o.signal);
    report.renamed.push({ id: dup.id, newName });
  }
  return report;
}
