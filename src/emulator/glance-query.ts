// Glance v2 image-list query: parse the parameters as Glance does, then filter, sort and page.
import type { ImageVisibility } from './types.js';
import type { StoredImage } from './image-store.js';

export class GlanceBadRequest extends Error {}

export type SortKey = 'name' | 'status' | 'container_format' | 'disk_format' | 'size' | 'id' | 'created_at' | 'updated_at';
export type SortDir = 'asc' | 'desc';

const SORT_KEYS: readonly SortKey[] = ['name', 'status', 'container_format', 'disk_format', 'size', 'id', 'created_at', 'updated_at'];
const OP_ATTRS = ['name', 'id', 'status', 'container_format', 'disk_format'] as const;
type OpAttr = (typeof OP_ATTRS)[number];
const TIME_OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte'] as const;
type TimeOp = (typeof TIME_OPS)[number];
const VISIBILITIES = ['community', 'public', 'private', 'shared', 'all'] as const;

export interface ImageListQuery {
  limit: number;
  marker?: string;
  sortKeys: SortKey[];
  sortDirs: SortDir[];
  /** `name`, `id`, `status`, ... with the `eq` or `in` operator: the image must hold one of the values. */
  attrs: Partial<Record<OpAttr, string[]>>;
  visibility?: ImageVisibility | 'all';
  osHidden: boolean;
  protected?: boolean;
  tags: string[];
  owner?: string;
  sizeMin?: number;
  sizeMax?: number;
  times: Array<{ key: 'created_at' | 'updated_at'; op: TimeOp; ms: number }>;
  /** Any other parameter filters on an extra property, exact match. */
  properties: Record<string, string>;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Glance's `split_filter_op`: `in:a,b` → in; `eq:x` → eq; a bare value → eq; an ISO time stays whole. */
export function splitFilterOp(expression: string): { op: string; value: string } {
  const i = expression.indexOf(':');
  if (i < 0 || ISO_TIME.test(expression)) return { op: 'eq', value: expression };
  return { op: expression.slice(0, i), value: expression.slice(i + 1) };
}

/** Glance's `validate_quotes`: a quote opens only after a comma and closes only before one. */
function validateQuotes(value: string): void {
  let open = true;
  for (let i = 0; i < value.length; i++) {
    if (value[i] !== '"') continue;
    if (i > 0 && value[i - 1] === '\\') continue;
    if (open) {
      if (i > 0 && value[i - 1] !== ',') {
        throw new GlanceBadRequest(`Invalid filter value ${value}. There is no comma before opening quotation mark.`);
      }
    } else if (i + 1 !== value.length && value[i + 1] !== ',') {
      throw new GlanceBadRequest(`Invalid filter value ${value}. There is no comma after closing quotation mark.`);
    }
    open = !open;
  }
  if (!open) throw new GlanceBadRequest(`Invalid filter value ${value}. The quote is not closed.`);
}

/** Glance's `split_filter_value_for_quotes`: `"a,b",c` → [`a,b`, `c`]. */
export function splitFilterValueForQuotes(value: string): string[] {
  validateQuotes(value);
  const re = /"([^"\\]*(?:\\.[^"\\]*)*)",?|([^,]+),?|,/g;
  const out: string[] = [];
  for (const m of value.matchAll(re)) out.push(m[1] || m[2] || '');
  return out;
}

function parseBool(name: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v !== 'true' && v !== 'false') {
    throw new GlanceBadRequest(`Invalid value '${value}' for '${name}' filter. Valid values are 'true' or 'false'.`);
  }
  return v === 'true';
}

function parseSortKey(key: string): SortKey {
  const k = key.trim();
  if (!(SORT_KEYS as readonly string[]).includes(k)) {
    throw new GlanceBadRequest(`Invalid sort key: ${k}. It must be one of the following: ${SORT_KEYS.join(', ')}.`);
  }
  return k as SortKey;
}

function parseSortDir(dir: string): SortDir {
  const d = dir.trim();
  if (d !== 'asc' && d !== 'desc') throw new GlanceBadRequest(`Invalid sort direction: ${d}`);
  return d;
}

function parseNonNegativeInt(name: string, value: string): number {
  if (!/^\s*[+-]?\d+\s*$/.test(value)) throw new GlanceBadRequest(`${name} param must be an integer`);
  const n = Number.parseInt(value, 10);
  if (n < 0) throw new GlanceBadRequest(`${name} param must be positive`);
  return n;
}

/**
 * Parse `GET /v2/images` parameters (ordered pairs, as sent) the way Glance's request
 * deserializer and DB layer do; throws GlanceBadRequest with Glance's message on bad input.
 */
export function parseImageListQuery(
  pairs: Array<[string, string]>,
  limits: { defaultLimit: number; maxLimit: number },
): ImageListQuery {
  const rest: Array<[string, string]> = [];
  let limit: number | undefined;
  let marker: string | undefined;
  const tags: string[] = [];
  const sortNew: string[] = [];
  const sortKeysClassic: SortKey[] = [];
  const sortDirsClassic: SortDir[] = [];
  let memberStatus: string | undefined;
  for (const [k, v] of pairs) {
    // webob's pop() takes the first of repeated limit/marker; filters later read the last value.
    if (k === 'limit') limit ??= parseNonNegativeInt('limit', v);
    else if (k === 'marker') marker ??= v;
    else if (k === 'tag') tags.push(v.trim());
    else if (k === 'sort') sortNew.push(v);
    else if (k === 'sort_key') sortKeysClassic.push(parseSortKey(v));
    else if (k === 'sort_dir') sortDirsClassic.push(parseSortDir(v));
    else if (k === 'member_status') memberStatus = v;
    else rest.push([k, v]);
  }
  if (memberStatus !== undefined && !['pending', 'accepted', 'rejected', 'all'].includes(memberStatus)) {
    throw new GlanceBadRequest(`Invalid status: ${memberStatus}`);
  }
  const filters = new Map<string, string>();
  for (const [k, v] of rest) filters.set(k, v);

  const visibility = filters.get('visibility');
  if (visibility && !(VISIBILITIES as readonly string[]).includes(visibility)) {
    throw new GlanceBadRequest(`Invalid visibility value: ${visibility}`);
  }
  if (filters.has('changes-since')) {
    throw new GlanceBadRequest('The "changes-since" filter is no longer available on v2.');
  }

  let sortKeys: SortKey[] = [];
  let sortDirs: SortDir[] = [];
  if (sortNew.length > 0) {
    if (sortKeysClassic.length > 0 || sortDirsClassic.length > 0) {
      throw new GlanceBadRequest('Old and new sorting syntax cannot be combined');
    }
    for (const part of (sortNew[0] ?? '').trim().split(',')) {
      const i = part.indexOf(':');
      const key = i < 0 ? part : part.slice(0, i);
      const dir = i < 0 ? '' : part.slice(i + 1);
      sortKeys.push(parseSortKey(key));
      sortDirs.push(dir ? parseSortDir(dir) : 'desc');
    }
  } else {
    sortKeys = sortKeysClassic;
    sortDirs = sortDirsClassic;
    if (sortDirs.length > 1 && sortDirs.length !== sortKeys.length) {
      throw new GlanceBadRequest('Number of sort dirs does not match the number of sort keys');
    }
  }
  if (sortKeys.length === 0) sortKeys = ['created_at'];
  // The DB layer: one dir applies to every key; created_at and id always end the order.
  let defaultDir: SortDir = 'desc';
  if (sortDirs.length === 0) sortDirs = sortKeys.map(() => 'desc');
  else if (sortDirs.length === 1) {
    defaultDir = sortDirs[0] ?? 'desc';
    sortDirs = sortKeys.map(() => defaultDir);
  }
  for (const key of ['created_at', 'id'] as const) {
    if (!sortKeys.includes(key)) {
      sortKeys.push(key);
      sortDirs.push(defaultDir);
    }
  }

  const query: ImageListQuery = {
    limit: Math.min(limit ?? limits.defaultLimit, limits.maxLimit),
    sortKeys,
    sortDirs,
    attrs: {},
    osHidden: parseBool('os_hidden', filters.get('os_hidden') ?? 'false'),
    tags,
    times: [],
    properties: {},
  };
  if (marker !== undefined) query.marker = marker;
  if (visibility) query.visibility = visibility as ImageVisibility | 'all';
  filters.delete('visibility');
  filters.delete('os_hidden');

  const prot = filters.get('protected');
  if (prot !== undefined) query.protected = parseBool('protected', prot);
  filters.delete('protected');

  for (const [k, v] of filters) {
    if ((OP_ATTRS as readonly string[]).includes(k)) {
      const { op, value } = splitFilterOp(v);
      if (op === 'in') query.attrs[k as OpAttr] = splitFilterValueForQuotes(value);
      else if (op === 'eq') query.attrs[k as OpAttr] = [value];
      else throw new GlanceBadRequest(`Unable to filter by unknown operator '${op}'.`);
    } else if (k === 'created_at' || k === 'updated_at') {
      const { op, value } = splitFilterOp(v);
      if (!(TIME_OPS as readonly string[]).includes(op)) throw new GlanceBadRequest('Unable to filter on a unknown operator.');
      const ms = Date.parse(value);
      if (Number.isNaN(ms)) throw new GlanceBadRequest(`Invalid date format '${value}'.`);
      query.times.push({ key: k, op: op as TimeOp, ms });
    } else if (k === 'size_min' || k === 'size_max') {
      const n = Number(v);
      if (!Number.isInteger(n)) throw new GlanceBadRequest(`Unable to filter using the specified range.`);
      if (k === 'size_min') query.sizeMin = n;
      else query.sizeMax = n;
    } else if (k === 'owner') {
      query.owner = v;
    } else {
      query.properties[k] = v;
    }
  }
  return query;
}

function compareValues(a: string | number | null, b: string | number | null): number {
  // SQLite sorts NULL before everything.
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortValue(img: StoredImage, key: SortKey): string | number | null {
  switch (key) {
    case 'created_at':
      return img.createdAtMs;
    case 'updated_at':
      return img.updatedAtMs;
    default:
      return img[key];
  }
}

export function compareImages(a: StoredImage, b: StoredImage, keys: SortKey[], dirs: SortDir[]): number {
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as SortKey;
    const c = compareValues(sortValue(a, key), sortValue(b, key));
    if (c !== 0) return dirs[i] === 'desc' ? -c : c;
  }
  return 0;
}

/** A predicate for everything but marker and limit. `projectId` decides which community images show. */
export function imageMatcher(q: ImageListQuery, projectId: string | null): (img: StoredImage) => boolean {
  const attrSets = Object.entries(q.attrs).map(([k, vs]) => [k as OpAttr, new Set(vs)] as const);
  const props = Object.entries(q.properties);
  return (img) => {
    if (img.status === 'deleted') return false;
    if (img.os_hidden !== q.osHidden) return false;
    if (q.visibility === undefined) {
      if (img.visibility === 'community' && img.owner !== projectId) return false;
    } else if (q.visibility !== 'all' && img.visibility !== q.visibility) return false;
    if (q.protected !== undefined && img.protected !== q.protected) return false;
    if (q.owner !== undefined && img.owner !== q.owner) return false;
    for (const [k, set] of attrSets) {
      const v = img[k];
      if (v === null || !set.has(v)) return false;
    }
    for (const t of q.tags) if (!img.tags.includes(t)) return false;
    for (const [k, v] of props) if (img.properties[k] !== v) return false;
    if (q.sizeMin !== undefined && (img.size === null || img.size < q.sizeMin)) return false;
    if (q.sizeMax !== undefined && (img.size === null || img.size > q.sizeMax)) return false;
    for (const t of q.times) {
      const v = t.key === 'created_at' ? img.createdAtMs : img.updatedAtMs;
      const s = Math.floor(v / 1000) * 1000;
      const ok =
        t.op === 'eq' ? s === t.ms : t.op === 'neq' ? s !== t.ms : t.op === 'gt' ? s > t.ms
        : t.op === 'gte' ? s >= t.ms : t.op === 'lt' ? s < t.ms : s <= t.ms;
      if (!ok) return false;
    }
    return true;
  };
}

/** Index of the first image that sorts strictly after `marker` (the list is sorted by the same keys). */
export function indexAfter(sorted: StoredImage[], marker: StoredImage, keys: SortKey[], dirs: SortDir[]): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareImages(sorted[mid] as StoredImage, marker, keys, dirs) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
