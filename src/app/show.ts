// `show NAME` as phases: check the name and --target against the manifest, observe only that image's targets, compare each image with the lock and the manifest.
import { UsageError } from '../errors.js';
import { contentDifference } from '../lock/drift.js';
import { lockedEntry, type LockEntry } from '../lock/lock.js';
import { openLock } from '../lock/record.js';
import { loadManifest } from '../manifest/load.js';
import { nearest } from '../manifest/suggest.js';
import { expandTargets, imageTargets } from '../manifest/targets.js';
import type { GlanceImage } from '../openstack/glance.js';
import { displayPath } from '../output.js';
import { RECIPE_PROPERTY } from '../plan/diff.js';
import { explainRecipeChange, type RecipeChange } from '../plan/recipe-parts.js';
import { targetKey } from '../plan/types.js';
import { describeVolumeBacked } from '../resources/volume-backed.js';
import type { LockMatch, ManifestMatch, ShownImage, ShowReport } from '../report/show-report.js';
import type { AppDeps } from './deps.js';
import { observe } from './observe.js';
import { closeConnections, prepare } from './prepare.js';
import { selectTargets } from './targets.js';

export interface ShowOptions {
  /** The manifest file, absolute. */
  manifest: string;
  /** The wanted image's name. */
  name: string;
  /** cloud/region, repeatable; narrows the targets. */
  target?: string[] | undefined;
  /** The lock file; false: do not compare with one. */
  lock?: string | false | undefined;
}

