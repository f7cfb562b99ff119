// Finding the source image of a build in one target (pure): the name for that target, a Glance metadata filter, and the choice among matches.
import { cmp, newestFirst as byNewest } from '../order.js';
import type { Source, SourceFilter } from '../manifest/schema.js';
import type { GlanceImage } from '../openstack/glance.js';

/** What to look for in one target: a name, a filter, or both (then both must hold). */
export interface SourceSpec {
  name?: string | undefined;
  filter?: SourceFilter | undefined;
  pick: 'only' | 'newest';
}

export interface TargetRef {
  cloud: string;
  region: string;
}

/** The source wanted in a target: its name from a per-target map ("cloud/region" wins over "cloud"), and the filter. */
export function sourceSpecFor(source: Pick<Source, 'image' | 'filter'> & { pick?: Source['pick'] | undefined }, target: TargetRef): SourceSpec {
  const names = source.image;
  const name = typeof names === 'string' || names === undefined ? names : (names[`${target.cloud}/${target.region}`] ?? names[target.cloud]);
  return { name, filter: source.filter, pick: source.pick ?? 'only' };
}

/** Whether the source differs by target (a per-cloud map or a filter): then plan lists what each target resolved to. */
export function sourceVaries(source: Pick<Source, 'image' | 'filter'>): boolean {
  return source.filter !== undefined || (typeof source.image === 'object' && source.image !== null);
}

/** The Glance properties a filter asks for, os_distro and os_version included. */
export function filterProperties(f: SourceFilter): Record<string, string> {
  return {
    ...(f.properties ?? {}),
    ...(f.os_distro !== undefined ? { os_distro: f.os_distro } : {}),
    ...(f.os_version !== undefined ? { os_version: f.os_version } : {}),
  };
}

/**
 * The Glance listing that finds a filter's candidates: active, newest first, with the filter's
 * visibility, owner, tags and properties as query parameters (Glance matches extra properties
 * exactly). The result is checked again here (`matchesFilter`): a proxy or an older Glance may
 * ignore a parameter. Without a visibility, Glance lists what the project may boot except
 * community images, as `openstack image list` does.
 */
export function filterQuery(f: SourceFilter, limit = 1000): string {
  const q = new URLSearchParams();
  q.set('status', 'active');
  if (f.visibility !== undefined) q.set('visibility', f.visibility);
  if (f.owner !== undefined) q.set('owner', f.owner);
  for (const t of f.tags ?? []) q.append('tag', t);
  for (const [k, v] of Object.entries(filterProperties(f)).sort(([a], [b]) => cmp(a, b))) {
    // A bare value with a colon reads as an operator to Glance ("in:", "eq:"): say eq: outright.
    q.set(k, v.includes(':') ? `eq:${v}` : v);
  }
  q.set('sort', 'created_at:desc');
  q.set('limit', String(limit));
  return `images?${q}`;
}

/** Stamped by imagesync on everything it builds (the plan's RECIPE_PROPERTY). */
const BUILT_BY_IMAGESYNC = 'imagesync_recipe';

/**
 * Every criterion holds. Never a match: a hidden image (deprecated by its owner), nor an image
 * imagesync built — a snapshot inherits its source's os_distro and os_version, so without this a
 * filter would pick the newest build of the very image it is for. A build based on another
 * imagesync image names it in source.image.
 */
export function matchesFilter(image: GlanceImage, f: SourceFilter): boolean {
  if (image.os_hidden === true || image[BUILT_BY_IMAGESYNC] !== undefined) return false;
  if (f.visibility !== undefined && image.visibility !== f.visibility) return false;
  if (f.owner !== undefined && image.owner !== f.owner) return false;
  if ((f.tags ?? []).some((t) => !(image.tags ?? []).includes(t))) return false;
  return Object.entries(filterProperties(f)).every(([k, v]) => image[k] === v);
}

/** `"debian-12"`, `os_distro=debian, os_version=12`, or both: what was looked for, in messages. */
export function describeSpec(spec: Pick<SourceSpec, 'name' | 'filter'>): string {
  const parts: string[] = [];
  if (spec.name !== undefined) parts.push(JSON.stringify(spec.name));
  const f = spec.filter;
  if (f) {
    const crit = Object.entries(filterProperties(f)).map(([k, v]) => `${k}=${v}`);
    if (f.tags?.length) crit.push(`tags ${f.tags.join(',')}`);
    if (f.visibility) crit.push(`visibility=${f.visibility}`);
    if (f.owner) crit.push(`owner=${f.owner}`);
    parts.push(`filter ${crit.join(', ')}`);
  }
  return parts.join(' with ');
}

export type SourceChoice = { ok: true; image: GlanceImage; of: number } | { ok: false; problem: string };

function newestFirst(images: GlanceImage[]): GlanceImage[] {
  return [...images].sort(byNewest);
}

/** The source image among `images` (a listing that holds the candidates): exactly one match, or the newest with pick "newest". */
export function selectSource(images: GlanceImage[], spec: SourceSpec): SourceChoice {
  const { name, filter, pick } = spec;
  if (name === undefined && filter === undefined) return { ok: false, problem: 'no source image is named for this target and there is no filter' };
  const named = name === undefined ? images : images.filter((i) => i.name === name);
  const candidates = filter ? named.filter((i) => matchesFilter(i, filter)) : named;
  const active = newestFirst(candidates.filter((i) => i.status === 'active'));
  if (active.length === 0) {
    if (filter === undefined) {
      return {
        ok: false,
        problem: named.length
          ? `source image "${name}" is not active (${named.map((i) => `${i.id} ${i.status}`).join(', ')})`
          : `source image "${name}" not found`,
      };
    }
    const also = name !== undefined && named.length ? ` (${named.length} image${named.length === 1 ? '' : 's'} named "${name}" ${named.length === 1 ? 'does' : 'do'} not match the filter, or ${named.length === 1 ? 'is' : 'are'} not active)` : '';
    return { ok: false, problem: `no active image matches source ${describeSpec(spec)}${also}` };
  }
  if (active.length > 1 && pick === 'only') {
    const list = active.slice(0, 5).map((i) => (filter ? `${i.id} "${i.name ?? ''}"` : i.id)).join(', ') + (active.length > 5 ? ', …' : '');
    const what = filter ? `match source ${describeSpec(spec)}` : `are named "${name}"`;
    return { ok: false, problem: `${active.length} active images ${what} (${list}); set "source": { "pick": "newest" } to take the newest` };
  }
  return { ok: true, image: active[0]!, of: active.length };
}

/** Where the candidates of a spec come from: the name listing (names), or a filter query (Glance). */
export function sourceRead(spec: SourceSpec): { name: string } | { query: string } | undefined {
  if (spec.name !== undefined) return { name: spec.name };
  if (spec.filter !== undefined) return { query: filterQuery(spec.filter) };
  return undefined;
}
