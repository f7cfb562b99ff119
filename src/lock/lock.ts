// The images.lock.json format (pure): which image id carries each wanted name in each target, with its provenance.
import { cmp } from '../order.js';
import { InputError } from '../errors.js';
import { formatPath, jsonTypeOf, type PathSegment } from '../manifest/json-path.js';
import { parseJsonText } from '../manifest/json-text.js';
import type { GlanceImage } from '../openstack/glance.js';
import { RECIPE_PROPERTY } from '../plan/diff.js';
import { targetKey, type Plan, type PlanState, type Target } from '../plan/types.js';

export const LOCK_VERSION = 1;
export const LOCK_FILE_NAME = 'images.lock.json';

/** What the lock records of one image in one target; null where the image does not say. */
export interface LockEntry {
  id: string;
  status: string;
  size: number | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  recipe: string | null;
  builtAt: string | null;
  commit: string | null;
  run: string | null;
  ciUrl?: string;
}

/**
 * Maps, not plain objects: image names are user text, and a name such as "__proto__" must be a
 * key like any other.
 */
export interface Lock {
  lockVersion: typeof LOCK_VERSION;
  /** image name → "cloud/region" → entry. */
  images: Map<string, Map<string, LockEntry>>;
}

/** One (wanted image, target) a run observed; `glanceImage` is the one active image carrying the name, if there is exactly one. */
export interface LockUpdate extends Target {
  image: string;
  glanceImage: GlanceImage | undefined;
  /** An orphan still there: what the lock records stays as it is (nothing new is recorded for it). */
  keep?: boolean | undefined;
}

const NULLABLE_STRING_FIELDS = ['checksum', 'os_hash_algo', 'os_hash_value', 'recipe', 'builtAt', 'commit', 'run'] as const;
const ENTRY_FIELDS = new Set<string>(['id', 'status', 'size', 'ciUrl', ...NULLABLE_STRING_FIELDS]);
/** States whose one image is the one a lock records (outdated: still the image that carries the name). */
const LOCKED_STATES: ReadonlySet<PlanState> = new Set(['present', 'outdated']);

export function emptyLock(): Lock {
  return { lockVersion: LOCK_VERSION, images: new Map() };
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

export function lockEntryFromImage(image: GlanceImage): LockEntry {
  const ciUrl = str(image.imagesync_ci_url);
  return {
    id: image.id,
    status: image.status,
    size: typeof image.size === 'number' ? image.size : null,
    checksum: str(image.checksum),
    os_hash_algo: str(image.os_hash_algo),
    os_hash_value: str(image.os_hash_value),
    recipe: str(image[RECIPE_PROPERTY]),
    builtAt: str(image.imagesync_built_at),
    commit: str(image.imagesync_commit),
    run: str(image.imagesync_run),
    ...(ciUrl ? { ciUrl } : {}),
  };
}

function sortedObject<T>(entries: Iterable<[string, T]>, value: (v: T) => unknown): Record<string, unknown> {
  // A null-prototype object: "__proto__" as a key is then an ordinary own property.
  const out = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of [...entries].sort((a, b) => cmp(a[0], b[0]))) out[k] = value(v);
  return out;
}

function entryJson(e: LockEntry): Record<string, unknown> {
  return sortedObject(
    Object.entries(e).filter(([, v]) => v !== undefined),
    (v) => v,
  );
}

/**
 * Keys sorted at every level, 2-space indentation, a trailing newline and no timestamp of its own:
 * the same lock always gives the same bytes, so an unchanged apply leaves the file untouched and a
 * git diff shows only what changed.
 */
export function serializeLock(lock: Lock): string {
  const doc = sortedObject<unknown>(
    [
      ['images', lock.images],
      ['lockVersion', lock.lockVersion],
    ],
    (v) => (v instanceof Map ? sortedObject(v as Map<string, Map<string, LockEntry>>, (targets) => sortedObject(targets, entryJson)) : v),
  );
  return JSON.stringify(doc, null, 2) + '\n';
}