export interface ShowResult {
  report: ShowReport;
  /** Targets that could not be read. */
  unreachable: number;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

export function manifestMatch(
  image: GlanceImage,
  wantedRecipe: string | undefined,
  sourceProblem: string | undefined,
  change?: RecipeChange,
): { manifest: ManifestMatch; manifestDetail: string; changes?: string[] } {
  const stamped = str(image[RECIPE_PROPERTY]);
  if (!stamped) return { manifest: 'unknown', manifestDetail: 'the image has no recipe stamp (not built by imagesync)' };
  if (!wantedRecipe) return { manifest: 'unknown', manifestDetail: `the manifest's recipe cannot be computed here${sourceProblem ? `: ${sourceProblem}` : ''}` };
  if (stamped === wantedRecipe) return { manifest: 'match', manifestDetail: `recipe ${stamped.slice(0, 12)} is the manifest's` };
  const hashes = `recipe ${stamped.slice(0, 12)} ≠ manifest ${wantedRecipe.slice(0, 12)}`;
  const changes = change ? explainRecipeChange(image, change) : undefined;
  return changes?.length ? { manifest: 'differs', manifestDetail: `${hashes}: ${changes.join('; ')}`, changes } : { manifest: 'differs', manifestDetail: hashes };
}

export function lockMatch(image: GlanceImage, locked: LockEntry | undefined, hasLock: boolean): { lock: LockMatch; lockDetail: string } {
  if (!hasLock) return { lock: 'no-lock', lockDetail: 'no lock file in use' };
  if (!locked) return { lock: 'unlocked', lockDetail: 'the lock records no image here' };
  if (locked.id !== image.id) return { lock: 'differs', lockDetail: `the lock records ${locked.id}` };
  if (image.status !== 'active' && locked.status !== image.status) return { lock: 'differs', lockDetail: `locked as ${locked.status}, ${image.status} now` };
  const diff = contentDifference(locked, image);
  if (diff) return { lock: 'differs', lockDetail: `same id, content changed: ${diff}` };
  return { lock: 'match', lockDetail: 'as locked' };
}

function shownImage(image: GlanceImage, m: ReturnType<typeof manifestMatch>, l: ReturnType<typeof lockMatch>): ShownImage {
  return {
    id: image.id,
    status: image.status,
    hidden: image.os_hidden === true,
    size: typeof image.size === 'number' ? image.size : null,
    createdAt: image.created_at ?? null,
    checksum: str(image.checksum),
    os_hash_algo: str(image.os_hash_algo),
    os_hash_value: str(image.os_hash_value),
    recipe: str(image[RECIPE_PROPERTY]),
    commit: str(image.imagesync_commit),
    run: str(image.imagesync_run),
    builtAt: str(image.imagesync_built_at),
    ciUrl: str(image.imagesync_ci_url),
    version: str(image.imagesync_version),
    sourceImage: str(image.imagesync_source_image),
    sourceName: str(image.imagesync_source_name),
    volumeBacked: describeVolumeBacked(image) ?? null,
    ...m,
    ...l,
  };
}

/** Check the name and --target against the manifest; nothing is contacted before this passes. */
async function checkRequest(opts: ShowOptions, deps: AppDeps): Promise<{ targets: string[] }> {
  const shown = displayPath(deps.cwd, opts.manifest);
  const { manifest } = await loadManifest(opts.manifest, { displayName: shown });
  const image = manifest.images.find((i) => i.name === opts.name);
  if (!image) {
    const names = manifest.images.map((i) => i.name);
    const guess = nearest(opts.name, names);
    throw new UsageError(
      `no image ${JSON.stringify(opts.name)} in ${shown}${guess ? `; did you mean ${JSON.stringify(guess)}?` : ''} (images: ${names.join(', ') || 'none'})`,
    );
  }
  const mine = imageTargets(manifest, image).map(targetKey);
  if (!opts.target?.length) return { targets: mine };
  selectTargets(expandTargets(manifest), opts.target);
  const notHere = opts.target.filter((t) => !mine.includes(t));
  if (notHere.length) {
    throw new UsageError(`--target ${notHere.map((u) => JSON.stringify(u)).join(', ')}: ${JSON.stringify(opts.name)} is not wanted there (its targets: ${mine.join(', ')})`);
  }
  return { targets: mine.filter((t) => opts.target!.includes(t)) };
}

/** Observe only this image's targets and gather what `show` reports. */
export async function show(opts: ShowOptions, deps: AppDeps): Promise<ShowResult> {
  const { targets } = await checkRequest(opts, deps);
  const lock = await openLock(opts.manifest, opts.lock, deps.cwd);

  // Narrowing to the image's targets means only their clouds' credentials are needed.
  const full = await prepare({ manifest: opts.manifest, target: targets }, deps);
  try {
    const pairs = full.pairs.filter((p) => p.image === opts.name);
    const ctx = { ...full, pairs, targets: full.targets.filter((t) => pairs.some((p) => targetKey(p) === targetKey(t))) };
    const observed = await observe(ctx, deps, { name: 'observe', title: `Reading ${ctx.targets.length} target${ctx.targets.length === 1 ? '' : 's'}` });
    const obsByTarget = new Map(observed.observations.map((o) => [targetKey(o), o]));
    const pairByTarget = new Map(observed.pairs.map((p) => [targetKey(p), p]));
    const report: ShowReport = { image: opts.name, lockFile: lock.shown ?? null, targets: [] };
    for (const e of observed.plan.entries) {
      const key = targetKey(e);
      const obs = obsByTarget.get(key);
      const pair = pairByTarget.get(key);
      const locked = lockedEntry(lock.lock, e.image, e);
      // Glance's listing carries every property, as a GET of the image would: no extra request.
      const byId = new Map((obs?.ok ? obs.images : []).map((i) => [i.id, i]));
      const images = e.found.map((f) => {
        const image = byId.get(f.id) ?? { id: f.id, name: e.image, status: f.status };
        return shownImage(image, manifestMatch(image, pair?.recipe, pair?.sourceProblem, pair?.recipeChange), lockMatch(image, locked, lock.file !== undefined));
      });
      report.targets.push({
        cloud: e.cloud,
        region: e.region,
        state: e.state,
        detail: e.detail,
        source: pair?.source ?? null,
        ...(pair?.sourceProblem ? { sourceProblem: pair.sourceProblem } : {}),
        images,
        ...(locked && !images.some((i) => i.id === locked.id) && e.state !== 'unreachable' ? { locked } : {}),
      });
    }
    return { report, unreachable: observed.plan.summary.unreachableTargets.length };
  } finally {
    await closeConnections(full);
  }
}