/** Parse a lock file's text; every problem is reported with file:line:column or its JSON path. */
export function parseLock(text: string, file: string): Lock {
  if (text.trim() === '' || text.trim() === '\uFEFF') {
    throw new InputError(`${file}: the lock file is empty; delete it and run \`imagesync apply\` to write it again`);
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    const conflict = /^(<<<<<<<|=======|>>>>>>>)( |$)/m.test(text) ? '; it has git merge-conflict markers: resolve them (or delete the file and run `imagesync apply`)' : '';
    throw new InputError(`${file}:${parsed.at.line}:${parsed.at.column}: ${parsed.message}${conflict}`);
  }
  const problems: string[] = [];
  for (const d of parsed.duplicateKeys) {
    problems.push(`${d.second.line}:${d.second.column}: key "${d.key}" given twice (first at line ${d.first.line})${d.path.length ? ` in ${formatPath(d.path)}` : ''}`);
  }
  const at = (path: PathSegment[], message: string) => problems.push(path.length ? `${formatPath(path)}: ${message}` : message);
  const root = parsed.value;
  const lock = emptyLock();
  if (!isObject(root)) {
    at([], `expected an object with "lockVersion" and "images", got ${jsonTypeOf(root)}`);
  } else {
    for (const key of Object.keys(root)) if (key !== 'lockVersion' && key !== 'images') at([key], 'unknown key (expected "lockVersion" and "images")');
    if (root.lockVersion !== LOCK_VERSION) {
      if (typeof root.lockVersion === 'number' && root.lockVersion > LOCK_VERSION) {
        at(['lockVersion'], `${root.lockVersion} is newer than this imagesync understands (${LOCK_VERSION}); upgrade imagesync`);
      } else {
        at(['lockVersion'], `expected ${LOCK_VERSION}, got ${JSON.stringify(root.lockVersion) ?? 'nothing'}`);
      }
    }
    if (!isObject(root.images)) {
      at(['images'], `expected an object of image names, got ${jsonTypeOf(root.images)}`);
    } else {
      for (const [name, targets] of Object.entries(root.images)) {
        if (!isObject(targets)) {
          at(['images', name], `expected an object of "cloud/region" keys, got ${jsonTypeOf(targets)}`);
          continue;
        }
        const byTarget = new Map<string, LockEntry>();
        for (const [target, raw] of Object.entries(targets)) {
          const path: PathSegment[] = ['images', name, target];
          if (!/^[^/]+\/.+$/.test(target)) at(path, 'expected a "cloud/region" key');
          const entry = parseEntry(raw, path, at);
          if (entry) byTarget.set(target, entry);
        }
        lock.images.set(name, byTarget);
      }
    }
  }
  if (problems.length === 1) throw new InputError(`${file}:${/^\d+:\d+: /.test(problems[0]!) ? '' : ' '}${problems[0]}`);
  if (problems.length > 1) throw new InputError(`${file}: ${problems.length} problems in the lock file`, { details: problems });
  return lock;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function parseEntry(raw: unknown, path: PathSegment[], at: (path: PathSegment[], message: string) => void): LockEntry | undefined {
  if (!isObject(raw)) {
    at(path, `expected an object with "id", "status", …, got ${jsonTypeOf(raw)}`);
    return undefined;
  }
  let ok = true;
  const bad = (key: string, expected: string) => {
    ok = false;
    at([...path, key], `expected ${expected}, got ${jsonTypeOf(raw[key])}`);
  };
  for (const key of Object.keys(raw)) {
    if (!ENTRY_FIELDS.has(key)) {
      ok = false;
      at([...path, key], 'unknown key');
    }
  }
  if (typeof raw.id !== 'string' || raw.id === '') bad('id', 'a non-empty string');
  if (typeof raw.status !== 'string') bad('status', 'a string');
  if (raw.size !== null && !(typeof raw.size === 'number' && Number.isInteger(raw.size) && raw.size >= 0)) bad('size', 'a whole number or null');
  for (const key of NULLABLE_STRING_FIELDS) if (raw[key] !== null && typeof raw[key] !== 'string') bad(key, 'a string or null');
  if (raw.ciUrl !== undefined && typeof raw.ciUrl !== 'string') bad('ciUrl', 'a string');
  if (!ok) return undefined;
  return raw as unknown as LockEntry;
}

/**
 * A new lock: each update with an image replaces its entry; an update without one (missing,
 * pending, duplicate…) keeps what was locked, so `plan` can go on reporting the drift. Within the
 * targets in `scope` (those the run observed), entries of pairs no longer wanted are removed;
 * outside it nothing is touched, so a `--target`-narrowed or sharded apply never drops other
 * targets' entries.
 */
export function updateLock(lock: Lock, entries: LockUpdate[], scope: Target[]): Lock {
  const inScope = new Set(scope.map(targetKey));
  const wanted = new Set(entries.map((e) => `${e.image}\u0000${targetKey(e)}`));
  const images = new Map<string, Map<string, LockEntry>>();
  for (const [name, targets] of lock.images) {
    const kept = new Map([...targets].filter(([t]) => !inScope.has(t) || wanted.has(`${name}\u0000${t}`)));
    if (kept.size) images.set(name, kept);
  }
  for (const e of entries) {
    if (!e.glanceImage) continue;
    const targets = images.get(e.image) ?? new Map<string, LockEntry>();
    targets.set(targetKey(e), lockEntryFromImage(e.glanceImage));
    images.set(e.image, targets);
  }
  return { lockVersion: LOCK_VERSION, images };
}

/** The updates a plan implies: one per entry of a reachable target. */
export function lockUpdatesFromPlan(plan: Plan, imagesById: ReadonlyMap<string, GlanceImage>): { entries: LockUpdate[]; scope: Target[] } {
  const unreachable = new Set(plan.summary.unreachableTargets);
  const entries: LockUpdate[] = [];
  const scope = new Map<string, Target>();
  for (const e of plan.entries) {
    const key = targetKey(e);
    if (e.state === 'unreachable' || unreachable.has(key)) continue;
    scope.set(key, { cloud: e.cloud, region: e.region });
    // An orphan keeps its lock entry until --prune retires it (then the plan after no longer has it, and the entry goes).
    if (e.state === 'orphaned') {
      entries.push({ image: e.image, cloud: e.cloud, region: e.region, glanceImage: undefined, keep: true });
      continue;
    }
    const only = e.found.length === 1 && e.found[0]!.status === 'active' && LOCKED_STATES.has(e.state) ? e.found[0]! : undefined;
    entries.push({ image: e.image, cloud: e.cloud, region: e.region, glanceImage: only ? imagesById.get(only.id) : undefined });
  }
  return { entries, scope: [...scope.values()] };
}

/** `previous` updated with what a plan observed (apply: the plan after its builds). */
export function lockFromPlan(plan: Plan, imagesById: ReadonlyMap<string, GlanceImage>, previous: Lock = emptyLock()): Lock {
  const { entries, scope } = lockUpdatesFromPlan(plan, imagesById);
  return updateLock(previous, entries, scope);
}

/** Every image the observations saw, by id (ids are UUIDs: unique across targets). */
export function imagesById(observations: ReadonlyArray<{ ok: boolean; images?: GlanceImage[] }>): Map<string, GlanceImage> {
  const out = new Map<string, GlanceImage>();
  for (const o of observations) if (o.ok && o.images) for (const i of o.images) out.set(i.id, i);
  return out;
}

export function lockedEntry(lock: Lock, image: string, target: Target): LockEntry | undefined {
  return lock.images.get(image)?.get(targetKey(target));
}
